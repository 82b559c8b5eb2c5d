import CRMRules
@testable import CustomerDimensions
@testable import ProfilesService
import Testing

@Suite struct DimensionCatalogTests {
    @Test func hasAtLeast150UniqueSnakeCaseNames() {
        let names = DimensionCatalog.all.map(\.name)
        #expect(names.count >= 150)
        #expect(Set(names).count == names.count)
        for name in names {
            let allowed = name.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
            #expect(allowed && name.first?.isLetter == true && !name.hasSuffix("_") && !name.contains("__"), "\(name)")
        }
    }

    @Test func everyDefinitionIsComplete() {
        for definition in DimensionCatalog.all {
            #expect(!definition.definition.isEmpty, "\(definition.name)")
            #expect(definition.type == .category || !definition.unit.isEmpty, "\(definition.name)")
            #expect(definition.type == .money ? definition.unit == "fen" : true, "\(definition.name)")
        }
        #expect(Set(DimensionCatalog.all.map(\.group)) == Set(DimensionGroup.allCases))
        // Slots are dense and in order.
        #expect(DimensionCatalog.numeric.map(\.slot) == Array(0..<DimensionCatalog.numeric.count))
        #expect(DimensionCatalog.categorical.map(\.slot) == Array(0..<DimensionCatalog.categorical.count))
        #expect(DimensionCatalog.numeric.count + DimensionCatalog.categorical.count == DimensionCatalog.all.count)
    }

    @Test func includesTheDimensionsTheBriefNames() {
        let required = [
            "total_assets", "avg_assets_30d", "avg_assets_90d", "avg_assets_365d", "max_assets_365d", "cash", "securities_value",
            "products_value", "position_ratio", "account_age_days", "age_years", "trade_count_7d", "trade_count_30d", "trade_count_90d",
            "trade_count_365d", "buy_amount_30d", "sell_amount_365d", "turnover_rate_30d", "turnover_rate_90d", "turnover_rate_365d",
            "days_since_last_trade", "active_trading_days_90d", "preferred_instrument_type", "preferred_sector", "trade_share_stock_365d",
            "trade_share_bond_365d", "trade_share_fund_365d", "trade_share_etf_365d", "net_deposit_30d", "net_deposit_90d",
            "net_deposit_365d", "deposit_count_30d", "withdrawal_amount_90d", "holdings_count", "top_holding_ratio", "unrealised_profit",
            "profit_ratio", "product_holding_count", "product_value_bond_fund", "product_value_money_market_fund", "margin_collateral",
            "margin_financing", "margin_utilisation", "maintenance_ratio", "margin_interest_30d", "margin_interest_365d",
            "margin_trade_count_90d", "contact_count_30d", "contact_count_90d", "days_since_last_contact", "complaint_count_365d",
            "product_view_count_30d", "product_view_count_90d", "distinct_products_viewed_90d", "commission_7d", "commission_30d",
            "commission_90d", "commission_365d", "net_commission_7d", "net_commission_365d", "contribution_365d",
        ]
        for name in required {
            #expect(DimensionCatalog.definition(named: name) != nil, "\(name)")
        }
        #expect(DimensionCatalog.definition(named: "preferred_sector")?.type == .category)
        #expect(DimensionCatalog.definition(named: "total_assets")?.type == .money)
        #expect(DimensionCatalog.definition(named: "no_such_dimension") == nil)
    }

    @Test func anActiveCustomerHasEveryDimension() {
        let values = Fixture.compute(Fixture.activeEvents, facts: Fixture.activeFacts)
        #expect(values.numbers.count == DimensionCatalog.numeric.count)
        #expect(values.categories.count == DimensionCatalog.categorical.count)
        for definition in DimensionCatalog.numeric {
            #expect(values.n(definition.name).isFinite, "\(definition.name) = \(values.n(definition.name))")
        }
        for definition in DimensionCatalog.categorical {
            let value = values.c(definition.name)
            #expect(!value.isEmpty && value != "none", "\(definition.name) = \(value)")
            if let known = definition.categoryValues {
                #expect(known.contains(value), "\(definition.name) = \(value)")
            }
        }
        #expect(values.numbersByName.count == DimensionCatalog.numeric.count)
        #expect(values.categoriesByName.count == DimensionCatalog.categorical.count)
        #expect(values.numbersByName["total_assets"] == values.number("total_assets"))
    }

    @Test func aCustomerWithoutEventsHasEveryDimensionToo() {
        let values = Fixture.compute([], facts: CustomerFacts(kind: .individual, status: .prospect))
        #expect(values.numbers.count == DimensionCatalog.numeric.count)
        #expect(values.c("preferred_instrument_type") == "none")
        #expect(values.n("total_assets") == 0)
        #expect(values.n("avg_assets_365d") == 0)
        #expect(values.n("days_since_last_trade").isNaN)
        // Missing values are left out of the wire map.
        #expect(values.numbersByName["days_since_last_trade"] == nil)
        #expect(values.numbersByName["total_assets"] == 0)
    }

    @Test func dimensionsHaveRuleTypes() throws {
        var schema = RuleSchema()
        for definition in DimensionCatalog.all { schema.add(definition.name, definition.ruleType) }
        let rule = try Rule.parse("avg_assets_90d >= 1000000 and preferred_instrument_type in (stock, etf)", schema: schema)
        _ = try rule.compile(against: schema)
        #expect(throws: RuleError.self) { try Rule.parse("preferred_instrument_type = crypto", schema: schema) }
    }
}

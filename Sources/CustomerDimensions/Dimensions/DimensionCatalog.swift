import CRMPrimitives
/// Every dimension the profiles service computes, in a fixed order, each with its computation.
///
/// Window families are derived systematically (each metric × the windows of ``DimensionWindow``);
/// every dimension is computed by ``DimensionEngine/compute(ledger:customer:asOf:)``. The order is
/// part of the contract of ``DimensionValues``: a definition's `slot` indexes its value.
public enum DimensionCatalog {
    /// All dimensions, in catalog order (groups in the order of ``DimensionGroup``).
    public static let all: [DimensionDefinition] = CatalogBuilder.build()

    /// The numeric dimensions, in slot order.
    public static let numeric: [DimensionDefinition] = all.filter { $0.type.isNumeric }

    /// The category dimensions, in slot order.
    public static let categorical: [DimensionDefinition] = all.filter { $0.type == .category }

    /// Each numeric slot's position in ``all`` (the data dictionary's order, which the feed's
    /// positional form refers to).
    package static let numericPositions: [UInt32] = all.indices.filter { all[$0].type.isNumeric }.map { UInt32($0) }

    /// The names of ``numeric`` and ``categorical``, by slot (read per customer without copying
    /// the definitions and their closures).
    package static let numericNames: [String] = numeric.map(\.name)
    package static let categoricalPositions: [UInt32] = all.indices.filter { all[$0].type == .category }.map { UInt32($0) }
    package static let categoricalNames: [String] = categorical.map(\.name)

    /// The computations of the numeric dimensions, by slot (kept apart so computing touches no names).
    static let numberEvaluators: [@Sendable (DimensionInputs) -> Double] = numeric.compactMap {
        if case .number(let evaluate) = $0.evaluate { return evaluate }
        return nil
    }

    /// The computations of the category dimensions, by slot.
    static let categoryEvaluators: [@Sendable (DimensionInputs) -> String] = categorical.compactMap {
        if case .category(let evaluate) = $0.evaluate { return evaluate }
        return nil
    }

    private static let byName: [String: DimensionDefinition] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// The definition with this name, or nil.
    public static func definition(named name: String) -> DimensionDefinition? {
        byName[name]
    }
}

/// Builds the catalog: one call per dimension (or family), assigning slots in order.
private struct CatalogBuilder {
    private var definitions: [DimensionDefinition] = []
    private var numberSlots = 0
    private var categorySlots = 0

    static let instrumentNames = Instrument.allCases.map(\.name)

    static func build() -> [DimensionDefinition] {
        var builder = CatalogBuilder()
        builder.basic()
        builder.assets()
        builder.holdings()
        builder.trading()
        builder.flows()
        builder.products()
        builder.margin()
        builder.service()
        builder.contribution()
        return builder.definitions
    }

    // MARK: Adding

    private mutating func number(_ name: String, _ type: DimensionType, _ unit: String, _ group: DimensionGroup, _ definition: String,
                                 _ value: @escaping @Sendable (DimensionInputs) -> Double) {
        definitions.append(DimensionDefinition(
            name: name, type: type, unit: unit, group: group, definition: definition, slot: numberSlots,
            categoryValues: nil, evaluate: .number(value)
        ))
        numberSlots += 1
    }

    private mutating func money(_ name: String, _ group: DimensionGroup, _ definition: String,
                                _ value: @escaping @Sendable (DimensionInputs) -> Int64) {
        number(name, .money, "fen", group, definition) { Double(value($0)) }
    }

    private mutating func count(_ name: String, _ unit: String, _ group: DimensionGroup, _ definition: String,
                                _ value: @escaping @Sendable (DimensionInputs) -> Int64) {
        number(name, .count, unit, group, definition) { Double(value($0)) }
    }

    private mutating func ratio(_ name: String, _ group: DimensionGroup, _ definition: String,
                                _ value: @escaping @Sendable (DimensionInputs) -> Double) {
        number(name, .ratio, "ratio", group, definition, value)
    }

    private mutating func days(_ name: String, _ group: DimensionGroup, _ definition: String,
                               _ value: @escaping @Sendable (DimensionInputs) -> Double) {
        number(name, .days, "days", group, definition, value)
    }

    private mutating func category(_ name: String, _ group: DimensionGroup, _ definition: String, values: [String]?,
                                   _ value: @escaping @Sendable (DimensionInputs) -> String) {
        definitions.append(DimensionDefinition(
            name: name, type: .category, unit: "", group: group, definition: definition, slot: categorySlots,
            categoryValues: values, evaluate: .category(value)
        ))
        categorySlots += 1
    }

    /// One dimension per window, named `prefix_<N>d`.
    private mutating func perWindow(_ windows: [DimensionWindow] = DimensionWindow.allCases,
                                    _ add: (inout CatalogBuilder, DimensionWindow) -> Void) {
        for window in windows { add(&self, window) }
    }

    // MARK: basic

    private mutating func basic() {
        days("account_age_days", .basic, "Days from the account's open date to the business date; missing for prospects") {
            $0.daysSince($0.facts.openDay)
        }
        number("age_years", .number, "years", .basic, "Completed years of age at the business date, from the birth date when known") { inputs in
            guard let birth = inputs.facts.birthDay, birth <= inputs.asOf else { return .nan }
            let born = Days.civil(birth)
            let now = Days.civil(inputs.asOf)
            let hadBirthday = (now.month, now.day) >= (born.month, born.day)
            return Double(now.year - born.year - (hadBirthday ? 0 : 1))
        }
        number("risk_tolerance_level", .number, "level", .basic, "The current assessment's risk tolerance, 1 (C1) to 5 (C5); missing when unassessed") {
            $0.facts.validRiskTolerance.map(Double.init) ?? .nan
        }
        number("assessment_expires_in_days", .days, "days", .basic, "Days until the current suitability assessment expires (negative once expired); missing when unassessed") { inputs in
            guard let expires = inputs.facts.assessmentExpiresDay else { return .nan }
            return Double(-DimensionMath.age(of: expires, asOf: inputs.asOf))
        }
        category("customer_kind", .basic, "individual or institution", values: CustomerFacts.Kind.allCases.map(\.rawValue)) {
            $0.facts.kind.rawValue
        }
        category("account_status", .basic, "prospect, normal, frozen, reported_lost or closed", values: CustomerFacts.Status.allCases.map(\.rawValue)) {
            $0.facts.status.rawValue
        }
        category("investor_class", .basic, "ordinary or professional investor, or unassessed",
                 values: CustomerFacts.InvestorClass.allCases.map(\.rawValue) + ["unassessed"]) {
            $0.facts.investorClass?.rawValue ?? "unassessed"
        }
        count("has_margin_account", "flag", .basic, "1 when the customer has a margin account (a margin snapshot or a margin trade), else 0") {
            $0.hasMarginAccount ? 1 : 0
        }
        days("days_since_first_activity", .basic, "Days since the first trade or fund transfer; missing when none") {
            $0.daysSince($0.firstActivityDay)
        }
        days("days_since_last_activity", .basic, "Days since the last trade or fund transfer; missing when none") {
            $0.daysSince($0.lastActivityDay)
        }
    }

    // MARK: assets

    private mutating func assets() {
        money("total_assets", .assets, "Cash plus securities plus products on the latest daily position") { $0.totalAssetsFen }
        money("cash", .assets, "Cash on the latest daily position") { $0.cashFen }
        money("securities_value", .assets, "Market value of the securities held on the latest daily position") { $0.securitiesFen }
        money("products_value", .assets, "Market value of the financial products held on the latest daily position") { $0.productsFen }
        ratio("position_ratio", .assets, "Securities plus products over total assets on the latest position; 0 when total assets are 0") {
            DimensionMath.ratio(Fen.sum($0.securitiesFen, $0.productsFen), $0.totalAssetsFen)
        }
        ratio("cash_ratio", .assets, "Cash over total assets on the latest position; 0 when total assets are 0") {
            DimensionMath.ratio($0.cashFen, $0.totalAssetsFen)
        }
        perWindow { builder, window in
            builder.money("avg_assets" + window.suffix, .assets,
                          "Average end-of-day total assets over the \(window.days) calendar days to the business date (a day without a position keeps the previous day's; 0 before the first), rounded to the fen") {
                $0[window].avgAssetsFen
            }
        }
        perWindow([.d30, .d90, .d365]) { builder, window in
            builder.money("max_assets" + window.suffix, .assets, "Highest end-of-day total assets over the last \(window.days) days") {
                $0[window].maxAssetsFen
            }
        }
        perWindow([.d30, .d90, .d365]) { builder, window in
            builder.money("min_assets" + window.suffix, .assets, "Lowest end-of-day total assets over the last \(window.days) days (0 before the first position)") {
                $0[window].minAssetsFen
            }
        }
        perWindow([.d30, .d90, .d365]) { builder, window in
            builder.money("assets_change" + window.suffix, .assets, "Total assets at the business date minus those \(window.days) days before (may be negative)") {
                Fen.difference($0.currentAssetsFen, $0[window].startAssetsFen)
            }
        }
        perWindow([.d90, .d365]) { builder, window in
            builder.number("assets_growth" + window.suffix, .number, "ratio", .assets,
                           "Change of total assets over the last \(window.days) days relative to the start (may be negative); 0 when the start was not positive") { inputs in
                let start = inputs[window].startAssetsFen
                return start > 0 ? Double(Fen.difference(inputs.currentAssetsFen, start)) / Double(start) : 0
            }
        }
        days("days_since_position", .assets, "Days since the latest daily position; missing when none") {
            $0.daysSince($0.position?.day)
        }
    }

    // MARK: holdings

    private mutating func holdings() {
        count("holdings_count", "securities", .holdings, "Securities held (quantity above 0) on the latest position") { $0.holdingsCount }
        count("holding_sector_count", "sectors", .holdings, "Distinct sectors of the securities held") { $0.holdingSectorCount }
        ratio("top_holding_ratio", .holdings, "Market value of the largest security over the securities value (concentration); 0 when none") {
            DimensionMath.ratio($0.topHoldingFen, $0.securitiesFen)
        }
        ratio("top3_holding_ratio", .holdings, "Market value of the three largest securities over the securities value; 0 when none") {
            DimensionMath.ratio($0.top3HoldingsFen, $0.securitiesFen)
        }
        ratio("top_sector_ratio", .holdings, "Market value of the largest sector over the securities value; 0 when none") {
            DimensionMath.ratio($0.topSectorFen, $0.securitiesFen)
        }
        ratio("holding_concentration_hhi", .holdings, "Herfindahl index of the securities' weights by market value (1 = a single security); 0 when none") {
            $0.holdingHHI
        }
        money("holdings_cost", .holdings, "Cost basis of the securities held") { $0.holdingsCostFen }
        money("holdings_unrealised_profit", .holdings, "Market value minus cost of the securities held (may be negative)") {
            Fen.difference($0.securitiesFen, $0.holdingsCostFen)
        }
        money("unrealised_profit", .holdings, "Market value minus cost over securities and products (may be negative)") { $0.unrealisedProfitFen }
        ratio("profit_ratio", .holdings, "Unrealised profit over the cost of securities and products (may be negative); 0 when the cost is 0") { inputs in
            let cost = Fen.sum(inputs.holdingsCostFen, inputs.productsCostFen)
            return cost > 0 ? Double(inputs.unrealisedProfitFen) / Double(cost) : 0
        }
        count("losing_holdings_count", "securities", .holdings, "Securities whose market value is below their cost") { $0.losingHoldings }
        count("profitable_holdings_count", "securities", .holdings, "Securities whose market value is above their cost") { $0.profitableHoldings }
        for instrument in Instrument.allCases {
            money("holding_value_\(instrument.name)", .holdings, "Market value of the \(instrument.name) securities held") {
                $0.holdingFenByInstrument[Int(instrument.rawValue)]
            }
        }
        for instrument in Instrument.allCases {
            ratio("holding_share_\(instrument.name)", .holdings, "Market value of the \(instrument.name) securities over the securities value; 0 when none") {
                DimensionMath.ratio($0.holdingFenByInstrument[Int(instrument.rawValue)], $0.securitiesFen)
            }
        }
        category("largest_holding_sector", .holdings, "The sector with the largest market value held, or none", values: nil) {
            $0.largestHoldingSector
        }
        category("dominant_holding_type", .holdings, "The instrument type with the largest market value held, or none",
                 values: Self.instrumentNames + ["none"]) {
            $0.dominantHoldingType
        }
    }

    // MARK: trading

    private mutating func trading() {
        perWindow { builder, window in
            builder.count("trade_count" + window.suffix, "trades", .trading, "Trades in the last \(window.days) days") { $0[window].tradeCount }
        }
        perWindow { builder, window in
            builder.count("buy_count" + window.suffix, "trades", .trading, "Buy trades in the last \(window.days) days") { $0[window].buyCount }
        }
        perWindow { builder, window in
            builder.count("sell_count" + window.suffix, "trades", .trading, "Sell trades in the last \(window.days) days") { $0[window].sellCount }
        }
        perWindow { builder, window in
            builder.money("trade_amount" + window.suffix, .trading, "Gross amount traded (buys plus sells) in the last \(window.days) days") {
                $0[window].tradeFen
            }
        }
        perWindow { builder, window in
            builder.money("buy_amount" + window.suffix, .trading, "Gross amount bought in the last \(window.days) days") { $0[window].buyFen }
        }
        perWindow { builder, window in
            builder.money("sell_amount" + window.suffix, .trading, "Gross amount sold in the last \(window.days) days") { $0[window].sellFen }
        }
        perWindow { builder, window in
            builder.money("net_buy_amount" + window.suffix, .trading, "Amount bought minus amount sold in the last \(window.days) days (may be negative)") {
                Fen.difference($0[window].buyFen, $0[window].sellFen)
            }
        }
        perWindow { builder, window in
            builder.number("turnover_rate" + window.suffix, .number, "times", .trading,
                           "Amount traded over average assets in the last \(window.days) days; 0 when average assets are 0") {
                $0[window].turnover
            }
        }
        perWindow { builder, window in
            builder.count("active_trading_days" + window.suffix, "days", .trading, "Days with at least one trade in the last \(window.days) days") {
                $0[window].activeTradingDays
            }
        }
        perWindow([.d90, .d365]) { builder, window in
            builder.money("avg_trade_amount" + window.suffix, .trading, "Average gross amount per trade in the last \(window.days) days, rounded; 0 without trades") {
                Fen.roundedQuotient($0[window].tradeFen, $0[window].tradeCount)
            }
        }
        days("days_since_last_trade", .trading, "Days since the last trade; missing when none") { $0.daysSince($0.lastTradeDay) }
        days("days_since_first_trade", .trading, "Days since the first trade; missing when none") { $0.daysSince($0.firstTradeDay) }
        count("lifetime_trade_count", "trades", .trading, "Trades ever, to the business date") { $0.lifetimeTradeCount }
        money("lifetime_trade_amount", .trading, "Gross amount ever traded, to the business date") { $0.lifetimeTradeFen }
        category("preferred_instrument_type", .trading, "The instrument type most traded by amount over the last 365 days, or none",
                 values: Self.instrumentNames + ["none"]) {
            $0.preferredInstrument
        }
        category("preferred_sector", .trading, "The sector most traded by amount over the last 365 days, or none", values: nil) {
            $0.preferredSector
        }
        count("traded_sector_count_365d", "sectors", .trading, "Distinct sectors traded in the last 365 days") { $0.tradedSectorCount365 }
        for instrument in Instrument.allCases {
            ratio("trade_share_\(instrument.name)_365d", .trading, "Share of the amount traded in the last 365 days that was in \(instrument.name); 0 without trades") {
                DimensionMath.ratio($0.tradeFenByInstrument[Int(instrument.rawValue)], $0[.d365].tradeFen)
            }
        }
    }

    // MARK: flows

    private mutating func flows() {
        perWindow { builder, window in
            builder.count("deposit_count" + window.suffix, "transfers", .flows, "Deposits in the last \(window.days) days") { $0[window].depositCount }
        }
        perWindow { builder, window in
            builder.count("withdrawal_count" + window.suffix, "transfers", .flows, "Withdrawals in the last \(window.days) days") {
                $0[window].withdrawalCount
            }
        }
        perWindow { builder, window in
            builder.money("deposit_amount" + window.suffix, .flows, "Amount deposited in the last \(window.days) days") { $0[window].depositFen }
        }
        perWindow { builder, window in
            builder.money("withdrawal_amount" + window.suffix, .flows, "Amount withdrawn in the last \(window.days) days") { $0[window].withdrawalFen }
        }
        perWindow { builder, window in
            builder.money("net_deposit" + window.suffix, .flows, "Deposits minus withdrawals in the last \(window.days) days (may be negative)") {
                $0[window].netDepositFen
            }
        }
        days("days_since_last_deposit", .flows, "Days since the last deposit; missing when none") { $0.daysSince($0.lastDepositDay) }
        days("days_since_last_withdrawal", .flows, "Days since the last withdrawal; missing when none") { $0.daysSince($0.lastWithdrawalDay) }
        number("net_inflow_ratio_365d", .number, "ratio", .flows,
               "Net deposits over average assets in the last 365 days (may be negative); 0 when average assets are 0") {
            DimensionMath.ratio($0[.d365].netDepositFen, max(0, $0[.d365].avgAssetsFen))
        }
    }

    // MARK: products

    private mutating func products() {
        count("product_holding_count", "products", .products, "Distinct financial products held on the latest position") { $0.productCount }
        count("product_type_count", "types", .products, "Distinct product types held on the latest position") { $0.productTypeCount }
        ratio("products_ratio", .products, "Products' market value over total assets; 0 when total assets are 0") {
            DimensionMath.ratio($0.productsFen, $0.totalAssetsFen)
        }
        money("products_cost", .products, "Cost basis of the financial products held") { $0.productsCostFen }
        money("products_unrealised_profit", .products, "Market value minus cost of the financial products held (may be negative)") {
            Fen.difference($0.productsFen, $0.productsCostFen)
        }
        for family in ProductFamily.allCases {
            money("product_value_\(family.name)", .products, "Market value of the products of type \(family.productTypeText) held") {
                $0.productFenByFamily[family.rawValue]
            }
        }
        money("product_value_fixed_income", .products, "Market value of money-market funds, bond funds and bonds held as products") { inputs in
            Fen.total(ProductFamily.allCases.filter(\.isFixedIncome).map { inputs.productFenByFamily[$0.rawValue] })
        }
        money("product_value_equity_funds", .products, "Market value of mixed, equity, index and QDII funds held as products") { inputs in
            Fen.total(ProductFamily.allCases.filter(\.isEquityFund).map { inputs.productFenByFamily[$0.rawValue] })
        }
        category("largest_product_type", .products, "The product type with the largest market value held, or none",
                 values: ProductFamily.allCases.map(\.name) + ["none"]) {
            $0.largestProductFamily
        }
        perWindow { builder, window in
            builder.count("product_view_count" + window.suffix, "views", .products, "Product pages viewed in the last \(window.days) days") {
                $0[window].views
            }
        }
        perWindow([.d30, .d90, .d365]) { builder, window in
            builder.count("distinct_products_viewed" + window.suffix, "products", .products, "Distinct products viewed in the last \(window.days) days") {
                $0[window].distinctProductsViewed
            }
        }
        count("distinct_product_types_viewed_90d", "types", .products, "Distinct product types viewed in the last 90 days") {
            $0[.d90].distinctProductTypesViewed
        }
        category("most_viewed_product_type_90d", .products, "The product type viewed most in the last 90 days (as the products service names it), or none",
                 values: nil) {
            $0.mostViewedProductType90
        }
        days("days_since_last_view", .products, "Days since the last product view; missing when none") { $0.daysSince($0.lastViewDay) }
    }

    // MARK: margin

    private mutating func margin() {
        money("margin_collateral", .margin, "Collateral value of the margin account on its latest snapshot; 0 without one") {
            $0.marginSnapshot?.collateralFen ?? 0
        }
        money("margin_financing", .margin, "Margin financing owed on the latest snapshot") { $0.marginSnapshot?.financingFen ?? 0 }
        money("margin_securities_borrowed", .margin, "Securities lending owed, at market, on the latest snapshot") {
            $0.marginSnapshot?.securitiesBorrowedFen ?? 0
        }
        money("margin_interest_accrued", .margin, "Interest accrued and unpaid on the latest snapshot") { $0.marginSnapshot?.interestAccruedFen ?? 0 }
        money("margin_credit_limit", .margin, "Credit limit of the margin account on the latest snapshot") { $0.marginSnapshot?.creditLimitFen ?? 0 }
        money("margin_liability", .margin, "Financing plus securities borrowed plus accrued interest on the latest snapshot") { $0.marginLiabilityFen }
        money("margin_available_credit", .margin, "Credit limit minus financing owed, not below 0") { inputs in
            guard let margin = inputs.marginSnapshot else { return 0 }
            return max(0, Fen.difference(margin.creditLimitFen, margin.financingFen))
        }
        ratio("margin_utilisation", .margin, "Financing owed over the credit limit (may exceed 1); 0 without a credit limit") {
            DimensionMath.ratio($0.marginSnapshot?.financingFen ?? 0, max(0, $0.marginSnapshot?.creditLimitFen ?? 0))
        }
        number("maintenance_ratio", .number, "ratio", .margin,
               "Collateral over liabilities (the maintenance guarantee ratio, 1.3 = 130%), from the basis points rounded down; missing when nothing is owed") { inputs in
            guard let margin = inputs.marginSnapshot, inputs.marginLiabilityFen > 0 else { return .nan }
            return Double(Fen.product(margin.collateralFen, 10_000) / inputs.marginLiabilityFen) / 10_000
        }
        perWindow([.d30, .d90, .d365]) { builder, window in
            builder.money("margin_interest" + window.suffix, .margin, "Margin interest charged in the last \(window.days) days") { $0[window].interestFen }
        }
        money("lifetime_margin_interest", .margin, "Margin interest ever charged, to the business date") { $0.lifetimeInterestFen }
        perWindow([.d30, .d90, .d365]) { builder, window in
            builder.count("margin_trade_count" + window.suffix, "trades", .margin, "Trades on the margin account in the last \(window.days) days") {
                $0[window].marginTradeCount
            }
        }
        perWindow([.d30, .d90, .d365]) { builder, window in
            builder.money("margin_trade_amount" + window.suffix, .margin, "Gross amount traded on the margin account in the last \(window.days) days") {
                $0[window].marginTradeFen
            }
        }
        ratio("margin_trade_share_365d", .margin, "Share of the amount traded in the last 365 days that was on the margin account; 0 without trades") {
            DimensionMath.ratio($0[.d365].marginTradeFen, $0[.d365].tradeFen)
        }
    }

    // MARK: service

    private mutating func service() {
        perWindow { builder, window in
            builder.count("contact_count" + window.suffix, "contacts", .service, "Service contacts (calls, visits, messages) in the last \(window.days) days") {
                $0[window].contacts
            }
        }
        perWindow([.d90, .d365]) { builder, window in
            builder.count("reached_contact_count" + window.suffix, "contacts", .service, "Contacts that reached the customer in the last \(window.days) days") {
                $0[window].reachedContacts
            }
        }
        perWindow([.d90, .d365]) { builder, window in
            builder.count("complaint_count" + window.suffix, "contacts", .service, "Contacts ending in a complaint in the last \(window.days) days") {
                $0[window].complaints
            }
        }
        count("interested_contact_count_365d", "contacts", .service, "Contacts where the customer showed interest in the last 365 days") {
            $0[.d365].interestedContacts
        }
        count("call_count_365d", "contacts", .service, "Calls in the last 365 days") { $0[.d365].calls }
        count("visit_count_365d", "contacts", .service, "Visits in the last 365 days") { $0[.d365].visits }
        count("message_count_365d", "contacts", .service, "Messages in the last 365 days") { $0[.d365].messages }
        ratio("contact_reach_ratio_365d", .service, "Reached contacts over all contacts in the last 365 days; 0 without contacts") {
            DimensionMath.ratio($0[.d365].reachedContacts, $0[.d365].contacts)
        }
        days("days_since_last_contact", .service, "Days since the last service contact; missing when none") { $0.daysSince($0.lastContactDay) }
        days("days_since_last_complaint", .service, "Days since the last complaint; missing when none") { $0.daysSince($0.lastComplaintDay) }
    }

    // MARK: contribution

    private mutating func contribution() {
        perWindow { builder, window in
            builder.money("commission" + window.suffix, .contribution, "Commission charged in the last \(window.days) days") { $0[window].commissionFen }
        }
        perWindow { builder, window in
            builder.money("fees" + window.suffix, .contribution, "Exchange and regulatory fees in the last \(window.days) days") { $0[window].feesFen }
        }
        perWindow { builder, window in
            builder.money("net_commission" + window.suffix, .contribution, "Commission minus fees in the last \(window.days) days") {
                $0[window].netCommissionFen
            }
        }
        perWindow([.d30, .d90, .d365]) { builder, window in
            builder.money("contribution" + window.suffix, .contribution, "Net commission plus margin interest in the last \(window.days) days") {
                $0[window].contributionFen
            }
        }
        money("lifetime_commission", .contribution, "Commission ever charged, to the business date") { $0.lifetimeCommissionFen }
        money("lifetime_net_commission", .contribution, "Commission minus fees ever, to the business date") {
            Fen.difference($0.lifetimeCommissionFen, $0.lifetimeFeesFen)
        }
        number("commission_rate_365d", .number, "ratio", .contribution, "Commission over amount traded in the last 365 days; 0 without trades") {
            DimensionMath.ratio($0[.d365].commissionFen, $0[.d365].tradeFen)
        }
        number("contribution_to_assets_365d", .number, "ratio", .contribution,
               "365-day contribution over 365-day average assets (may be negative); 0 when average assets are 0") {
            DimensionMath.ratio($0[.d365].contributionFen, max(0, $0[.d365].avgAssetsFen))
        }
    }
}

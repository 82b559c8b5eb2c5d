@testable import CustomerDimensions
@testable import ProfilesService
import Testing

/// Each group's arithmetic on small data, with the expected numbers worked out by hand.
@Suite struct DimensionArithmeticTests {
    let asOf = Fixture.asOf

    func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) < 1e-12 }

    @Test func basic() {
        let facts = CustomerFacts(
            kind: .individual, status: .frozen, openDay: asOf - 1_000, birthDay: Days.day(year: 1980, month: 3, day: 15),
            riskTolerance: 4, investorClass: nil, assessmentExpiresDay: asOf + 200
        )
        let values = Fixture.compute([
            Fixture.deposit(asOf - 50, 1_000),
            Fixture.trade(asOf - 20, amount: 5_000),
            Fixture.view(asOf - 1, "P1"),   // a view is not activity
        ], facts: facts)
        #expect(values.n("account_age_days") == 1_000)
        // 2026-06-30 minus 1980-03-15: the birthday has passed, 2026 − 1980 = 46.
        #expect(values.n("age_years") == 46)
        #expect(values.n("risk_tolerance_level") == 4)
        #expect(values.n("assessment_expires_in_days") == 200)
        #expect(values.c("customer_kind") == "individual")
        #expect(values.c("account_status") == "frozen")
        #expect(values.c("investor_class") == "unassessed")
        #expect(values.n("has_margin_account") == 0)
        #expect(values.n("days_since_first_activity") == 50)
        #expect(values.n("days_since_last_activity") == 20)

        // Birthday on 07-01, the day after asOf: still 45. Expired assessment: negative days.
        let other = Fixture.compute([], facts: CustomerFacts(
            kind: .institution, status: .prospect, birthDay: Days.day(year: 1980, month: 7, day: 1),
            riskTolerance: 9, investorClass: .professional, assessmentExpiresDay: asOf - 5
        ))
        #expect(other.n("age_years") == 45)
        #expect(other.n("assessment_expires_in_days") == -5)
        #expect(other.n("account_age_days").isNaN)
        #expect(other.n("risk_tolerance_level").isNaN)   // 9 is no level
        #expect(other.c("customer_kind") == "institution")
        #expect(other.c("investor_class") == "professional")
        #expect(other.n("days_since_last_activity").isNaN)
        #expect(other.number("days_since_last_activity") == nil)
    }

    @Test func assets() {
        let values = Fixture.compute([
            Fixture.position(asOf - 100, cash: 1_000_000),
            Fixture.position(asOf - 40, cash: 200_000, holdings: [Fixture.holding("A", value: 600_000, cost: 500_000)],
                             products: [Fixture.product("F", "FUND_BOND", value: 300_000, cost: 300_000)]),
            Fixture.position(asOf - 10, cash: 100_000, holdings: [Fixture.holding("A", value: 900_000, cost: 500_000)],
                             products: [Fixture.product("F", "FUND_BOND", value: 300_000, cost: 300_000)]),
        ])
        // Totals: 1,000,000 from asOf-100; 1,100,000 from asOf-40; 1,300,000 from asOf-10.
        #expect(values.n("total_assets") == 1_300_000)
        #expect(values.n("cash") == 100_000)
        #expect(values.n("securities_value") == 900_000)
        #expect(values.n("products_value") == 300_000)
        #expect(close(values.n("position_ratio"), 1_200_000.0 / 1_300_000))
        #expect(close(values.n("cash_ratio"), 100_000.0 / 1_300_000))
        #expect(values.n("avg_assets_7d") == 1_300_000)
        // 19 days × 1,100,000 + 11 days × 1,300,000 = 35,200,000; / 30 = 1,173,333.33 → 1,173,333
        #expect(values.n("avg_assets_30d") == 1_173_333)
        // 49 × 1,000,000 + 30 × 1,100,000 + 11 × 1,300,000 = 96,300,000; / 90 = 1,070,000
        #expect(values.n("avg_assets_90d") == 1_070_000)
        // 79 days of 0 + 60 × 1,000,000 + 30 × 1,100,000 + 11 × 1,300,000 = 107,300,000; / 180 = 596,111.1 → 596,111
        #expect(values.n("avg_assets_180d") == 596_111)
        // 107,300,000 / 365 = 293,972.6 → 293,973
        #expect(values.n("avg_assets_365d") == 293_973)
        #expect(values.n("max_assets_30d") == 1_300_000)
        #expect(values.n("min_assets_30d") == 1_100_000)
        #expect(values.n("min_assets_90d") == 1_000_000)
        #expect(values.n("max_assets_365d") == 1_300_000)
        #expect(values.n("min_assets_365d") == 0)
        // Now 1,300,000; 30 days ago 1,100,000; 90 days ago 1,000,000; 365 days ago nothing.
        #expect(values.n("assets_change_30d") == 200_000)
        #expect(values.n("assets_change_90d") == 300_000)
        #expect(values.n("assets_change_365d") == 1_300_000)
        #expect(close(values.n("assets_growth_90d"), 0.3))
        #expect(values.n("assets_growth_365d") == 0)
        #expect(values.n("days_since_position") == 10)
    }

    @Test func holdingsAndProducts() {
        let values = Fixture.compute([Fixture.position(
            asOf, cash: 40_000,
            holdings: [
                Fixture.holding("A", .stock, sector: "banking", value: 600_000, cost: 500_000),
                Fixture.holding("B", .stock, sector: "technology", value: 300_000, cost: 400_000),
                Fixture.holding("C", .bond, sector: "government", value: 100_000, cost: 100_000),
                Fixture.holding("D", .etf, sector: "technology", value: 0, cost: 0, quantity: 0),
            ],
            products: [
                Fixture.product("F1", "FUND_BOND", value: 200_000, cost: 150_000),
                Fixture.product("F2", "fund_equity", value: 100_000, cost: 120_000),
                Fixture.product("F3", "ASSET_MANAGEMENT", value: 50_000, cost: 50_000),
                Fixture.product("F4", "SOMETHING_NEW", value: 10_000, cost: 10_000),
            ]
        )])
        // Securities 600,000 + 300,000 + 100,000 = 1,000,000; products 360,000; total 1,400,000.
        #expect(values.n("holdings_count") == 3)   // D has quantity 0
        #expect(values.n("holding_sector_count") == 3)
        #expect(values.n("top_holding_ratio") == 0.6)
        #expect(values.n("top3_holding_ratio") == 1)
        #expect(values.n("top_sector_ratio") == 0.6)
        // 0.6² + 0.3² + 0.1² = 0.46
        #expect(close(values.n("holding_concentration_hhi"), 0.46))
        #expect(values.n("holdings_cost") == 1_000_000)
        #expect(values.n("holdings_unrealised_profit") == 0)
        // Products: 360,000 − 330,000 = 30,000; holdings 0.
        #expect(values.n("unrealised_profit") == 30_000)
        #expect(close(values.n("profit_ratio"), 30_000.0 / 1_330_000))
        #expect(values.n("losing_holdings_count") == 1)
        #expect(values.n("profitable_holdings_count") == 1)
        #expect(values.n("holding_value_stock") == 900_000)
        #expect(values.n("holding_value_bond") == 100_000)
        #expect(values.n("holding_value_etf") == 0)
        #expect(values.n("holding_share_stock") == 0.9)
        #expect(values.n("holding_share_bond") == 0.1)
        #expect(values.c("largest_holding_sector") == "banking")
        #expect(values.c("dominant_holding_type") == "stock")

        #expect(values.n("product_holding_count") == 4)
        #expect(values.n("product_type_count") == 4)
        #expect(close(values.n("products_ratio"), 360_000.0 / 1_400_000))
        #expect(values.n("products_cost") == 330_000)
        #expect(values.n("products_unrealised_profit") == 30_000)
        #expect(values.n("product_value_bond_fund") == 200_000)
        #expect(values.n("product_value_equity_fund") == 100_000)   // type names in any case
        #expect(values.n("product_value_asset_management") == 50_000)
        #expect(values.n("product_value_other") == 10_000)
        #expect(values.n("product_value_money_market_fund") == 0)
        #expect(values.n("product_value_fixed_income") == 200_000)
        #expect(values.n("product_value_equity_funds") == 100_000)
        #expect(values.c("largest_product_type") == "bond_fund")
    }

    @Test func trading() {
        let values = Fixture.compute([
            Fixture.position(asOf - 400, cash: 1_000_000),   // before the retained window: carried
            Fixture.trade(asOf, .buy, amount: 100_000, commission: 30, fees: 2, type: .stock, sector: "banking"),
            Fixture.trade(asOf - 3, .sell, amount: 50_000, commission: 15, fees: 1, type: .etf, sector: "technology", account: .margin),
            Fixture.trade(asOf - 3, .buy, amount: 20_000, commission: 10, fees: 1, type: .stock, sector: "technology"),
            Fixture.trade(asOf - 20, .buy, amount: 200_000, commission: 20, fees: 3, type: .bond, sector: "government"),
            Fixture.trade(asOf - 100, .sell, amount: 400_000, commission: 100, fees: 10, type: .stock, sector: "banking"),
            Fixture.trade(asOf - 364, .buy, amount: 30_000, commission: 5, fees: 0, type: .fund, sector: ""),
            Fixture.trade(asOf - 365, .buy, amount: 999_000, commission: 999, fees: 99, type: .stock, sector: "banking"),
        ])
        // 7 days: asOf and asOf-3 (two trades): buys 100,000 + 20,000, sells 50,000.
        #expect(values.n("trade_count_7d") == 3)
        #expect(values.n("buy_count_7d") == 2)
        #expect(values.n("sell_count_7d") == 1)
        #expect(values.n("buy_amount_7d") == 120_000)
        #expect(values.n("sell_amount_7d") == 50_000)
        #expect(values.n("trade_amount_7d") == 170_000)
        #expect(values.n("net_buy_amount_7d") == 70_000)
        #expect(values.n("active_trading_days_7d") == 2)
        #expect(values.n("turnover_rate_7d") == 0.17)   // 170,000 / 1,000,000
        // 30 and 90 days: + asOf-20 (buy 200,000).
        #expect(values.n("trade_count_30d") == 4)
        #expect(values.n("buy_amount_30d") == 320_000)
        #expect(values.n("trade_amount_90d") == 370_000)
        #expect(values.n("active_trading_days_90d") == 3)
        #expect(values.n("turnover_rate_90d") == 0.37)
        #expect(values.n("avg_trade_amount_90d") == 92_500)   // 370,000 / 4
        // 180 days: + asOf-100 (sell 400,000).
        #expect(values.n("sell_amount_180d") == 450_000)
        #expect(values.n("trade_amount_180d") == 770_000)
        // 365 days: + asOf-364 (buy 30,000); asOf-365 is out.
        #expect(values.n("trade_count_365d") == 6)
        #expect(values.n("trade_amount_365d") == 800_000)
        #expect(values.n("active_trading_days_365d") == 5)
        #expect(values.n("turnover_rate_365d") == 0.8)
        #expect(values.n("avg_trade_amount_365d") == 133_333)   // 800,000 / 6 = 133,333.3
        #expect(values.n("days_since_last_trade") == 0)
        #expect(values.n("days_since_first_trade") == 365)
        #expect(values.n("lifetime_trade_count") == 7)
        #expect(values.n("lifetime_trade_amount") == 1_799_000)
        // By type over 365 days: stock 100,000 + 20,000 + 400,000 = 520,000; bond 200,000; etf 50,000; fund 30,000.
        #expect(values.c("preferred_instrument_type") == "stock")
        #expect(values.n("trade_share_stock_365d") == 0.65)
        #expect(values.n("trade_share_bond_365d") == 0.25)
        #expect(values.n("trade_share_etf_365d") == 0.0625)
        #expect(values.n("trade_share_fund_365d") == 0.0375)
        #expect(values.n("trade_share_repo_365d") == 0)
        // By sector: banking 500,000; government 200,000; technology 70,000 (the fund trade has none).
        #expect(values.c("preferred_sector") == "banking")
        #expect(values.n("traded_sector_count_365d") == 3)
        // Margin: the etf sale.
        #expect(values.n("has_margin_account") == 1)
        #expect(values.n("margin_trade_count_30d") == 1)
        #expect(values.n("margin_trade_amount_365d") == 50_000)
        #expect(values.n("margin_trade_share_365d") == 0.0625)
        // Commission 7d 30 + 15 + 10 = 55, fees 4; 30d + 20 and 3; 365d + 100, 10 and 5, 0.
        #expect(values.n("commission_7d") == 55)
        #expect(values.n("fees_7d") == 4)
        #expect(values.n("net_commission_7d") == 51)
        #expect(values.n("net_commission_30d") == 68)
        #expect(values.n("commission_365d") == 180)
        #expect(values.n("net_commission_365d") == 163)
        #expect(values.n("lifetime_commission") == 1_179)
        #expect(values.n("lifetime_net_commission") == 1_063)   // 1,179 − 116
        #expect(close(values.n("commission_rate_365d"), 180.0 / 800_000))
    }

    @Test func flows() {
        let values = Fixture.compute([
            Fixture.position(asOf - 400, cash: 700_000),
            Fixture.deposit(asOf - 1, 100_000),
            Fixture.deposit(asOf - 10, 50_000),
            Fixture.deposit(asOf - 100, 300_000),
            Fixture.withdrawal(asOf - 5, 30_000),
            Fixture.withdrawal(asOf - 200, 70_000),
            Fixture.withdrawal(asOf - 365, 1),
        ])
        #expect(values.n("deposit_count_7d") == 1)
        #expect(values.n("withdrawal_count_7d") == 1)
        #expect(values.n("net_deposit_7d") == 70_000)   // 100,000 − 30,000
        #expect(values.n("deposit_amount_30d") == 150_000)
        #expect(values.n("net_deposit_30d") == 120_000)
        #expect(values.n("net_deposit_90d") == 120_000)
        #expect(values.n("deposit_count_180d") == 3)
        #expect(values.n("net_deposit_180d") == 420_000)   // 450,000 − 30,000
        #expect(values.n("withdrawal_count_365d") == 2)
        #expect(values.n("withdrawal_amount_365d") == 100_000)
        #expect(values.n("net_deposit_365d") == 350_000)
        #expect(values.n("days_since_last_deposit") == 1)
        #expect(values.n("days_since_last_withdrawal") == 5)
        #expect(values.n("net_inflow_ratio_365d") == 0.5)   // 350,000 / 700,000
        #expect(values.n("days_since_last_activity") == 1)
    }

    @Test func productViews() {
        let values = Fixture.compute([
            Fixture.view(asOf, "P1", "FUND_BOND"),
            Fixture.view(asOf, "P1", "FUND_BOND", hour: 11),
            Fixture.view(asOf - 10, "P2", "FUND_EQUITY"),
            Fixture.view(asOf - 40, "P3", "FUND_EQUITY"),
            Fixture.view(asOf - 100, "P1", "FUND_BOND"),
            Fixture.view(asOf - 200, "P4", "ASSET_MANAGEMENT"),
        ])
        #expect(values.n("product_view_count_7d") == 2)
        #expect(values.n("product_view_count_30d") == 3)
        #expect(values.n("product_view_count_90d") == 4)
        #expect(values.n("product_view_count_365d") == 6)
        #expect(values.n("distinct_products_viewed_30d") == 2)   // P1, P2
        #expect(values.n("distinct_products_viewed_90d") == 3)   // + P3
        #expect(values.n("distinct_products_viewed_365d") == 4)  // + P4
        #expect(values.n("distinct_product_types_viewed_90d") == 2)
        // 90 days: FUND_BOND 2 views, FUND_EQUITY 2 views: a tie goes to the smaller name.
        #expect(values.c("most_viewed_product_type_90d") == "FUND_BOND")
        #expect(values.n("days_since_last_view") == 0)
    }

    @Test func margin() {
        let values = Fixture.compute([
            Fixture.margin(asOf - 1, collateral: 2_600_000, financing: 1_500_000, borrowed: 400_000, accrued: 100_000, limit: 3_000_000),
            Fixture.margin(asOf - 5, collateral: 1, financing: 1, limit: 1),   // late and older: ignored
            Fixture.interest(asOf, 1_000),
            Fixture.interest(asOf - 29, 2_000),
            Fixture.interest(asOf - 30, 4_000),
            Fixture.interest(asOf - 364, 8_000),
            Fixture.interest(asOf - 365, 16_000),
            Fixture.interest(asOf - 500, 32_000),
        ])
        #expect(values.n("margin_collateral") == 2_600_000)
        #expect(values.n("margin_financing") == 1_500_000)
        #expect(values.n("margin_securities_borrowed") == 400_000)
        #expect(values.n("margin_interest_accrued") == 100_000)
        #expect(values.n("margin_credit_limit") == 3_000_000)
        #expect(values.n("margin_liability") == 2_000_000)   // 1,500,000 + 400,000 + 100,000
        #expect(values.n("margin_available_credit") == 1_500_000)
        #expect(values.n("margin_utilisation") == 0.5)
        #expect(values.n("maintenance_ratio") == 1.3)   // 2,600,000 / 2,000,000
        #expect(values.n("has_margin_account") == 1)
        #expect(values.n("margin_interest_30d") == 3_000)   // asOf and asOf-29
        #expect(values.n("margin_interest_90d") == 7_000)   // + asOf-30
        #expect(values.n("margin_interest_365d") == 15_000) // + asOf-364
        #expect(values.n("lifetime_margin_interest") == 63_000)
        #expect(values.n("contribution_30d") == 3_000)
        #expect(values.n("contribution_365d") == 15_000)

        let none = Fixture.compute([Fixture.margin(asOf, collateral: 5, financing: 0, limit: 0)])
        #expect(none.n("maintenance_ratio").isNaN)
        #expect(none.n("margin_utilisation") == 0)
    }

    @Test func service() {
        let values = Fixture.compute([
            Fixture.contact(asOf, .call, .reached),
            Fixture.contact(asOf - 3, .visit, .complaint),
            Fixture.contact(asOf - 3, .message, .notReached),
            Fixture.contact(asOf - 50, .call, .interested),
            Fixture.contact(asOf - 200, .call, .declined),
            Fixture.contact(asOf - 364, .visit, .complaint),
            Fixture.contact(asOf - 365, .call, .complaint),
        ])
        #expect(values.n("contact_count_7d") == 3)
        #expect(values.n("contact_count_30d") == 3)
        #expect(values.n("contact_count_90d") == 4)
        #expect(values.n("contact_count_365d") == 6)
        #expect(values.n("reached_contact_count_90d") == 3)   // all but the message not reached
        #expect(values.n("reached_contact_count_365d") == 5)
        #expect(values.n("complaint_count_90d") == 1)
        #expect(values.n("complaint_count_365d") == 2)
        #expect(values.n("interested_contact_count_365d") == 1)
        #expect(values.n("call_count_365d") == 3)
        #expect(values.n("visit_count_365d") == 2)
        #expect(values.n("message_count_365d") == 1)
        #expect(close(values.n("contact_reach_ratio_365d"), 5.0 / 6))
        #expect(values.n("days_since_last_contact") == 0)
        #expect(values.n("days_since_last_complaint") == 3)
    }

    @Test func contribution() {
        let values = Fixture.compute([
            Fixture.position(asOf - 400, cash: 10_000_000),
            Fixture.trade(asOf - 10, amount: 1_000_000, commission: 300, fees: 50),
            Fixture.trade(asOf - 100, amount: 2_000_000, commission: 600, fees: 100),
            Fixture.interest(asOf - 60, 5_000),
        ])
        // 30 days: 300 − 50 = 250. 90 days: 250 + 5,000 interest. 365 days: 250 + 500 + 5,000.
        #expect(values.n("contribution_30d") == 250)
        #expect(values.n("contribution_90d") == 5_250)
        #expect(values.n("contribution_365d") == 5_750)
        #expect(values.n("net_commission_180d") == 750)
        #expect(values.n("fees_365d") == 150)
        #expect(close(values.n("contribution_to_assets_365d"), 5_750.0 / 10_000_000))
    }

    @Test func integerHelpers() {
        #expect(Fen.roundedQuotient(5, 2) == 3)
        #expect(Fen.roundedQuotient(-5, 2) == -3)
        #expect(Fen.roundedQuotient(7, 3) == 2)
        #expect(Fen.roundedQuotient(8, 3) == 3)
        #expect(Fen.roundedQuotient(1, 0) == 0)
        #expect(Fen.sum(.max, 1) == .max)
        #expect(Fen.sum(.min, -1) == .min)
        #expect(Fen.difference(.min, 1) == .min)
        #expect(Fen.product(.max / 2, 3) == .max)
        #expect(Fen.product(.max / 2, -3) == .min)
    }
}

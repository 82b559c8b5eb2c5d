import Foundation

/// The planted law of purchases: the log-odds g_f that a customer buys a product of family f in a
/// month, as a function only of what the profiles service shows of them at the end of the month
/// before (``ObservedState``, whose fields mirror the service's dimensions).
///
/// P_f(c, m) = sigmoid(g_f(state at the end of month m − 1)), for customers allowed to buy (a normal
/// account all month, an assessment in force all month) and families with at least one product on
/// sale that month that matches them; otherwise 0.
///
/// g_f = base_f
///     + 2.6 · [most viewed type in 90 days is f  AND  last view ≤ 14 days ago]
///     + 1.2 · [most viewed type in 90 days is f  AND  last view > 14 days ago]
///     + 1.0 · [largest product family held is f]
///     − 0.7 · [holds ≥ 4 products]
///     + wealth_f(avg assets 90d, trades 30d)
///     + appetite_f(risk tolerance, age)
///     + activity_f(trades 30d)
///     + 0.5 · [contacted within 30 days  AND  avg assets ≥ 200,000 yuan]
///
/// Every term but the base is a threshold or an AND of two: trees find it, a linear model on the
/// raw values does not. ``terms(_:_:)`` spells out wealth_f, appetite_f and activity_f.
public enum PurchaseLaw {
    /// The base log-odds of each family (indexed by ``WorldFamily/rawValue``): a few tenths of a
    /// percent a month without any signal.
    public static let base: [Double] = [-5.5, -5.9, -6.0, -6.3, -6.2, -6.8, -6.7, -6.5, -6.6, -7.0]

    /// g_f: the log-odds of a purchase in `family` given the state at the end of the month before.
    public static func score(_ family: WorldFamily, _ state: ObservedState) -> Double {
        var sum = base[family.rawValue]
        accumulate(family, state) { _, value in sum += value }
        return sum
    }

    /// sigmoid(g_f).
    public static func propensity(_ family: WorldFamily, _ state: ObservedState) -> Double {
        1 / (1 + exp(-score(family, state)))
    }

    /// The non-base terms of g_f that apply, named, for explanations and tests.
    public static func terms(_ family: WorldFamily, _ state: ObservedState) -> [(name: String, value: Double)] {
        var terms: [(name: String, value: Double)] = []
        accumulate(family, state) { name, value in terms.append((name, value)) }
        return terms
    }

    /// Calls `body` with each term of g_f (but the base) that applies.
    @inline(__always)
    private static func accumulate(_ family: WorldFamily, _ state: ObservedState, _ body: (String, Double) -> Void) {
        @inline(__always)
        func add(_ name: String, _ value: Double, when condition: Bool) {
            if condition { body(name, value) }
        }
        let viewedMost = state.mostViewedFamily == family
        let lastView = state.daysSinceLastView.isNaN ? Double.infinity : state.daysSinceLastView
        let assetsYuan = Double(state.avgAssets90d) / 100
        let trades = state.tradeCount30d
        let tolerance = state.riskToleranceLevel.isNaN ? 0 : state.riskToleranceLevel
        let age = state.ageYears
        let lastContact = state.daysSinceLastContact.isNaN ? Double.infinity : state.daysSinceLastContact

        add("viewed_most_recently", 2.6, when: viewedMost && lastView <= 14)
        add("viewed_most_earlier", 1.2, when: viewedMost && lastView > 14)
        add("holds_family_most", 1.0, when: state.largestFamily == family)
        add("holds_many_products", -0.7, when: state.productHoldingCount >= 4)
        add("recent_contact_wealthy", 0.5, when: lastContact <= 30 && assetsYuan >= 200_000)

        switch family {
        case .moneyMarketFund:
            add("idle_cash", 0.6, when: trades == 0 && assetsYuan >= 100_000)
            add("small_saver", -0.5, when: assetsYuan < 20_000)
        case .assetManagement:
            add("wealthy", 1.4, when: assetsYuan >= 1_000_000)
            add("below_threshold", -2.5, when: assetsYuan < 300_000)
        case .structuredNote:
            add("wealthy", 1.0, when: assetsYuan >= 500_000)
            add("below_threshold", -2.0, when: assetsYuan < 100_000)
        case .qdiiFund:
            add("wealthy", 0.6, when: assetsYuan >= 500_000)
        case .advisoryPackage:
            add("active_and_wealthy", 1.2, when: trades >= 6 && assetsYuan >= 300_000)
        default:
            add("comfortable", 0.3, when: assetsYuan >= 100_000)
        }

        switch family {
        case .mixedFund, .equityFund, .indexFund, .qdiiFund:
            add("young_risk_taker", 0.9, when: tolerance >= 4 && !age.isNaN && age < 45)
            add("risk_taker", 0.3, when: tolerance >= 4)
            add("cautious", -0.8, when: tolerance >= 1 && tolerance <= 2)
        case .moneyMarketFund, .bondFund, .bond:
            add("cautious_or_senior", 0.7, when: (tolerance >= 1 && tolerance <= 2) || (!age.isNaN && age >= 60))
        case .assetManagement, .structuredNote:
            add("moderate_risk", 0.3, when: tolerance >= 3)
        case .advisoryPackage:
            break
        }

        switch family {
        case .indexFund: add("active_trader", 0.9, when: trades >= 8)
        case .equityFund: add("trader", 0.5, when: trades >= 4)
        default: break
        }
    }
}

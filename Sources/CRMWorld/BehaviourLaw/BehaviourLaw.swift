import Foundation

/// The second world's buying law, written from the description of a brokerage where purchases
/// follow behaviour rather than standing: for each product on sale that suits the customer, in
/// each month, an independent chance of buying it,
///
///     P(c buys p in m) = sigmoid(s(c, p) + ε(c, m, family of p)),
///
/// where s is read from what was known at the month's start (``BehaviourState``) and ε is the
/// month's unobserved mood for the family, normal with standard deviation ``noise`` (shared by
/// the family's products, so it cannot be averaged away within a family). Only customers who may
/// buy (a normal account all month, an assessment in force all month) buy at all.
///
///     s = base_f + popularity_p
///       + 0.8 · ln(1 + views of f in 30 days) + 0.6 · [viewed f within 3 days] + 0.4 · [≥ 3 views of f in 7 days]
///       + 1.2 · [bought f before] + 0.4 · [bought f 3 times or more] − 1.0 · [bought f within 30 days]
///       + idle cash: 0.9 for money-market funds, bond funds and bonds; 0.5 for the others only
///         with a view of f in 30 days
///       + 1.1 · [a contact about f within 14 days] + 0.4 · [a manager's contact within 7 days]
///       + 0.5 · [a contact about f within 14 days AND a view of f in 30 days]
///       + risk headroom (tolerance − the product's risk): −0.6 at 0, +0.4 at 1, +0.2 at 2, −0.3 beyond
///       + account age: under 180 days +0.7 for money-market funds, −0.4 for equity, index, QDII
///         funds and structured notes; over 8 years +0.3 for asset management and advisory packages
///
/// popularity_p is the log of the product's popularity over its family's mean. The knowable part
/// s is what a perfect model could reach; ε is what no model can.
public enum BehaviourLaw {
    /// base_f by ``WorldFamily/rawValue``.
    public static let base: [Double] = [-7.2, -7.6, -7.9, -8.1, -8.0, -8.6, -8.4, -8.2, -8.4, -8.8]
    /// The standard deviation of the month's unobserved mood ε.
    public static let noise = 0.3

    /// s(c, p): the knowable log-odds of buying a product of `family` with risk level `risk`
    /// (1…5) and the given popularity relative to its family's mean.
    public static func score(_ state: BehaviourState, family: WorldFamily, risk: Int, relativePopularity: Double) -> Double {
        var sum = base[family.rawValue] + log(max(relativePopularity, 1e-6))
        accumulate(state, family: family, risk: risk) { _, value in sum += value }
        return sum
    }

    /// The terms of s that apply, named, for explanations and tests.
    public static func terms(_ state: BehaviourState, family: WorldFamily, risk: Int) -> [(name: String, value: Double)] {
        var terms: [(name: String, value: Double)] = []
        accumulate(state, family: family, risk: risk) { terms.append(($0, $1)) }
        return terms
    }

    private static func accumulate(_ state: BehaviourState, family: WorldFamily, risk: Int, _ body: (String, Double) -> Void) {
        func add(_ name: String, _ value: Double, when condition: Bool) {
            if condition { body(name, value) }
        }
        let f = family.rawValue
        let views30 = state.views30[f]
        add("views_30d", 0.8 * log(1 + Double(views30)), when: views30 > 0)
        add("viewed_within_3_days", 0.6, when: (state.daysSinceView[f] ?? .max) <= 3)
        add("frequent_viewer", 0.4, when: state.views7[f] >= 3)
        let bought = state.purchases[f]
        add("bought_before", 1.2, when: bought >= 1)
        add("bought_often", 0.4, when: bought >= 3)
        add("just_bought", -1.0, when: (state.daysSincePurchase[f] ?? .max) <= 30)
        switch family {
        case .moneyMarketFund, .bondFund, .bond:
            add("idle_cash", 0.9, when: state.hasIdleCash)
        default:
            add("idle_cash_and_interest", 0.5, when: state.hasIdleCash && views30 > 0)
        }
        let aboutFamily = (state.daysSinceContactAbout[f] ?? .max) <= 14
        add("contact_about_family", 1.1, when: aboutFamily)
        add("recent_manager_contact", 0.4, when: (state.daysSinceManagerContact ?? .max) <= 7)
        add("contact_and_interest", 0.5, when: aboutFamily && views30 > 0)
        if let tolerance = state.riskTolerance {
            switch tolerance - risk {
            case ..<1: add("no_headroom", -0.6, when: true)
            case 1: add("headroom_1", 0.4, when: true)
            case 2: add("headroom_2", 0.2, when: true)
            default: add("far_below_tolerance", -0.3, when: true)
            }
        }
        if let age = state.accountAgeDays {
            switch family {
            case .moneyMarketFund: add("new_account", 0.7, when: age < 180)
            case .equityFund, .indexFund, .qdiiFund, .structuredNote: add("new_account", -0.4, when: age < 180)
            case .assetManagement, .advisoryPackage: add("long_standing_account", 0.3, when: age > 8 * 365)
            default: break
            }
        }
    }

    static func sigmoid(_ x: Double) -> Double {
        1 / (1 + exp(-x))
    }
}

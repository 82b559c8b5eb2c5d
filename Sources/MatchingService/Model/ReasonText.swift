import Foundation

/// A score reason in words, for the client manager reading a target list: the behaviour features
/// as what the customer did ("viewed bond funds 3 times in the last 7 days"), the other features
/// as their name and value.
enum ReasonText {
    /// The families as a manager says them, by ``ProductFamilies`` index.
    static let familyWords = [
        "money-market funds", "bond funds", "mixed funds", "equity funds", "index funds", "QDII funds",
        "bonds", "asset-management products", "structured notes", "advisory packages",
    ]

    static func describe(feature: String, value: Double, family: Int, isMoney: Bool) -> String {
        let words = familyWords.indices.contains(family) ? familyWords[family] : "this family"
        guard value.isFinite else { return "\(feature.replacingOccurrences(of: "_", with: " ")): none" }
        let count = Int(value.rounded())
        func times(_ n: Int) -> String { n == 1 ? "once" : "\(n) times" }
        func days(_ n: Int) -> String { n == 0 ? "today" : n == 1 ? "yesterday" : "\(n) days ago" }
        switch feature {
        case "family_views_7d": return "viewed \(words) \(times(count)) in the last 7 days"
        case "family_views_30d": return "viewed \(words) \(times(count)) in the last 30 days"
        case "family_views_90d": return "viewed \(words) \(times(count)) in the last 90 days"
        case "days_since_family_view": return "last viewed \(words) \(days(count))"
        case "family_orders": return "bought \(words) \(times(count)) before"
        case "family_order_amount": return "bought ¥\(yuan(value)) of \(words) before"
        case "days_since_family_order": return "last bought \(words) \(days(count))"
        case "family_redemptions": return "redeemed \(words) \(times(count))"
        case "contacts_7d": return "contacted \(times(count)) in the last 7 days"
        case "contacts_30d": return "contacted \(times(count)) in the last 30 days"
        case "family_contacts_7d": return "contacted about \(words) \(times(count)) in the last 7 days"
        case "family_contacts_30d": return "contacted about \(words) \(times(count)) in the last 30 days"
        case "days_since_contact": return "last contacted \(days(count))"
        case "days_since_family_contact": return "last contacted about \(words) \(days(count))"
        case "family_value_held": return "holds ¥\(yuan(value / 100)) of \(words)"
        case "viewed_family_90d": return value > 0 ? "viewed \(words) most in the last 90 days" : "viewed other products most"
        case "holds_family_most": return value > 0 ? "holds \(words) most" : "holds other products most"
        case "family": return "a product among \(words)"
        default:
            if feature.hasPrefix("family_is_") { return "a product among \(words)" }
            let name = feature.replacingOccurrences(of: "_", with: " ")
            return isMoney ? "\(name) ¥\(yuan(value / 100))" : "\(name) \(plain(value))"
        }
    }

    /// Yuan with thousands separators and no decimals.
    static func yuan(_ value: Double) -> String {
        let whole = Int64(value.rounded())
        let digits = String(whole.magnitude)
        var grouped = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { grouped += "," }
            grouped.append(character)
        }
        return (whole < 0 ? "-" : "") + grouped
    }

    static func plain(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%.2f", value)
    }
}

import CRMProtos
import Crypto
import Foundation

/// The text a customer signs and its fingerprint. Pure: no I/O.
///
/// The signed text is the template (title, body, every risk disclosure) followed by the signature
/// facts: which disclosures the customer confirmed, whether they confirmed the mismatch warning, who,
/// through which channel, when. The SHA-256 covers all of it, so changing any fact of a stored
/// contract breaks the hash; and since the text is a function of the template and the facts,
/// ``render(template:contract:)`` run again proves the stored text says what the stored facts say.
enum ContractText {
    /// The text for `contract`'s facts (customer, product, channel, confirmations, signed_at) on
    /// `template`. Disclosures appear in the template's order.
    static func render(template: Crm_Products_V1_ContractTemplate, contract: Crm_Products_V1_SignedContract) -> String {
        var lines: [String] = []
        lines.append(template.title)
        lines.append("Product \(template.productCode), contract template version \(template.version)")
        lines.append("")
        lines.append(template.body)
        lines.append("")
        lines.append("Risk disclosures confirmed by the customer:")
        let confirmed = Set(contract.confirmedDisclosureIds)
        for disclosure in template.disclosures {
            lines.append("[\(confirmed.contains(disclosure.disclosureID) ? "x" : " ")] \(disclosure.disclosureID): \(disclosure.text)")
        }
        lines.append("")
        if contract.mismatchConfirmed {
            lines.append("Suitability: the customer was warned that this product does not match their profile and confirmed the purchase.")
        } else {
            lines.append("Suitability: no mismatch warning confirmed.")
        }
        lines.append("Customer: \(contract.customerID)")
        lines.append("Channel: \(contract.channel.name)")
        let millis = contract.signedAt.unixMillis
        lines.append("Signed at: \(BeijingCalendar.text(ofUnixMillis: millis)) (Unix ms \(millis))")
        return lines.joined(separator: "\n") + "\n"
    }

    /// SHA-256 of the text's UTF-8 bytes, lower-case hex.
    static func sha256(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}

extension Crm_Products_V1_SalesChannel {
    /// The wire name: WEBSITE, APP, BRANCH, CLIENT_MANAGER.
    var name: String {
        switch self {
        case .unspecified: return "SALES_CHANNEL_UNSPECIFIED"
        case .website: return "WEBSITE"
        case .app: return "APP"
        case .branch: return "BRANCH"
        case .clientManager: return "CLIENT_MANAGER"
        case let .UNRECOGNIZED(value): return "CHANNEL_\(value)"
        }
    }
}

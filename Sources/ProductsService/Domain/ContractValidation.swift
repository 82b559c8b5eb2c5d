import CRMPrimitives
import CRMProtos
import Foundation

/// Contract templates and signatures before they are stored. Pure: no I/O.
enum ContractValidation {
    static let maxDisclosureIDLength = 32

    /// Every violated field of a template (paths under `template.`).
    static func violations(of template: Crm_Products_V1_ContractTemplate) -> [Refusal.Field] {
        var violations: [Refusal.Field] = []
        func add(_ field: String, _ description: String) {
            violations.append(Refusal.Field(field: "template.\(field)", description: description))
        }
        if let problem = ProductValidation.codeProblem(template.productCode) { add("product_code", problem) }
        if template.title.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { add("title", "is required") }
        if template.body.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { add("body", "is required") }
        var seen: Set<String> = []
        for (index, disclosure) in template.disclosures.enumerated() {
            let id = disclosure.disclosureID
            if id.isEmpty {
                add("disclosures[\(index)].disclosure_id", "is required")
            } else if id.count > maxDisclosureIDLength {
                add("disclosures[\(index)].disclosure_id", "is longer than \(maxDisclosureIDLength) characters")
            } else if !seen.insert(id).inserted {
                add("disclosures[\(index)].disclosure_id", "repeats \(id)")
            }
            if disclosure.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                add("disclosures[\(index)].text", "is required")
            }
        }
        return violations
    }

    /// The caller's part of a template: two equal contents are the same version.
    static func content(of template: Crm_Products_V1_ContractTemplate) -> Crm_Products_V1_ContractTemplate {
        .with {
            $0.productCode = template.productCode
            $0.title = template.title
            $0.body = template.body
            $0.disclosures = template.disclosures.map { disclosure in
                .with {
                    $0.disclosureID = disclosure.disclosureID
                    $0.text = disclosure.text
                }
            }
        }
    }

    /// Every violated field of a signing request, before the template is looked up.
    static func violations(of request: Crm_Products_V1_SignContractRequest) -> [Refusal.Field] {
        var violations: [Refusal.Field] = []
        if request.customerID.isEmpty { violations.append(Refusal.Field(field: "customer_id", description: "is required")) }
        if let problem = ProductValidation.codeProblem(request.productCode) {
            violations.append(Refusal.Field(field: "product_code", description: problem))
        }
        if request.templateVersion == 0 {
            violations.append(Refusal.Field(field: "template_version", description: "is required: the version shown to the customer"))
        }
        if request.channel == .unspecified || !Crm_Products_V1_SalesChannel.allCases.contains(request.channel) {
            violations.append(Refusal.Field(field: "channel", description: "must be one of WEBSITE, APP, BRANCH, CLIENT_MANAGER"))
        }
        return violations
    }

    /// The confirmations in the template's order, or INVALID_ARGUMENT (`confirmed_disclosure_ids`)
    /// when one is missing, unknown or repeated: the customer confirms each disclosure, once.
    static func confirmations(_ confirmed: [String], of template: Crm_Products_V1_ContractTemplate) throws -> [String] {
        let listed = template.disclosures.map(\.disclosureID)
        let known = Set(listed)
        var seen: Set<String> = []
        var problems: [String] = []
        for id in confirmed {
            if !known.contains(id) {
                problems.append("\(id) is not a disclosure of template version \(template.version)")
            } else if !seen.insert(id).inserted {
                problems.append("\(id) is confirmed twice")
            }
        }
        for id in listed where !seen.contains(id) {
            problems.append("disclosure \(id) is not confirmed")
        }
        guard problems.isEmpty else {
            throw Refusal.invalidArguments(problems.map { Refusal.Field(field: "confirmed_disclosure_ids", description: $0) })
        }
        return listed
    }
}

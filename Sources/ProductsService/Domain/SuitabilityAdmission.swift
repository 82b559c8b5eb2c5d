import CRMPrimitives
import CRMProtos

/// What matching's suitability decision means for an order. Pure: no I/O.
///
/// MATCH admits the order. MISMATCH admits it only when the customer's signed contract carries the
/// explicit confirmation of the mismatch warning. PROHIBITED never admits it. A decision this
/// service does not know (UNSPECIFIED or a newer value) is treated as no decision: UNAVAILABLE,
/// since an order is never accepted unchecked.
enum SuitabilityAdmission {
    typealias Decision = Crm_Matching_V1_DecideSuitabilityResponse

    /// The outcome to store with the order, or the refusal.
    static func admit(
        _ decision: Decision,
        contract: Crm_Products_V1_SignedContract,
        order: Crm_Products_V1_Order
    ) throws -> Crm_Products_V1_SuitabilityOutcome {
        let reasons = text(of: decision.reasons)
        switch decision.decision {
        case .match:
            return .match
        case .mismatch where contract.mismatchConfirmed:
            return .mismatchConfirmed
        case .mismatch:
            throw Refusal(
                .failedPrecondition,
                "product \(order.productCode) does not match customer \(order.customerID)'s profile (\(reasons)); the customer must sign a contract confirming the mismatch warning (SignContract with mismatch_confirmed)",
                fields: violations(decision.reasons, fallback: "the mismatch warning is not confirmed by contract \(contract.contractID)")
            )
        case .prohibited:
            throw Refusal(
                .failedPrecondition,
                "the sale of product \(order.productCode) to customer \(order.customerID) is prohibited: \(reasons)",
                fields: violations(decision.reasons, fallback: "prohibited by the suitability rules")
            )
        case .unspecified, .UNRECOGNIZED:
            throw Refusal(.unavailable, "the suitability check gave no decision (\(decision.decision.rawValue)); the order is not accepted unchecked")
        }
    }

    /// The reasons as stored with an order.
    static func stored(_ reasons: [Crm_Matching_V1_SuitabilityReason]) -> [Crm_Products_V1_SuitabilityReason] {
        reasons.map { reason in
            .with {
                $0.code = reason.code
                $0.text = reason.text
            }
        }
    }

    private static func text(of reasons: [Crm_Matching_V1_SuitabilityReason]) -> String {
        reasons.isEmpty ? "no reason given" : reasons.map { "\($0.code): \($0.text)" }.joined(separator: "; ")
    }

    /// One violation of `order.product_code` per reason, `CODE: text`, so programs read the codes.
    private static func violations(_ reasons: [Crm_Matching_V1_SuitabilityReason], fallback: String) -> [Refusal.Field] {
        guard !reasons.isEmpty else { return [Refusal.Field(field: "order.product_code", description: fallback)] }
        return reasons.map { Refusal.Field(field: "order.product_code", description: "\($0.code): \($0.text)") }
    }
}

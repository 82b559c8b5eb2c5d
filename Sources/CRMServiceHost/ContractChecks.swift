import CRMProtos
import CRMRPC
import SwiftProtobuf

/// The contract-wide request check every service's router applies: the field checks generated
/// from proto/ (no U+0000 in any text, each text within its documented limit, every date a real
/// date), reported with each field's path so the caller sees all that is wrong at once.
public enum ContractChecks {
    public static let requests: Router.RequestCheck = { request in
        guard let checked = request as? any FieldChecked else { return [] }
        return checked.fieldProblems().map { FieldViolation(field: $0.field, description: $0.description) }
    }
}

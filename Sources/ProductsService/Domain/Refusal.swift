import CRMRPC

extension RPCError {
    /// A refusal with any status code that names the field at fault, as INVALID_ARGUMENT does:
    /// message `field: description`, one field violation.
    static func refused(_ code: StatusCode, field: String, _ description: String) -> RPCError {
        RPCError(code, "\(field): \(description)", fieldViolations: [FieldViolation(field: field, description: description)])
    }
}

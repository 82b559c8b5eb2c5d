import CRMPrimitives

/// Domain refusals become statuses here, the one place the runtime maps them: each kind to the
/// status code of the same name, each field to a field violation.
extension Refusal: RPCErrorConvertible {
    public var rpcError: RPCError {
        RPCError(Self.code(kind), message, fieldViolations: fields.map { FieldViolation(field: $0.field, description: $0.description) })
    }

    static func code(_ kind: Kind) -> StatusCode {
        switch kind {
        case .invalidArgument: return .invalidArgument
        case .notFound: return .notFound
        case .alreadyExists: return .alreadyExists
        case .failedPrecondition: return .failedPrecondition
        case .permissionDenied: return .permissionDenied
        case .outOfRange: return .outOfRange
        case .resourceExhausted: return .resourceExhausted
        case .unavailable: return .unavailable
        case .aborted: return .aborted
        case .unauthenticated: return .unauthenticated
        }
    }
}

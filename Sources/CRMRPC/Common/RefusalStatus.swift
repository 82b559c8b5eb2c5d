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

extension RPCError {
    /// The status a handler's error is answered with, when the error says which: an `RPCError` (or
    /// anything that converts to one), a domain refusal, a cancellation. Nil for any other error,
    /// which the server answers INTERNAL after logging it. One mapping for the answer and for the
    /// audit record of the same call.
    static func answering(_ error: any Error) -> RPCError? {
        switch error {
        case let convertible as any RPCErrorConvertible: return convertible.rpcError
        case let convertible as any RefusalConvertible: return convertible.refusal.rpcError
        case is CancellationError: return RPCError(.cancelled, "the call was cancelled")
        default: return nil
        }
    }
}

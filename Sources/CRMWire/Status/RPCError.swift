/// The one error type at the RPC boundary: a status code, a reason for people, and for
/// INVALID_ARGUMENT the fields that are wrong.
///
/// Handlers throw it (or a domain error that is ``RPCErrorConvertible``); the runtime turns it into
/// the call's final status. Clients receive it for every status other than OK.
public struct RPCError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: StatusCode
    public var message: String
    public var fieldViolations: [FieldViolation]

    public init(_ code: StatusCode, _ message: String, fieldViolations: [FieldViolation] = []) {
        self.code = code
        self.message = message
        self.fieldViolations = fieldViolations
    }

    /// INVALID_ARGUMENT naming one field.
    public static func invalidArgument(field: String, _ description: String) -> RPCError {
        RPCError(.invalidArgument, "\(field): \(description)", fieldViolations: [FieldViolation(field: field, description: description)])
    }

    /// INVALID_ARGUMENT naming several fields; the message lists them all.
    public static func invalidArguments(_ violations: [FieldViolation]) -> RPCError {
        let text = violations.map { "\($0.field): \($0.description)" }.joined(separator: "; ")
        return RPCError(.invalidArgument, text, fieldViolations: violations)
    }

    public init(status: WireStatus) {
        self.init(status.code, status.message, fieldViolations: status.fieldViolations)
    }

    /// The wire form of this error.
    public var status: WireStatus {
        var status = WireStatus()
        status.code = code
        status.message = message
        status.fieldViolations = fieldViolations
        return status
    }

    public var description: String {
        var text = "\(code.canonicalName): \(message)"
        if !fieldViolations.isEmpty, !message.contains(fieldViolations[0].field) {
            text += " [" + fieldViolations.map { "\($0.field): \($0.description)" }.joined(separator: "; ") + "]"
        }
        return text
    }
}

/// A domain error that knows its status. Services' errors conform, so handlers throw domain errors
/// and the runtime maps them in one place.
public protocol RPCErrorConvertible: Error {
    var rpcError: RPCError { get }
}

extension RPCError: RPCErrorConvertible {
    public var rpcError: RPCError { self }
}

extension FieldViolation {
    public init(field: String, description: String) {
        self.init()
        self.field = field
        self.description_p = description
    }

    public var description: String { description_p }
}

extension WireStatus {
    public static let ok: WireStatus = {
        var status = WireStatus()
        status.code = .ok
        return status
    }()
}

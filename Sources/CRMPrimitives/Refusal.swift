/// What a service's domain refuses, in the domain's own terms: the kind of refusal, a reason for
/// people, and the request fields at fault. Domain rules throw it without knowing anything of the
/// RPC runtime, which maps each kind to the status of the same name (INVALID_ARGUMENT,
/// FAILED_PRECONDITION, …) and the fields to the status's field violations, in one place.
public struct Refusal: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        case invalidArgument, notFound, alreadyExists, failedPrecondition, permissionDenied
        case outOfRange, resourceExhausted, unavailable, aborted, unauthenticated
    }

    /// One field at fault: its path in the request (`customer.name`, `trades[3].price`) and why.
    public struct Field: Sendable, Hashable {
        public var field: String
        public var description: String

        public init(field: String, description: String) {
            self.field = field
            self.description = description
        }
    }

    public var kind: Kind
    public var message: String
    public var fields: [Field]

    public init(_ kind: Kind, _ message: String, fields: [Field] = []) {
        self.kind = kind
        self.message = message
        self.fields = fields
    }

    /// `kind` naming one field: the message is "field: description".
    public static func refused(_ kind: Kind, field: String, _ description: String) -> Refusal {
        Refusal(kind, "\(field): \(description)", fields: [Field(field: field, description: description)])
    }

    /// INVALID_ARGUMENT naming one field.
    public static func invalidArgument(field: String, _ description: String) -> Refusal {
        refused(.invalidArgument, field: field, description)
    }

    /// INVALID_ARGUMENT naming several fields; the message lists them all.
    public static func invalidArguments(_ fields: [Field]) -> Refusal {
        Refusal(.invalidArgument, fields.map { "\($0.field): \($0.description)" }.joined(separator: "; "), fields: fields)
    }

    /// `kind` naming many fields: the first `limit` are listed and the rest counted ("and N more"),
    /// so a batch with thousands of faults still gets a readable status.
    public static func listing(_ kind: Kind, _ fields: [Field], limit: Int) -> Refusal {
        var listed = Array(fields.prefix(limit))
        if fields.count > limit {
            listed.append(Field(field: "", description: "and \(fields.count - limit) more"))
        }
        let text = listed.map { $0.field.isEmpty ? $0.description : "\($0.field): \($0.description)" }.joined(separator: "; ")
        return Refusal(kind, text, fields: listed)
    }

    public var description: String { "\(kind.rawValue): \(message)" }
}

/// A domain error that knows which refusal it is: the RPC runtime maps it to a status, so handlers
/// neither catch and rethrow nor know the wire's status codes.
public protocol RefusalConvertible: Error {
    var refusal: Refusal { get }
}

extension Refusal: RefusalConvertible {
    public var refusal: Refusal { self }
}

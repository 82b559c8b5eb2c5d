import CompensationSettlement
import CRMPrimitives
import CRMRPC

/// Collects what is wrong with a request, by kind, and throws one status naming every field.
///
/// The status code is that of the most basic kind found: INVALID_ARGUMENT (wrong whatever is stored)
/// before NOT_FOUND (names something that does not exist) before FAILED_PRECONDITION (conflicts with
/// what is stored). Every violation found is listed, up to ``limit``, so a loader fixing a batch sees
/// all its problems at once.
struct Refusals {
    static let limit = 100

    private(set) var invalid: [FieldViolation] = []
    private(set) var notFound: [FieldViolation] = []
    private(set) var conflicts: [FieldViolation] = []

    var isEmpty: Bool { invalid.isEmpty && notFound.isEmpty && conflicts.isEmpty }

    mutating func invalid(_ field: String, _ description: String) { invalid.append(FieldViolation(field: field, description: description)) }
    mutating func notFound(_ field: String, _ description: String) { notFound.append(FieldViolation(field: field, description: description)) }
    mutating func conflict(_ field: String, _ description: String) { conflicts.append(FieldViolation(field: field, description: description)) }

    /// Adds domain violations as invalid input.
    mutating func invalid(_ violations: [SettlementViolation]) {
        for violation in violations { invalid(violation.field, violation.description) }
    }

    /// Throws the status when anything was found.
    func check() throws {
        guard !isEmpty else { return }
        let kind: Refusal.Kind = !invalid.isEmpty ? .invalidArgument : !notFound.isEmpty ? .notFound : .failedPrecondition
        let fields = (invalid + notFound + conflicts).map { Refusal.Field(field: $0.field, description: $0.description) }
        throw Refusal.listing(kind, fields, limit: Self.limit).rpcError
    }
}

extension SettlementError: RefusalConvertible {
    /// The refusal for a domain error: bad input is INVALID_ARGUMENT, the rest (a closed month, a
    /// month not ended, no scheme in force) FAILED_PRECONDITION; each names its fields.
    public var refusal: Refusal {
        let fields = violations.map { Refusal.Field(field: $0.field, description: $0.description) }
        switch self {
        case .invalid: return Refusal.invalidArguments(fields)
        default: return Refusal(.failedPrecondition, description, fields: fields)
        }
    }
}

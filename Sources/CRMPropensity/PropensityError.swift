/// The one error this module throws: a stable code a service maps to an RPC status, and a reason
/// a person can act on.
///
/// The code is a struct over a private enum (as grpc-swift does for status codes) so new cases can
/// be added without breaking callers that switch over the public static values.
public struct PropensityError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, Sendable, Hashable {
            case invalidInput
            case invalidConfiguration
            case malformedModel
            case unsupportedFormat
        }

        private let value: Value

        private init(_ value: Value) { self.value = value }

        /// Data handed to a trainer or scorer does not fit together (shapes, labels, weights, names).
        public static let invalidInput = Code(.invalidInput)
        /// A training configuration is out of its documented range.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// Serialized model bytes are truncated, corrupted or inconsistent.
        public static let malformedModel = Code(.malformedModel)
        /// Serialized bytes are a model of another kind or of a format version this build cannot read.
        public static let unsupportedFormat = Code(.unsupportedFormat)

        public var description: String { value.rawValue }
    }

    public let code: Code
    public let reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "\(code): \(reason)" }
}

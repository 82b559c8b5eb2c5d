import SwiftProtobuf

/// A method of the contract that takes one request and returns one response, as a value the
/// compiler checks: its full name and its request and response types come from the `.proto`
/// files (protoc-gen-crm generates one per `rpc` line), so a misspelt method or a wrong message
/// type is a compile error instead of an UNIMPLEMENTED or a decoding failure at run time.
public struct UnaryMethod<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>: Sendable, Hashable {
    /// `crm.profiles.v1.Profiles`: the proto package and the service name.
    public let service: String
    /// `GetCustomer`, as in the `rpc` line.
    public let name: String

    /// `/crm.profiles.v1.Profiles/GetCustomer`: what travels in `Request.method`. Stored, not
    /// computed: every call sends it, and joining the two strings per call was a measurable share
    /// of the client's work (an allocation and a copy; BENCHMARKS.md, issue 19's RPC section).
    public let path: String

    public init(service: String, name: String) {
        self.service = service
        self.name = name
        self.path = "/\(service)/\(name)"
    }
}

/// A method that takes one request and answers with a stream of responses, then a status.
public struct ServerStreamingMethod<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>: Sendable, Hashable {
    public let service: String
    public let name: String

    /// Stored for the same reason as ``UnaryMethod/path``.
    public let path: String

    public init(service: String, name: String) {
        self.service = service
        self.name = name
        self.path = "/\(service)/\(name)"
    }
}

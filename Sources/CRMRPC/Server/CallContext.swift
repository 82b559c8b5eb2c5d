import Logging
import NIOCore

/// What a handler knows about the call it is answering.
public struct CallContext: Sendable {
    /// The full method name, e.g. `/crm.profiles.v1.Profiles/GetCustomer`.
    public let method: String
    public let callID: UInt64
    /// The authenticated caller; nil only for ``AccessPolicy/open`` methods called without a token.
    public let principal: Principal?
    public let metadata: [MetadataEntry]
    /// When the caller stops waiting; the runtime cancels the handler's task then.
    public let deadline: NIODeadline?
    /// The caller's `request-id`, or one the runtime made up, for logs across services.
    public let requestID: String
    public let remoteAddress: String
    public var logger: Logger

    public init(
        method: String,
        callID: UInt64,
        principal: Principal?,
        metadata: [MetadataEntry],
        deadline: NIODeadline?,
        requestID: String,
        remoteAddress: String,
        logger: Logger
    ) {
        self.method = method
        self.callID = callID
        self.principal = principal
        self.metadata = metadata
        self.deadline = deadline
        self.requestID = requestID
        self.remoteAddress = remoteAddress
        self.logger = logger
    }

    public func metadataValue(_ key: String) -> String? {
        metadata.first { $0.key == key }?.value
    }

    /// The principal, for handlers of authenticated methods (the runtime guarantees one there).
    public func requirePrincipal() throws -> Principal {
        guard let principal else { throw RPCError(.unauthenticated, "this method needs a token") }
        return principal
    }
}

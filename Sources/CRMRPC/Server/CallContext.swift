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
    public let remoteAddress: String
    /// The subject of the client certificate the connection's TLS handshake verified, if any (for
    /// the audit trail: which machine or operator stood behind the principal).
    public let peerCertificateSubject: String?
    /// The service that forwarded this call on behalf of ``principal`` (``ForwardedPrincipal``);
    /// nil for a call made directly.
    public let forwardedBy: Principal?
    private let baseLogger: Logger

    public init(
        method: String,
        callID: UInt64,
        principal: Principal?,
        metadata: [MetadataEntry],
        deadline: NIODeadline?,
        remoteAddress: String,
        peerCertificateSubject: String? = nil,
        forwardedBy: Principal? = nil,
        baseLogger: Logger
    ) {
        self.method = method
        self.callID = callID
        self.principal = principal
        self.metadata = metadata
        self.deadline = deadline
        self.remoteAddress = remoteAddress
        self.peerCertificateSubject = peerCertificateSubject
        self.forwardedBy = forwardedBy
        self.baseLogger = baseLogger
    }

    /// The caller's `request-id`, or one made from the connection and call id, for logs across
    /// services. Computed on demand: most calls never log.
    public var requestID: String {
        metadataValue(MetadataKeys.requestID) ?? "\(remoteAddress)#\(callID)"
    }

    /// A logger carrying the method and request id.
    public var logger: Logger {
        var logger = baseLogger
        logger[metadataKey: "method"] = "\(method)"
        logger[metadataKey: "request-id"] = "\(requestID)"
        return logger
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

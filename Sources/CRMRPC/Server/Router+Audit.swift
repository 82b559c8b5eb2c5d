import Foundation
import SwiftProtobuf

/// How one method's calls are audited: which customers its request names (recorded even when the
/// call fails: a refused look-up is an attempt the trail must show) and which its answer returns.
/// A handler may declare more through ``CallAudit/current`` (streams, aggregates, unmasked reads).
public struct AuditRule<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>: Sendable {
    let request: @Sendable (Request, CallAudit) -> Void
    let response: @Sendable (Request, Response, CallAudit) -> Void

    public init(request: @escaping @Sendable (Request, CallAudit) -> Void = { _, _ in },
                response: @escaping @Sendable (Request, Response, CallAudit) -> Void = { _, _, _ in }) {
        self.request = request
        self.response = response
    }

    /// The customers the request names.
    public static func customers(_ ids: @escaping @Sendable (Request) -> [String]) -> Self {
        Self(request: { request, audit in audit.touched(ids(request)) })
    }

    /// The customers the answer returns.
    public static func returned(_ ids: @escaping @Sendable (Response) -> [String]) -> Self {
        Self(response: { _, response, audit in audit.touched(ids(response)) })
    }

    /// Whatever the handler declares through ``CallAudit/current``.
    public static var declaredByHandler: Self { Self() }
}

extension Router {
    /// The customers a request names by `rule`, from its bytes (none when they do not decode): what
    /// the record of a refused call holds, so "who tried to read C0001318" finds attempts the
    /// runtime turned away too.
    static func requestSubjects<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ rule: AuditRule<Request, Response>
    ) -> @Sendable (Data) -> [String] {
        { payload in
            var options = BinaryDecodingOptions()
            options.messageDepthLimit = 64
            guard let request = try? Request(serializedBytes: payload, options: options) else { return [] }
            let audit = CallAudit()
            rule.request(request, audit)
            return audit.subjects
        }
    }

    /// Registers a unary method whose every call leaves a record in the service's audit trail,
    /// committed before the answer is sent (see ``CallAudit``).
    public mutating func unary<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: UnaryMethod<Request, Response>,
        policy: AccessPolicy,
        audit rule: AuditRule<Request, Response>,
        offEventLoop: Bool = false,
        handler: @escaping @Sendable (Request, CallContext) async throws -> Response
    ) {
        auditedMethods.insert(method.path)
        guard let auditor else {
            unary(method, policy: policy, offEventLoop: offEventLoop, handler: handler)
            return
        }
        refusalSubjects[method.path] = Self.requestSubjects(rule)
        let privacy = masking(Response.self)
        addUnary(method, policy: policy, offEventLoop: offEventLoop, masking: nil) { request, context in
            try await CallAudit.run(auditor: auditor, context: context, before: { rule.request(request, $0) }) {
                // Masked here, inside the audited call, so the record knows whether the answer
                // went out unmasked; the router does not mask it again.
                var response = try await handler(request, context)
                privacy?.mask(&response, for: context.principal)
                return response
            } after: { response, audit in
                rule.response(request, response, audit)
            }
        }
    }

    /// Registers a server-streaming method whose every call leaves a record. The messages stream as
    /// they are made; the record (with what the handler declared while streaming) is committed
    /// before the final status, also when the stream ends early.
    public mutating func serverStreaming<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: ServerStreamingMethod<Request, Response>,
        policy: AccessPolicy,
        audit rule: AuditRule<Request, Response>,
        offEventLoop: Bool = false,
        handler: @escaping @Sendable (Request, ResponseStreamWriter<Response>, CallContext) async throws -> Void
    ) {
        auditedMethods.insert(method.path)
        guard let auditor else {
            serverStreaming(method, policy: policy, offEventLoop: offEventLoop, handler: handler)
            return
        }
        refusalSubjects[method.path] = Self.requestSubjects(rule)
        serverStreaming(method, policy: policy, offEventLoop: offEventLoop) { request, writer, context in
            try await CallAudit.run(auditor: auditor, context: context, before: { rule.request(request, $0) }) {
                try await handler(request, writer, context)
            }
        }
    }
}

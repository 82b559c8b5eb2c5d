import CRMContract
import Foundation
import SwiftProtobuf

/// Describes one method for routing, authorisation and ListMethods.
public struct RPCMethodDescriptor: Sendable, Hashable {
    public let name: String
    public let requestType: String
    public let responseType: String
    public let serverStreaming: Bool
    public let policy: AccessPolicy
    /// Answered while the service is still starting (``ServiceReadiness``): status and progress
    /// methods that read only what is already there. Every other method gets UNAVAILABLE until ready.
    public let servesWhileStarting: Bool
    /// Runs on Swift's global executor instead of the connection's event loop: methods whose work
    /// takes long on the CPU (ranking a million customers, settling a month, evaluating a model).
    /// Handlers otherwise run on the event loop, which saves a thread wake-up per call, but while
    /// one computes there every connection of that loop — the clients' in the same process too —
    /// waits; on a busy machine that was 30 s.
    public let offEventLoop: Bool
}

/// Maps full method names to typed handlers. Services fill one at start-up; the server only reads
/// it afterwards, so it is a plain value shared by every connection.
public struct Router: Sendable {
    /// A type-erased handler: request bytes in, response messages out through the sink, final
    /// response bytes returned (empty for streaming calls).
    struct Method: Sendable {
        let descriptor: RPCMethodDescriptor
        let invoke: @Sendable (Data, CallContext, ResponseSink) async throws -> Data
    }

    private(set) var methods: [String: Method] = [:]

    /// Where audited methods record their calls (the service's audit trail), set by the host before
    /// the service registers its methods; nil records nothing (runtime tests, benchmarks' bare runs).
    public var auditor: (any CallAuditor)?
    /// How personal data in answers is masked by the caller's roles, set by the host before the
    /// service registers its methods; nil masks nothing (runtime tests).
    public var privacy: PrivacyPolicy?
    /// The methods registered with an audit rule (``Router+Audit``), for ListMethods-like tables and tests.
    public internal(set) var auditedMethods: Set<String> = []
    /// For each audited method (when there is an auditor): the customers a request's bytes name,
    /// by the method's audit rule, for the record of a call the runtime refuses before it runs.
    var refusalSubjects: [String: @Sendable (Data) -> [String]] = [:]

    /// Checks every decoded request before its handler runs; what it finds is answered
    /// INVALID_ARGUMENT with those fields, and the handler never sees the request.
    public typealias RequestCheck = @Sendable (any SwiftProtobuf.Message) -> [FieldViolation]

    /// The contract-wide check (text and dates, generated from proto/), given by the host; the
    /// methods registered after it is set apply it.
    private let requestCheck: RequestCheck?

    public init(requestCheck: RequestCheck? = nil, auditor: (any CallAuditor)? = nil) {
        self.requestCheck = requestCheck
        self.auditor = auditor
    }

    /// Registers a unary method (a descriptor generated from the `.proto` file): one request, one
    /// response.
    public mutating func unary<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: UnaryMethod<Request, Response>,
        policy: AccessPolicy,
        servesWhileStarting: Bool = false,
        offEventLoop: Bool = false,
        handler: @escaping @Sendable (Request, CallContext) async throws -> Response
    ) {
        addUnary(method, policy: policy, servesWhileStarting: servesWhileStarting, offEventLoop: offEventLoop,
                 masking: masking(Response.self), handler: handler)
    }

    /// The policy answers of type `Response` are masked with: nil when the message holds no
    /// personal data, decided once when the method is registered, so its calls pay nothing.
    func masking<Response: SwiftProtobuf.Message>(_ type: Response.Type) -> PrivacyPolicy? {
        Response.self is any PersonalDataMaskable.Type ? privacy : nil
    }

    /// Registers a unary method whose answers `privacy` masks (nil: answered as the handler built them).
    mutating func addUnary<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: UnaryMethod<Request, Response>,
        policy: AccessPolicy,
        servesWhileStarting: Bool = false,
        offEventLoop: Bool,
        masking privacy: PrivacyPolicy?,
        handler: @escaping @Sendable (Request, CallContext) async throws -> Response
    ) {
        let name = method.path
        let descriptor = RPCMethodDescriptor(
            name: name,
            requestType: Request.protoMessageName,
            responseType: Response.protoMessageName,
            serverStreaming: false,
            policy: policy,
            servesWhileStarting: servesWhileStarting,
            offEventLoop: offEventLoop
        )
        let check = requestCheck
        add(Method(descriptor: descriptor) { payload, context, _ in
            let request = try Self.decode(Request.self, payload, method: name, check: check)
            var response = try await handler(request, context)
            privacy?.mask(&response, for: context.principal)
            return try response.serializedData()
        })
    }

    /// Registers a server-streaming method: one request, any number of responses, then the status.
    public mutating func serverStreaming<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: ServerStreamingMethod<Request, Response>,
        policy: AccessPolicy,
        servesWhileStarting: Bool = false,
        offEventLoop: Bool = false,
        handler: @escaping @Sendable (Request, ResponseStreamWriter<Response>, CallContext) async throws -> Void
    ) {
        let name = method.path
        let descriptor = RPCMethodDescriptor(
            name: name,
            requestType: Request.protoMessageName,
            responseType: Response.protoMessageName,
            serverStreaming: true,
            policy: policy,
            servesWhileStarting: servesWhileStarting,
            offEventLoop: offEventLoop
        )
        let check = requestCheck
        let privacy = masking(Response.self)
        add(Method(descriptor: descriptor) { payload, context, sink in
            let request = try Self.decode(Request.self, payload, method: name, check: check)
            var writer = ResponseStreamWriter<Response>(sink: sink)
            if let privacy {
                let visible = privacy.visible(for: context.principal)
                writer.mask = { @Sendable (message: inout Response) in privacy.mask(&message, visible: visible) }
            }
            try await handler(request, writer, context)
            return Data()
        })
    }

    /// What an interceptor does with one call of a unary method: answer it itself (forward it
    /// elsewhere, split it, fan it out) or pass it — or a request of its own — to `next`, the
    /// method as registered (decoding, checks, audit, masking and handler). Request and response
    /// are the encoded messages.
    public typealias UnaryInterceptor = @Sendable (
        _ payload: Data, _ context: CallContext, _ next: @escaping @Sendable (Data, CallContext) async throws -> Data
    ) async throws -> Data

    /// Puts `interceptor` in front of the registered unary method `path`: how a partitioned
    /// profiles process routes a customer's call to the process owning it without its handlers
    /// knowing. Interceptors added later run first.
    public mutating func intercept(_ path: String, _ interceptor: @escaping UnaryInterceptor) {
        guard let method = methods[path] else { preconditionFailure("intercepting \(path), which is not registered") }
        precondition(!method.descriptor.serverStreaming, "\(path) is server-streaming: only unary methods are intercepted")
        let inner = method.invoke
        methods[path] = Method(descriptor: method.descriptor) { payload, context, sink in
            try await interceptor(payload, context) { request, callContext in try await inner(request, callContext, sink) }
        }
    }

    /// Runs `check` on the context of every call of every method registered so far, before the
    /// method (its decoding, checks, audit and handler): a refusal that depends on how a call was
    /// asked, whichever method it is (a matching replica refusing a part asked for another
    /// layout of the groups). Register every method first.
    public mutating func precede(every check: @escaping @Sendable (CallContext) throws -> Void) {
        for (path, method) in methods {
            let inner = method.invoke
            methods[path] = Method(descriptor: method.descriptor) { payload, context, sink in
                try check(context)
                return try await inner(payload, context, sink)
            }
        }
    }

    /// What a streaming interceptor does with one call of a server-streaming method: send the
    /// encoded messages itself through `sink` (merged from other processes' streams, say), or pass
    /// the call — or a request of its own, with a sink of its own — to `next`, the method as
    /// registered (decoding, checks, audit, masking and handler).
    public typealias StreamingInterceptor = @Sendable (
        _ payload: Data, _ context: CallContext, _ sink: ResponseSink,
        _ next: @escaping @Sendable (Data, CallContext, ResponseSink) async throws -> Void
    ) async throws -> Void

    /// Puts `interceptor` in front of the registered server-streaming method `path`: how a
    /// partitioned profiles process answers a stream across customers with every owner's part.
    public mutating func intercept(streaming path: String, _ interceptor: @escaping StreamingInterceptor) {
        guard let method = methods[path] else { preconditionFailure("intercepting \(path), which is not registered") }
        precondition(method.descriptor.serverStreaming, "\(path) is unary: intercept it with intercept(_:_:)")
        let inner = method.invoke
        methods[path] = Method(descriptor: method.descriptor) { payload, context, sink in
            try await interceptor(payload, context, sink) { request, callContext, innerSink in _ = try await inner(request, callContext, innerSink) }
            return Data()
        }
    }

    /// An empty router with this one's request check, auditor and privacy policy: what a service
    /// holding several stores of one kind (a profiles process with a file per partition) registers
    /// each store's handlers into, so that a call dispatched to one of them
    /// (``invoke(_:payload:context:sink:)``) is decoded, checked, audited and masked as if it had
    /// been registered here.
    public func sibling() -> Router {
        var sibling = Router(requestCheck: requestCheck, auditor: auditor)
        sibling.privacy = privacy
        return sibling
    }

    /// Runs the method `path` as registered (decoding, checks, audit, masking, handler) on an
    /// encoded request, in this process: the caller has already authenticated and authorised the
    /// call. Server-streaming methods send through `sink` and return empty bytes.
    public func invoke(_ path: String, payload: Data, context: CallContext, sink: ResponseSink) async throws -> Data {
        guard let method = methods[path] else { throw RPCError(.unimplemented, "method \(path) is not implemented here") }
        return try await method.invoke(payload, context, sink)
    }

    /// Registers the method `path` of `sibling` (a router made by ``sibling()``) answered by
    /// `invoke`: how a dispatching front takes every method of its stores' routers without
    /// handlers of its own. The method keeps its descriptor (policy, readiness, event-loop choice)
    /// and its audit rule for calls the runtime refuses before they run. `invoke` gets the encoded
    /// request and returns the encoded response (a streaming one sends through the sink and
    /// returns empty bytes).
    public mutating func dispatch(
        _ path: String, of sibling: Router, to invoke: @escaping @Sendable (Data, CallContext, ResponseSink) async throws -> Data
    ) {
        guard let method = sibling.methods[path] else { preconditionFailure("dispatching \(path), which the sibling does not register") }
        add(Method(descriptor: method.descriptor, invoke: invoke))
        if sibling.auditedMethods.contains(path) { auditedMethods.insert(path) }
        if let subjects = sibling.refusalSubjects[path] { refusalSubjects[path] = subjects }
    }

    public var descriptors: [RPCMethodDescriptor] {
        methods.values.map(\.descriptor).sorted { $0.name < $1.name }
    }

    func method(named name: String) -> Method? {
        methods[name]
    }

    private mutating func add(_ method: Method) {
        precondition(methods[method.descriptor.name] == nil, "method \(method.descriptor.name) registered twice")
        precondition(method.descriptor.name.hasPrefix("/") && method.descriptor.name.dropFirst().contains("/"),
                     "method name \(method.descriptor.name) must look like /package.Service/Method")
        methods[method.descriptor.name] = method
    }

    private static func decode<Request: SwiftProtobuf.Message>(_ type: Request.Type, _ payload: Data, method: String,
                                                              check: RequestCheck?) throws -> Request {
        let request: Request
        do {
            var options = BinaryDecodingOptions()
            options.messageDepthLimit = 64
            request = try Request(serializedBytes: payload, options: options)
        } catch {
            throw RPCError.invalidArgument(
                field: "payload",
                "does not decode as \(Request.protoMessageName), the request of \(method): \(error)"
            )
        }
        if let check {
            let violations = check(request)
            if !violations.isEmpty { throw RPCError.invalidArguments(violations) }
        }
        return request
    }
}

import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// The client's one connection to one endpoint, reused by every call and re-made when lost.
///
/// Connecting is lazy (on the first call that needs it). A failed connect puts the endpoint in
/// backoff — ejected from round robin — for a time that doubles with each failure; a lost
/// connection or a server's GoAway makes the next call connect again.
final class EndpointConnection: Sendable {
    struct Ready: Sendable {
        let channel: any Channel
        let handler: NIOLoopBound<ClientConnectionHandler>
        let generation: Int
        /// The connection's streamed bytes not yet taken, when the client bounds them.
        let backlog: StreamBacklog?
    }

    private enum State {
        case idle(failures: Int)
        case connecting(EventLoopFuture<Ready>)
        case ready(Ready)
        case backoff(until: NIODeadline, failures: Int, lastError: String)
        case closed
    }

    let endpoint: Endpoint
    private let group: any EventLoopGroup
    private let configuration: ClientConfiguration
    private let logger: Logger
    private let state = NIOLockedValueBox<(state: State, generation: Int)>((.idle(failures: 0), 0))

    init(endpoint: Endpoint, group: any EventLoopGroup, configuration: ClientConfiguration, logger: Logger) {
        self.endpoint = endpoint
        self.group = group
        self.configuration = configuration
        self.logger = logger
    }

    /// When the endpoint is in backoff, the moment it may be tried again.
    var ejectedUntil: NIODeadline? {
        state.withLockedValue { value in
            if case let .backoff(until, _, _) = value.state, until > .now() { return until }
            return nil
        }
    }

    /// The current connection's streamed bytes not yet taken (nil when unbounded or not connected).
    var backlog: StreamBacklog? {
        state.withLockedValue { value in
            if case let .ready(ready) = value.state { return ready.backlog }
            return nil
        }
    }

    /// A ready connection, connecting first if needed. Throws UNAVAILABLE while in backoff or when
    /// the connect fails.
    func ready() async throws -> Ready {
        enum Next {
            case use(Ready)
            case wait(EventLoopFuture<Ready>)
            case fail(RPCError)
        }
        let next: Next = state.withLockedValue { value in
            switch value.state {
            case let .ready(ready):
                return .use(ready)
            case let .connecting(future):
                return .wait(future)
            case let .backoff(until, failures, lastError):
                if until > .now() {
                    return .fail(RPCError(.unavailable, "\(endpoint) is unreachable (\(lastError)); retrying after backoff"))
                }
                value.generation += 1
                let future = connect(failures: failures, generation: value.generation)
                value.state = .connecting(future)
                return .wait(future)
            case let .idle(failures):
                value.generation += 1
                let future = connect(failures: failures, generation: value.generation)
                value.state = .connecting(future)
                return .wait(future)
            case .closed:
                return .fail(RPCError(.unavailable, "the client was closed"))
            }
        }
        switch next {
        case let .use(ready): return ready
        case let .wait(future): return try await future.get()
        case let .fail(error): throw error
        }
    }

    func close() async {
        let channel: (any Channel)? = state.withLockedValue { value in
            defer { value.state = .closed }
            if case let .ready(ready) = value.state { return ready.channel }
            return nil
        }
        try? await channel?.close()
    }

    private func connect(failures: Int, generation: Int) -> EventLoopFuture<Ready> {
        let endpoint = self.endpoint
        let logger = self.logger
        let limits = configuration.limits
        let tls = configuration.security.tlsContext
        let onGoAway: @Sendable () -> Void = { [weak self] in self?.connectionEnded(generation: generation) }
        let holds = configuration.metrics?.streamReadsHeld
        let backlog = configuration.streamBacklogLimit.map { StreamBacklog(limit: $0, holds: holds) }
        if case .plaintext(onNetwork: false) = configuration.security, !TLSProtocol.isLoopback(endpoint.host) {
            let error = ConnectRefused(error: RPCError(.failedPrecondition, "refusing plaintext to \(endpoint), which is not a loopback address: configure TLS"))
            let future: EventLoopFuture<Ready> = group.next().makeFailedFuture(error)
            future.whenFailure { [weak self] in self?.connectFailed($0, failures: failures + 1, generation: generation) }
            return future
        }
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        // IP addresses are checked against the certificate's IP names and never sent as SNI.
                        let serverName = TLSProtocol.isIPAddress(endpoint.host) ? nil : endpoint.host
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls.current, serverHostname: serverName))
                        let handshake = channel.eventLoop.makePromise(of: Void.self)
                        try channel.pipeline.syncOperations.addHandler(TLSClientHandshakeHandler(endpoint: endpoint, done: handshake))
                    }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(limits: limits)))
                    try channel.pipeline.syncOperations.addHandler(ClientConnectionHandler(endpoint: endpoint, logger: logger, backlog: backlog, onGoAway: onGoAway))
                }
            }
        let future = bootstrap.connect(host: endpoint.host, port: endpoint.port).flatMap { channel in
            channel.eventLoop.makeCompletedFuture {
                let handler = try channel.pipeline.syncOperations.handler(type: ClientConnectionHandler.self)
                let ready = Ready(channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop), generation: generation,
                                  backlog: backlog)
                // With TLS the connection is made once the handshake is: a refused certificate fails the connect.
                guard let waiter = try? channel.pipeline.syncOperations.handler(type: TLSClientHandshakeHandler.self) else {
                    return channel.eventLoop.makeSucceededFuture(ready)
                }
                return waiter.handshakeDone.map { ready }.flatMapErrorThrowing { error in
                    channel.close(promise: nil)
                    throw (error as? RPCError).map { ConnectRefused(error: $0) } ?? error
                }
            }.flatMap { $0 }
        }
        future.whenComplete { [weak self] result in
            guard let self else { return }
            switch result {
            case let .success(ready):
                self.connected(ready)
            case let .failure(error):
                self.connectFailed(error, failures: failures + 1, generation: generation)
            }
        }
        return future
    }

    private func connected(_ ready: Ready) {
        let keep = state.withLockedValue { value -> Bool in
            guard value.generation == ready.generation, case .connecting = value.state else { return false }
            value.state = .ready(ready)
            return true
        }
        guard keep else {
            ready.channel.close(promise: nil)
            return
        }
        logger.debug("connected", metadata: ["endpoint": "\(endpoint)"])
        ready.channel.closeFuture.whenComplete { [weak self] _ in
            self?.connectionEnded(generation: ready.generation)
        }
    }

    private func connectFailed(_ error: any Error, failures: Int, generation: Int) {
        let wait = backoff(afterFailures: failures)
        state.withLockedValue { value in
            guard value.generation == generation, case .connecting = value.state else { return }
            value.state = .backoff(until: .now() + wait, failures: failures, lastError: "\(error)")
        }
        let metadata: Logger.Metadata = ["endpoint": "\(endpoint)", "error": "\(error)", "backoff-ms": "\(wait.nanoseconds / 1_000_000)"]
        if error is ConnectRefused {
            // A refused certificate or plaintext towards the network is a configuration problem, not a
            // passing outage: one line each time.
            logger.warning("connect refused; backing off", metadata: metadata)
        } else {
            logger.debug("connect failed; backing off", metadata: metadata)
        }
    }

    /// The connection of `generation` closed or is going away: the next call connects anew.
    private func connectionEnded(generation: Int) {
        state.withLockedValue { value in
            guard value.generation == generation, case .ready = value.state else { return }
            value.state = .idle(failures: 0)
        }
    }

    private func backoff(afterFailures failures: Int) -> TimeAmount {
        let initial = configuration.initialBackoff.nanoseconds
        let maximum = configuration.maximumBackoff.nanoseconds
        let exponent = min(failures - 1, 20)
        return .nanoseconds(min(maximum, initial << Int64(max(exponent, 0))))
    }
}

import CRMRPC
import CRMTestSupport
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// A TLS server of ``TestService`` with certificates of its own: the CA, the server's certificate
/// and what a test issues on top (client certificates, expired or foreign ones).
struct TLSFixture {
    let pki: TestPKI
    let server: TestPKI.Issued
    let serverTLS: ServerTLSContext

    init() throws {
        pki = try TestPKI(directory: TestPKI.temporaryDirectory())
        server = try pki.issue("server")
        serverTLS = try ServerTLSContext(pki.serverFiles(server))
    }

    /// A client trusting this CA, presenting `certificate` if given.
    func security(_ certificate: TestPKI.Issued? = nil) throws -> ClientSecurity {
        .tls(try ClientTLSContext(pki.clientFiles(certificate)))
    }

    func start(_ service: TestService = TestService(), logger: Logger = Logger(label: "crm.rpc.server"),
               credentials: ServerCredentials = ServerCredentials(tokens: TestTokens.authenticator)) async throws -> (RPCServer, Int) {
        try await service.start(RPCServerConfiguration(security: .tls(serverTLS)), logger: logger, credentials: credentials)
    }

    func remove() {
        try? FileManager.default.removeItem(at: pki.directory)
    }
}

/// A TLS peer that speaks frames by hand, to keep one connection open across a reload and to read
/// what the handshake settled (ALPN, the server's certificate).
struct TLSPeer {
    let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
    let negotiatedProtocol: String?
    /// The serial number of the certificate the server presented.
    let serverSerial: [UInt8]

    /// Records the handshake's outcome for ``connect(port:files:)``.
    private final class HandshakeRecorder: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        typealias InboundOut = ByteBuffer
        let done: EventLoopPromise<String?>
        private var finished = false

        init(done: EventLoopPromise<String?>) { self.done = done }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case let TLSUserEvent.handshakeCompleted(negotiatedProtocol) = event { finish(.success(negotiatedProtocol)) }
            context.fireUserInboundEventTriggered(event)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            finish(.failure(error))
            context.fireErrorCaught(error)
        }

        func channelInactive(context: ChannelHandlerContext) {
            finish(.failure(ChannelError.eof))
            context.fireChannelInactive()
        }

        private func finish(_ result: Result<String?, any Error>) {
            guard !finished else { return }
            finished = true
            done.completeWith(result)
        }
    }

    static func connect(port: Int, files: TLSFiles) async throws -> TLSPeer {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv13
        configuration.applicationProtocols = [TLSProtocol.alpn]
        configuration.trustRoots = .file(files.trustRoots)
        let context = try NIOSSLContext(configuration: configuration)
        let (channel, handshake) = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let done = channel.eventLoop.makePromise(of: String?.self)
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: nil))
                    try channel.pipeline.syncOperations.addHandler(HandshakeRecorder(done: done))
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
                    return (try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel), done.futureResult)
                }
            }
        let negotiated = try await handshake.get()
        let serial = try await channel.channel.eventLoop.submit {
            try channel.channel.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self).peerCertificate?.serialNumber ?? []
        }.get()
        return TLSPeer(channel: channel, negotiatedProtocol: negotiated, serverSerial: serial)
    }
}

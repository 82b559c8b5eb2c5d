import CRMRPC
import CRMTestSupport
import Foundation
import Logging
import NIOCore

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

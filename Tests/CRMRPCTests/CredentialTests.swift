@testable import CRMRPC
import CRMTestSupport
import Foundation
import NIOCore
import Testing

/// Who a call runs as over TLS — a client certificate's principal, a token's, which wins — token
/// expiry, per-principal rate limits, and credentials and certificates replaced while connections
/// stay open.
@Suite struct CredentialTests {
    static let opsURI = "spiffe://crm-test/ops"
    static let opsByCertificate = CertificatePrincipals(entries: [
        .init(subjectAlternativeName: "URI:\(opsURI)", principal: Principal(name: "ops-certificate", roles: ["ops"])),
    ])

    @Test func aClientCertificateRunsAsItsMappedPrincipalAndATokenWins() async throws {
        let fixture = try TLSFixture()
        defer { fixture.remove() }
        let (server, port) = try await fixture.start(credentials: ServerCredentials(tokens: TestTokens.authenticator, certificates: Self.opsByCertificate))
        let opsCertificate = try fixture.pki.issue("ops-client", uris: [Self.opsURI])
        let opsOnly = TestMethods.opsOnly

        // No token: the certificate's principal.
        let byCertificate = client(ports: [port], token: nil, security: try fixture.security(opsCertificate))
        #expect(try await byCertificate.unary(opsOnly, Bench()).customerID == "ops-certificate")
        // A token on the same kind of connection decides instead: caller lacks the ops role.
        let withToken = client(ports: [port], token: TestTokens.caller, security: try fixture.security(opsCertificate))
        #expect(await statusOf { _ = try await withToken.unary(opsOnly, Bench()) }?.code == .permissionDenied)
        // A bad token is refused, not replaced by the certificate.
        let badToken = client(ports: [port], token: "not-a-token", security: try fixture.security(opsCertificate))
        #expect(await statusOf { _ = try await badToken.unary(opsOnly, Bench()) }?.code == .unauthenticated)
        // A trusted certificate whose names are not configured authenticates nobody.
        let unmapped = client(ports: [port], token: nil, security: try fixture.security(try fixture.pki.issue("someone", uris: ["spiffe://crm-test/someone"])))
        let refusal = await statusOf { _ = try await unmapped.unary(opsOnly, Bench()) }
        #expect(refusal?.code == .unauthenticated)
        #expect(refusal?.message.contains("URI:spiffe://crm-test/someone") == true, "\(String(describing: refusal))")
        // No certificate, no token.
        let anonymous = client(ports: [port], token: nil, security: try fixture.security())
        #expect(await statusOf { _ = try await anonymous.unary(opsOnly, Bench()) }?.code == .unauthenticated)

        for rpc in [byCertificate, withToken, badToken, unmapped, anonymous] { await rpc.close() }
        await server.shutdown()
    }

    @Test func anExpiredTokenIsUnauthenticatedAndSaysSo() async throws {
        let yesterday = Date() - 86_400
        let credentials = ServerCredentials(tokens: TokenAuthenticator(entries: [
            .init(sha256: TokenAuthenticator.hash(token: "old"), principal: Principal(name: "caller", roles: ["caller"]), notAfter: yesterday),
            .init(sha256: TokenAuthenticator.hash(token: "current"), principal: Principal(name: "caller", roles: ["caller"]), notAfter: Date() + 86_400),
        ]))
        let (server, port) = try await TestService().start(credentials: credentials)
        let old = client(ports: [port], token: "old")
        let refusal = await statusOf { _ = try await old.unary(TestMethods.echo, Bench()) }
        #expect(refusal?.code == .unauthenticated)
        #expect(refusal?.message.hasPrefix("token expired at ") == true, "\(String(describing: refusal))")
        let current = client(ports: [port], token: "current")
        #expect(try await current.unary(TestMethods.echo, Bench.with { $0.value = 2 }).value == 4)
        await old.close()
        await current.close()
        await server.shutdown()
    }

    @Test func notAfterIsReadFromTheConfigurationAsAnRFC3339Time() throws {
        let json = #"{"sha256": "AB", "principal": {"name": "p", "roles": ["r"], "attributes": {}}, "notAfter": "2027-01-31T00:00:00Z"}"#
        let entry = try JSONDecoder().decode(TokenAuthenticator.Entry.self, from: Data(json.utf8))
        #expect(entry.sha256 == "ab")
        #expect(entry.notAfter == Date(timeIntervalSince1970: 1_801_353_600))
        let bad = #"{"sha256": "ab", "principal": {"name": "p", "roles": [], "attributes": {}}, "notAfter": "next year"}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(TokenAuthenticator.Entry.self, from: Data(bad.utf8)) }
    }

    @Test func aPrincipalOverItsRateIsRefusedWhileOthersCarryOn() async throws {
        // A rate so low that no refill can happen during the test, however slow the machine.
        let limits = RateLimits(principals: ["caller": .init(callsPerSecond: 0.001, burst: 3)])
        let (server, port) = try await TestService().start(credentials: ServerCredentials(tokens: TestTokens.authenticator, rateLimits: limits))
        let runaway = client(ports: [port], token: TestTokens.caller)
        let other = client(ports: [port], token: TestTokens.ops)
        for value in 1...3 {
            #expect(try await runaway.unary(TestMethods.echo, Bench.with { $0.value = Int64(value) }).value == Int64(value) * 2)
        }
        let refusal = await statusOf { _ = try await runaway.unary(TestMethods.echo, Bench()) }
        #expect(refusal?.code == .resourceExhausted)
        #expect(refusal?.message == "caller exceeded its rate limit of 0.001 calls per second; retry later")
        // Another connection of the same principal shares its budget; another principal has its own.
        let second = client(ports: [port], token: TestTokens.caller)
        #expect(await statusOf { _ = try await second.unary(TestMethods.echo, Bench()) }?.code == .resourceExhausted)
        #expect(try await other.unary(TestMethods.opsOnly, Bench()).customerID == "ops")
        // Health is never limited.
        _ = try await runaway.unary(Crm_Rpc_V1_Health.check, HealthCheckRequest())
        for rpc in [runaway, other, second] { await rpc.close() }
        await server.shutdown()
    }

    @Test func theBucketRefillsAtItsRate() {
        let limit = RateLimits.Limit(callsPerSecond: 2, burst: 2)
        let limiter = PrincipalRateLimiter()
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        func admit(_ at: NIODeadline) -> Bool { limiter.admit("p", limit: limit, now: at) }
        #expect(admit(start) && admit(start))
        #expect(!admit(start))
        #expect(!admit(start + .milliseconds(400)))
        #expect(admit(start + .milliseconds(500)))
        // Never more than the burst, however long the quiet spell.
        #expect(admit(start + .seconds(10)) && admit(start + .seconds(10)))
        #expect(!admit(start + .seconds(10)))
        #expect(limiter.admit("q", limit: limit, now: start + .seconds(10)))
    }

    @Test func reloadingReplacesTokensAndCertificatesWithoutDroppingOpenConnections() async throws {
        let fixture = try TLSFixture()
        defer { fixture.remove() }
        let (server, port) = try await fixture.start()
        let peer = try await TLSFramePeer.connect(port: port, trustRoots: fixture.pki.ca.certificate)
        let before = peer.serverSerial
        try await peer.channel.executeThenClose { inbound, outbound in
            var answers = inbound.makeAsyncIterator()
            func call(_ id: UInt64, token: String) async throws -> Envelope? {
                try await outbound.write(RawPeer.frame(RawPeer.request(id, "/crm.test.v1.Test/Echo", Bench.with { $0.value = 1 }, token: token)))
                return try await answers.next().map { try Envelope(frameBody: $0) }
            }
            #expect(try await call(1, token: TestTokens.caller)?.response.status.code == .ok)

            // New files at the same paths, and a new token table: the caller's token is gone.
            _ = try fixture.pki.issue("server")
            try fixture.serverTLS.reload()
            server.reload(credentials: ServerCredentials(tokens: TokenAuthenticator(entries: [
                .init(sha256: TokenAuthenticator.hash(token: "rotated"), principal: Principal(name: "caller", roles: ["caller"])),
            ])))

            // The open connection carries on, under the new tokens.
            #expect(try await call(2, token: "rotated")?.response.status.code == .ok)
            let old = try await call(3, token: TestTokens.caller)
            #expect(old?.response.status.code == .unauthenticated)
            #expect(old?.response.status.message == "unknown token")
        }
        // A new connection gets the new certificate.
        let fresh = try await TLSFramePeer.connect(port: port, trustRoots: fixture.pki.ca.certificate)
        #expect(fresh.serverSerial != before)
        try await fresh.close()

        // A reload from a file that is not a certificate fails and changes nothing.
        try "not a certificate".write(toFile: fixture.server.certificate, atomically: true, encoding: .utf8)
        #expect(throws: TLSConfigurationError.self) { try fixture.serverTLS.reload() }
        let still = try await TLSFramePeer.connect(port: port, trustRoots: fixture.pki.ca.certificate)
        #expect(still.serverSerial == fresh.serverSerial)
        try await still.close()
        await server.shutdown()
    }
}

import CRMRPC
import Testing

/// Bearer tokens, roles and the open health methods.
@Suite struct AuthTests {
    private func code(_ call: () async throws -> Void) async -> StatusCode {
        do {
            try await call()
            return .ok
        } catch let error as RPCError {
            return error.code
        } catch {
            return .unknown
        }
    }

    @Test func tokensAndRolesDecideWhoMayCall() async throws {
        let (server, port) = try await TestService().start()
        let anonymous = client(ports: [port], token: nil)
        let stranger = client(ports: [port], token: "not-a-configured-token")
        let caller = client(ports: [port], token: TestTokens.caller)
        let ops = client(ports: [port], token: TestTokens.ops)
        let admin = client(ports: [port], token: TestTokens.admin)
        let opsOnly = TestMethods.opsOnly

        #expect(await code { _ = try await anonymous.unary(opsOnly, Bench()) } == .unauthenticated)
        #expect(await code { _ = try await stranger.unary(opsOnly, Bench()) } == .unauthenticated)
        #expect(await code { _ = try await caller.unary(opsOnly, Bench()) } == .permissionDenied)
        #expect(await code { _ = try await ops.unary(opsOnly, Bench()) } == .ok)
        #expect(await code { _ = try await admin.unary(opsOnly, Bench()) } == .ok)
        #expect(try await ops.unary(opsOnly, Bench()).customerID == "ops")

        // A malformed authorization value is refused like a missing one.
        let malformed = RPCClient(configuration: ClientConfiguration(endpoints: [Endpoint(host: "127.0.0.1", port: port)], security: TestTLS.client))
        let options = CallOptions(metadata: [MetadataEntry("authorization", "Basic b3BzOm9wcw==")])
        #expect(await code { _ = try await malformed.unary(opsOnly, Bench(), options: options) } == .unauthenticated)

        // Authentication comes before the payload is even looked at.
        #expect(await code { _ = try await anonymous.unaryRaw(opsOnly.path, payload: .init([0x0A, 0x09])) } == .unauthenticated)

        // Health and the method list need no token.
        let health = try await anonymous.unary(Crm_Rpc_V1_Health.check, HealthCheckRequest())
        #expect(health.status == .serving)
        let methods = try await anonymous.unary(Crm_Rpc_V1_Health.listMethods, ListMethodsRequest())
        let listed = methods.methods.first { $0.name == opsOnly.path }
        #expect(listed?.allowedRoles == ["ops"])
        #expect(listed?.requiresAuthentication == true)
        #expect(methods.methods.first { $0.name == "/crm.rpc.v1.Health/Check" }?.requiresAuthentication == false)

        for rpc in [anonymous, stranger, caller, ops, admin, malformed] { await rpc.close() }
        await server.shutdown()
    }

    @Test func onlyHashesOfTokensAreHeld() {
        // SHA-256 of "abc", the FIPS 180-2 test vector.
        #expect(TokenAuthenticator.hash(token: "abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}

import CRMProtos
import CRMRPC
import CRMTestSupport
import Foundation
import NIOCore
import Testing

/// SIGHUP on a real executable: new certificates for new connections, new tokens for every call,
/// and the connection opened before it still answering; a reload that cannot read its files keeps
/// the configuration in force.
@Suite(.serialized) struct ReloadTests {
    static let getCustomer = "/crm.profiles.v1.Profiles/GetCustomer"

    /// The development configuration of profiles with `tokens` instead of its own.
    private func writeConfig(_ path: URL, tokens: [[String: Any]]) throws {
        let source = ServiceProcess.packageRoot.appendingPathComponent("services/profiles/config.json")
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: source)) as? [String: Any] ?? [:]
        object["tokens"] = tokens
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted]).write(to: path, options: .atomic)
    }

    private func token(_ token: String, notAfter: String? = nil) -> [String: Any] {
        var entry: [String: Any] = [
            "sha256": TokenAuthenticator.hash(token: token),
            "principal": ["name": "ops-\(token)", "roles": ["admin"], "attributes": [String: String]()],
        ]
        if let notAfter { entry["notAfter"] = notAfter }
        return entry
    }

    /// Sends one GetCustomer on `peer`'s connection and returns the status it ends with.
    private func call(_ outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>, _ answers: inout NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator,
                      id: UInt64, token: String) async throws -> WireStatus? {
        let request = try Crm_Profiles_V1_GetCustomerRequest.with { $0.customerID = "C404" }.serializedData()
        try await outbound.write(TLSFramePeer.request(id, Self.getCustomer, token: token, payload: request))
        return try await answers.next().map { try Envelope(frameBody: $0) }?.response.status
    }

    @Test func sigHupReloadsCertificatesAndTokensWithoutDroppingConnections() async throws {
        let workDir = FileManager.default.temporaryDirectory.appendingPathComponent("crm-reload-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: workDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: workDir) }
        let config = workDir.appendingPathComponent("profiles.json")
        try writeConfig(config, tokens: [token("first")])
        let profiles = ServiceProcess(service: "profiles", workDir: workDir)
        defer { profiles.terminate() }
        try await profiles.start(config: config)
        let certs = workDir.appendingPathComponent("certs")
        let ca = certs.appendingPathComponent("ca.crt").path

        let peer = try await TLSFramePeer.connect(port: profiles.port, trustRoots: ca)
        #expect(peer.negotiatedProtocol == "crm/1")
        let before = peer.serverSerial
        try await peer.channel.executeThenClose { inbound, outbound in
            var answers = inbound.makeAsyncIterator()
            #expect(try await call(outbound, &answers, id: 1, token: "first")?.code == .notFound)
            #expect(try await call(outbound, &answers, id: 2, token: "second")?.code == .unauthenticated)

            // Rotate: another certificate of the same CA at profiles' paths, "first" expired, "second" new.
            for suffix in ["crt", "key"] {
                let target = certs.appendingPathComponent("profiles.\(suffix)")
                try FileManager.default.removeItem(at: target)
                try FileManager.default.copyItem(at: certs.appendingPathComponent("products.\(suffix)"), to: target)
            }
            try writeConfig(config, tokens: [token("first", notAfter: "2020-01-01T00:00:00Z"), token("second")])
            profiles.hangUp()
            try await waitUntil {
                let probe = try await TLSFramePeer.connect(port: profiles.port, trustRoots: ca)
                try await probe.close()
                return probe.serverSerial != before
            }

            // The connection opened before the reload still answers, under the new tokens.
            let expired = try await call(outbound, &answers, id: 3, token: "first")
            #expect(expired?.code == .unauthenticated)
            #expect(expired?.message == "token expired at 2020-01-01T00:00:00Z")
            #expect(try await call(outbound, &answers, id: 4, token: "second")?.code == .notFound)
        }

        // A reload that cannot read its certificate says so and leaves everything as it was.
        let rotated = try await TLSFramePeer.connect(port: profiles.port, trustRoots: ca)
        try await rotated.close()
        try "not a certificate".write(to: certs.appendingPathComponent("profiles.crt"), atomically: true, encoding: .utf8)
        profiles.hangUp()
        let log = workDir.appendingPathComponent("profiles.log")
        try await waitUntil { ((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("reload on SIGHUP failed") }
        let after = try await TLSFramePeer.connect(port: profiles.port, trustRoots: ca)
        #expect(after.serverSerial == rotated.serverSerial)
        try await after.close()
        #expect(profiles.terminate() == 0)
    }
}

import CRMRPC
import CRMServiceHost
import Foundation
import Testing

/// How an executable resolves TLS, plaintext, tokens and rate limits from flags, environment and
/// the configuration file (CRMServiceHost has no test target of its own; profiles' is the first
/// service to link it).
@Suite struct HostConfigurationTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    private func resolve(_ arguments: [String], environment: [String: String] = [:]) throws -> HostConfiguration {
        try HostConfiguration.resolve(serviceName: "profiles", defaultPort: 7101, options: HostOptions.parse(arguments), environment: environment)
    }

    @Test func everyShippedConfigurationDecodesWithTLSAndCertificatePrincipals() throws {
        for service in ["profiles", "products", "matching", "compensation"] {
            let path = Self.packageRoot.appendingPathComponent("services/\(service)/config.json").path
            let configuration = try HostConfiguration.resolve(serviceName: service, defaultPort: 0, options: HostOptions.parse(["--config", path]),
                                                              environment: [:])
            #expect(configuration.tls == TLSFiles(certificateChain: "data/certs/\(service).crt", privateKey: "data/certs/\(service).key",
                                                  trustRoots: "data/certs/ca.crt"))
            let names = configuration.certificatePrincipals.map(\.subjectAlternativeName)
            #expect(names.contains("URI:spiffe://brokerage-crm/products") && names.contains("URI:spiffe://brokerage-crm/ops"))
            #expect(configuration.rateLimits.default == RateLimits.Limit(callsPerSecond: 5000, burst: 10000))
        }
    }

    @Test func everyKubernetesConfigurationDecodesWithTheMountedTLSAndTokenFiles() throws {
        let tokens = FileManager.default.temporaryDirectory.appendingPathComponent("crm-k8s-tokens-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: tokens) }
        try #"[{"sha256": "aa", "principal": {"name": "ops", "roles": ["admin"], "attributes": {}}}]"#.write(to: tokens, atomically: true, encoding: .utf8)
        for service in ["profiles", "products", "matching", "compensation"] {
            let path = Self.packageRoot.appendingPathComponent("deploy/kubernetes/base/config/\(service).json").path
            // The file names /etc/crm/tokens/tokens.json (the mounted Secret); the environment points elsewhere here.
            let configuration = try HostConfiguration.resolve(serviceName: service, defaultPort: 0, options: HostOptions.parse(["--config", path]),
                                                              environment: ["CRM_\(service.uppercased())_TOKENS_FILE": tokens.path])
            #expect(configuration.host == "0.0.0.0" && configuration.peers.isEmpty && configuration.tokens.map(\.principal.name) == ["ops"])
            #expect(configuration.tls == TLSFiles(certificateChain: "/etc/crm/tls/tls.crt", privateKey: "/etc/crm/tls/tls.key",
                                                  trustRoots: "/etc/crm/tls/ca.crt"))
            #expect(configuration.certificatePrincipals.count == 5)
        }
        let file = try JSONDecoder().decode(HostConfigurationFile.self,
                                            from: Data(contentsOf: Self.packageRoot.appendingPathComponent("deploy/kubernetes/base/config/matching.json")))
        #expect(file.tokensFile == "/etc/crm/tokens/tokens.json" && file.tokens == nil && file.peerToken == nil)
    }

    @Test func tlsIsRequiredUnlessPlaintextIsAskedForAndThenOnlyOnLoopback() throws {
        let missing = #expect(throws: ConfigurationError.self) { try resolve(["--tls-certificate", "a.crt"]) }
        #expect(missing?.description.contains("--tls-key, --tls-ca") == true, "\(String(describing: missing))")
        #expect(try resolve(["--plaintext"]).tls == nil)
        let network = #expect(throws: ConfigurationError.self) { try resolve(["--plaintext", "--host", "0.0.0.0"]) }
        #expect(network?.description.contains("not a loopback address") == true)
        let forced = try resolve(["--plaintext", "--plaintext-on-network", "--host", "0.0.0.0"])
        #expect(forced.tls == nil && forced.plaintextOnNetwork)
        #expect(try resolve([], environment: ["CRM_PROFILES_PLAINTEXT": "true"]).tls == nil)
        #expect(throws: ConfigurationError.self) { try resolve([], environment: ["CRM_PROFILES_PLAINTEXT": "maybe"]) }
    }

    @Test func eachTLSFileComesFromTheFlagThenTheEnvironmentThenTheFile() throws {
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("crm-host-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: config) }
        try #"{"tls": {"certificate": "file.crt", "key": "file.key", "ca": "file-ca.crt"}, "rateLimits": {"principals": {"ops": {"callsPerSecond": 2}}}}"#
            .write(to: config, atomically: true, encoding: .utf8)
        let resolved = try resolve(["--config", config.path, "--tls-certificate", "flag.crt"],
                                   environment: ["CRM_PROFILES_TLS_CERTIFICATE": "env.crt", "CRM_PROFILES_TLS_KEY": "env.key"])
        #expect(resolved.tls == TLSFiles(certificateChain: "flag.crt", privateKey: "env.key", trustRoots: "file-ca.crt"))
        #expect(resolved.rateLimits.default == nil)
        #expect(resolved.rateLimits.principals["ops"]?.callsPerSecond == 2)

        try #"{"plaintext": true, "rateLimits": {"default": {"callsPerSecond": 0}}}"#.write(to: config, atomically: true, encoding: .utf8)
        let refused = #expect(throws: ConfigurationError.self) { try resolve(["--config", config.path]) }
        #expect(refused?.description == "rateLimits.default.callsPerSecond must be a positive number")
    }

    @Test func tokensFileEntriesAreAddedToTheFilesTokensAndAnUnreadableOneIsRefused() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("crm-tokens-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("config.json"), tokens = folder.appendingPathComponent("tokens.json")
        try #"{"plaintext": true, "tokensFile": "\#(tokens.path)", "tokens": [{"sha256": "aa", "principal": {"name": "ops", "roles": ["admin"], "attributes": {}}}]}"#
            .write(to: config, atomically: true, encoding: .utf8)
        try #"[{"sha256": "bb", "principal": {"name": "hr", "roles": ["hr"], "attributes": {}}}]"#.write(to: tokens, atomically: true, encoding: .utf8)
        #expect(try resolve(["--config", config.path]).tokens.map(\.principal.name) == ["ops", "hr"])
        let missing = #expect(throws: ConfigurationError.self) {
            try resolve(["--config", config.path], environment: ["CRM_PROFILES_TOKENS_FILE": folder.appendingPathComponent("none.json").path])
        }
        #expect(missing?.description.contains("cannot read tokens file") == true)
    }

    @Test func aReplicaListeningOnEveryAddressLeavesItsOwnHostNameOutOfItsSiblings() throws {
        let machine = try #require(HostConfiguration.machineHostName())
        let siblings = "matching=\(machine).matching:7103,other-\(machine).matching:7103,\(machine)x.matching:7103,\(machine).matching:7113"
        let resolved = try HostConfiguration.resolve(serviceName: "matching", defaultPort: 7103,
                                                     options: HostOptions.parse(["--plaintext", "--plaintext-on-network", "--host", "0.0.0.0", "--peer", siblings]),
                                                     environment: [:])
        #expect(resolved.peers["matching"]?.map(\.description) == ["other-\(machine).matching:7103", "\(machine)x.matching:7103", "\(machine).matching:7113"])
        // Listening on one address, only that address is itself.
        let bound = try HostConfiguration.resolve(serviceName: "matching", defaultPort: 7103,
                                                  options: HostOptions.parse(["--plaintext", "--host", "127.0.0.1", "--peer", siblings]), environment: [:])
        #expect(bound.peers["matching"]?.count == 4)
    }
}

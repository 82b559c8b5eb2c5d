import CRMContract
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

    /// The privacy policy: the shipped one, the file's roles over it, then the environment's (what
    /// the production overlay sets so operators see personal data masked).
    @Test func privacyRolesComeFromTheFileThenTheEnvironmentAndTheProductionOverlayMasksAdmin() throws {
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("crm-privacy-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: config) }
        try #"{"plaintext": true, "privacy": {"roles": {"workbench": ["name"], "admin": ["name", "phone"]}}}"#.write(to: config, atomically: true, encoding: .utf8)
        #expect(try resolve(["--plaintext"]).privacy.visibleByRole["admin"] == Set(PersonalDataKind.allCases))
        let fromFile = try resolve(["--config", config.path])
        #expect(fromFile.privacy.visibleByRole["workbench"] == [.name])
        #expect(fromFile.privacy.visibleByRole["admin"] == [.name, .phone])
        let fromEnvironment = try resolve(["--config", config.path], environment: ["CRM_PROFILES_PRIVACY": #"{"roles": {"admin": []}}"#])
        #expect(fromEnvironment.privacy.visibleByRole["admin"] == [])
        #expect(fromEnvironment.privacy.visibleByRole["workbench"] == [.name])
        let bad = #expect(throws: ConfigurationError.self) {
            try resolve(["--plaintext"], environment: ["CRM_PROFILES_PRIVACY": #"{"roles": {"admin": ["shoe_size"]}}"#])
        }
        #expect(bad?.description.contains("CRM_PROFILES_PRIVACY") == true)

        // The production overlay's value, as kustomize passes it to each service.
        let overlay = try String(contentsOf: Self.packageRoot.appendingPathComponent("deploy/kubernetes/overlays/production/kustomization.yaml"),
                                 encoding: .utf8)
        for service in ["profiles", "products", "matching", "compensation"] {
            let variable = "CRM_\(service.uppercased())_PRIVACY"
            let value = try #require(overlay.components(separatedBy: "name: \(variable)\n").dropFirst().first?
                .split(separator: "\n").first?.trimmingCharacters(in: .whitespaces), "\(variable) is not in the production overlay")
            #expect(value.hasPrefix("value: '") && value.hasSuffix("'"))
            let json = String(value.dropFirst("value: '".count).dropLast())
            let resolved = try HostConfiguration.resolve(serviceName: service, defaultPort: 0, options: HostOptions.parse(["--plaintext"]),
                                                         environment: [variable: json])
            #expect(resolved.privacy.visibleByRole["admin"] == [], "\(service)")
        }
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

    @Test func theCoresCountedOnComeFromTheFlagThenTheEnvironmentThenTheFileElseWhatTheProcessMayRunOn() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("crm-cores-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try #"{"plaintext": true, "cores": 3}"#.write(to: file, atomically: true, encoding: .utf8)
        let available = try resolve(["--plaintext"]).cores
        #expect(available == HostConfiguration.coresAvailable && available >= 1)
        #expect(try resolve(["--config", file.path]).cores == 3)
        #expect(try resolve(["--config", file.path], environment: ["CRM_PROFILES_CORES": "2"]).cores == 2)
        #expect(try resolve(["--config", file.path, "--cores", "1"], environment: ["CRM_PROFILES_CORES": "2"]).cores == 1)
        for (arguments, environment) in [(["--plaintext", "--cores", "0"], [:]), (["--plaintext"], ["CRM_PROFILES_CORES": "4096"])] {
            let refused = #expect(throws: ConfigurationError.self) { try resolve(arguments, environment: environment) }
            #expect(refused?.description.contains("cores") == true, "\(String(describing: refused))")
        }
        #expect(throws: ConfigurationError.self) { try resolve(["--plaintext"], environment: ["CRM_PROFILES_CORES": "two"]) }
    }
}

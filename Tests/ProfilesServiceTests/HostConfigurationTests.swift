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
}

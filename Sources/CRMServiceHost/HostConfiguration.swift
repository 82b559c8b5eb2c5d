import CRMAudit
import CRMRPC
import Foundation
import Logging
import NIOCore

/// The configuration file's shape (services/<name>/config.json).
public struct HostConfigurationFile: Codable, Sendable {
    public var host: String?
    public var port: Int?
    public var database: String?
    public var tokens: [TokenAuthenticator.Entry]?
    /// A JSON file holding more token entries (an array shaped like `tokens`), read at start and on
    /// every SIGHUP: keeps the token hashes in a file of their own (a Kubernetes Secret) apart from
    /// the rest of the configuration.
    public var tokensFile: String?
    /// Peer service name → its endpoints (`host:port`).
    public var peers: [String: [String]]?
    public var peerToken: String?
    public var maxFrameBytes: Int?
    public var logLevel: String?
    public var shutdownGraceSeconds: Int?
    /// Settings only the service itself reads (thresholds, rule versions...).
    public var settings: [String: String]?
    /// PEM files: `{"certificate": ..., "key": ..., "ca": ...}`, relative to the working directory.
    public var tls: TLSFileNames?
    /// Serve without TLS (only on loopback unless `plaintextOnNetwork`).
    public var plaintext: Bool?
    public var plaintextOnNetwork: Bool?
    /// Subject alternative names of client certificates → principals (mutual TLS).
    public var certificatePrincipals: [CertificatePrincipals.Entry]?
    /// Calls per second per principal.
    public var rateLimits: RateLimits?
    /// The Prometheus endpoint: its port (absent: none) and address.
    public var metricsPort: Int?
    public var metricsHost: String?
    /// `text` or `json`, and one successful call in how many is logged at info.
    public var logFormat: String?
    public var callLogEvery: Int?
    /// The OTLP/HTTP collector spans are exported to (`http://HOST:4318`; absent: no spans), and
    /// `http/protobuf` (default) or `http/json`.
    public var otlpEndpoint: String?
    public var otlpProtocol: String?
    /// The cores the process counts on for its own parallel work (``HostConfiguration/cores``).
    public var cores: Int?
    /// The audit trail: `{"enabled": true, "retentionDays": 1826}` (the defaults).
    public var audit: AuditSettings?
    /// Which kinds of personal data each role sees unmasked: `{"roles": {"workbench": ["name", "phone"]}}`.
    /// A role listed here replaces its entry in ``PrivacyPolicy/standard``; `[]` masks everything.
    /// `CRM_<SERVICE>_PRIVACY` (the same object as JSON) replaces roles again, after the file.
    public var privacy: PrivacyFile?

    public struct PrivacyFile: Codable, Sendable {
        public var roles: [String: [PersonalDataKind]]?
    }

    /// The `tls` object of the configuration file.
    public struct TLSFileNames: Codable, Sendable {
        public var certificate: String?
        public var key: String?
        public var ca: String?
    }
}

/// Why a service could not start: a clear message, never a crash.
public struct ConfigurationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Flags, environment and file merged into what the host needs.
public struct HostConfiguration: Sendable {
    public var serviceName: String
    public var host: String
    public var port: Int
    public var databasePath: String
    public var portFile: String?
    public var tokens: [TokenAuthenticator.Entry]
    public var peers: [String: [Endpoint]]
    /// The token this service presents to its peers.
    public var peerToken: String?
    public var maxFrameBytes: Int
    public var logLevel: Logger.Level
    public var shutdownGraceSeconds: Int
    public var settings: [String: String]
    /// The service's certificate, key and CA; nil when it runs in plaintext (configured explicitly).
    public var tls: TLSFiles?
    /// Plaintext allowed on an address other than loopback (forced explicitly).
    public var plaintextOnNetwork: Bool
    public var certificatePrincipals: [CertificatePrincipals.Entry]
    public var rateLimits: RateLimits
    /// The port of the Prometheus endpoint (`GET /metrics`); nil serves none.
    public var metricsPort: Int?
    public var metricsHost: String
    public var metricsPortFile: String?
    /// One JSON object a line instead of text.
    public var logJSON: Bool
    /// One successful call in this many gets an info line (0: none).
    public var callLogEvery: Int
    /// Where spans go (OTLP/HTTP, the traces URL itself: `…/v1/traces`); nil: no tracer, no spans.
    public var otlpTracesURL: String? = nil
    /// `http/protobuf` or `http/json`.
    public var otlpProtocol: String = "http/protobuf"
    /// Whether audited calls are recorded, and how long records are kept.
    public var audit = AuditSettings()
    /// How answers mask personal data, by the caller's roles.
    public var privacy = PrivacyPolicy.standard
    /// How many cores the process counts on for the parallel work it schedules itself: profiles'
    /// updaters folding partition files at once and the slices of a fold, matching's training
    /// workers and scans. The default is what the process may run on — its CPU affinity and, in a
    /// container, its cgroup's CPU quota (`System.coreCount`) — not the machine's count, which a
    /// pod without a CPU limit sees whole however many pods share the node; such a pod is given its
    /// CPU request (`--cores`, `CRM_<SERVICE>_CORES`, the file's `cores`): processes sharing cores
    /// that each schedule work for all of them only take turns on them at a cost (BENCHMARKS.md,
    /// "Two owners sharing two cores").
    public var cores: Int = HostConfiguration.coresAvailable

    /// The cores this process may run on (affinity and cgroup quota), at least one: read once (NIO
    /// reads the cgroup's files on every `System.coreCount`).
    public static let coresAvailable = max(1, System.coreCount)

    /// What the server decides callers by: the tokens, certificate names and rate limits above.
    public var credentials: ServerCredentials {
        ServerCredentials(tokens: TokenAuthenticator(entries: tokens), certificates: CertificatePrincipals(entries: certificatePrincipals),
                          rateLimits: rateLimits)
    }

    public static func resolve(
        serviceName: String,
        defaultPort: Int,
        options: HostOptions,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> HostConfiguration {
        let prefix = "CRM_\(serviceName.uppercased())_"
        func env(_ name: String) -> String? {
            environment[prefix + name].flatMap { $0.isEmpty ? nil : $0 }
        }
        func envInt(_ name: String) throws -> Int? {
            guard let text = env(name) else { return nil }
            guard let value = Int(text) else { throw ConfigurationError("\(prefix)\(name)=\(text) is not a whole number") }
            return value
        }

        var file = HostConfigurationFile()
        if let path = options.config ?? env("CONFIG") {
            do {
                let data = try Data(contentsOf: URL(fileURLWithPath: path))
                file = try JSONDecoder().decode(HostConfigurationFile.self, from: data)
            } catch {
                throw ConfigurationError("cannot read configuration file \(path): \(error)")
            }
        }

        let port = try options.port ?? envInt("PORT") ?? file.port ?? defaultPort
        guard (0...65535).contains(port) else { throw ConfigurationError("port \(port) is out of range") }
        let dataDir = options.dataDir ?? env("DATA_DIR") ?? "data"
        let database = options.database ?? env("DATABASE") ?? file.database ?? "\(dataDir)/\(serviceName).sqlite"

        var peers: [String: [Endpoint]] = [:]
        for (name, addresses) in file.peers ?? [:] {
            peers[name] = try addresses.map { try parseEndpoint($0, context: "peer \(name)") }
        }
        for spec in options.peer + (env("PEERS")?.split(separator: ";").map(String.init) ?? []) {
            let parts = spec.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw ConfigurationError("--peer \(spec): expected NAME=HOST:PORT[,HOST:PORT...] (or NAME= for none)")
            }
            // `NAME=` with no endpoint removes a peer the file names.
            let endpoints = try parts[1].split(separator: ",").map { try parseEndpoint(String($0), context: "peer \(parts[0])") }
            peers[parts[0]] = endpoints.isEmpty ? nil : endpoints
        }

        let levelText = options.logLevel ?? env("LOG_LEVEL") ?? file.logLevel ?? "info"
        guard let level = Logger.Level(rawValue: levelText) else {
            throw ConfigurationError("log level \(levelText) is not one of trace, debug, info, notice, warning, error, critical")
        }
        let maxFrame = try options.maxFrameBytes ?? envInt("MAX_FRAME_BYTES") ?? file.maxFrameBytes ?? WireLimits.defaultMaxFrameLength
        guard maxFrame >= 1024 else { throw ConfigurationError("max frame bytes \(maxFrame) is below 1024") }

        var settings = file.settings ?? [:]
        for spec in options.setting {
            let parts = spec.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else { throw ConfigurationError("--setting \(spec): expected KEY=VALUE") }
            settings[parts[0]] = parts[1]
        }

        let host = options.host ?? env("HOST") ?? file.host ?? "127.0.0.1"
        func envFlag(_ name: String) throws -> Bool? {
            guard let text = env(name) else { return nil }
            switch text.lowercased() {
            case "1", "true", "yes": return true
            case "0", "false", "no": return false
            default: throw ConfigurationError("\(prefix)\(name)=\(text) is not true or false")
            }
        }
        let plaintext = try options.plaintext || (envFlag("PLAINTEXT") ?? file.plaintext ?? false)
        let plaintextOnNetwork = try options.plaintextOnNetwork || (envFlag("PLAINTEXT_ON_NETWORK") ?? file.plaintextOnNetwork ?? false)
        let tls = try Self.resolveTLS(
            plaintext: plaintext, onNetwork: plaintextOnNetwork, host: host, prefix: prefix,
            certificate: options.tlsCertificate ?? env("TLS_CERTIFICATE") ?? file.tls?.certificate,
            key: options.tlsKey ?? env("TLS_KEY") ?? file.tls?.key,
            ca: options.tlsCa ?? env("TLS_CA") ?? file.tls?.ca
        )
        var tokens = file.tokens ?? []
        if let path = options.tokensFile ?? env("TOKENS_FILE") ?? file.tokensFile {
            do {
                tokens += try JSONDecoder().decode([TokenAuthenticator.Entry].self, from: Data(contentsOf: URL(fileURLWithPath: path)))
            } catch {
                throw ConfigurationError("cannot read tokens file \(path): \(error)")
            }
        }
        let rateLimits = file.rateLimits ?? .unlimited
        if let problem = rateLimits.problem { throw ConfigurationError(problem) }
        // Sibling replicas: the service's own name among its peers lists every replica of it, as
        // the topology does (one list for all replicas); each replica leaves itself out.
        if let siblings = peers[serviceName] {
            let machine = Self.machineHostName()
            let others = siblings.filter { !Self.isSelf($0, host: host, port: port, machine: machine) }
            peers[serviceName] = others.isEmpty ? nil : others
        }

        let metricsPort = try options.metricsPort ?? envInt("METRICS_PORT") ?? file.metricsPort
        if let metricsPort {
            guard (0...65535).contains(metricsPort) else { throw ConfigurationError("metrics port \(metricsPort) is out of range") }
            guard metricsPort == 0 || metricsPort != port else {
                throw ConfigurationError("the metrics port \(metricsPort) is the RPC port: give the metrics endpoint a port of its own")
            }
        }

        let format = options.logFormat ?? env("LOG_FORMAT") ?? file.logFormat ?? "text"
        guard format == "text" || format == "json" else { throw ConfigurationError("log format \(format) is not text or json") }
        let callLogEvery = try options.callLogEvery ?? envInt("CALL_LOG_EVERY") ?? file.callLogEvery ?? 1
        guard callLogEvery >= 0 else { throw ConfigurationError("call log sampling \(callLogEvery) is negative") }

        let otlpTracesURL = try Self.resolveOTLP(
            endpoint: options.otlpEndpoint ?? env("OTLP_ENDPOINT") ?? file.otlpEndpoint, environment: environment)
        let otlpProtocol = options.otlpProtocol ?? env("OTLP_PROTOCOL") ?? file.otlpProtocol ?? environment["OTEL_EXPORTER_OTLP_PROTOCOL"] ?? "http/protobuf"
        guard ["http/protobuf", "http/json"].contains(otlpProtocol) else {
            throw ConfigurationError("OTLP protocol \(otlpProtocol) is not http/protobuf or http/json")
        }
        let audit = file.audit ?? AuditSettings()
        guard audit.retention >= 1 else { throw ConfigurationError("audit.retentionDays \(audit.retention) is less than a day") }

        var configuration = HostConfiguration(
            serviceName: serviceName,
            host: host,
            port: port,
            databasePath: database,
            portFile: options.portFile ?? env("PORT_FILE"),
            tokens: tokens,
            peers: peers,
            peerToken: env("PEER_TOKEN") ?? file.peerToken,
            maxFrameBytes: maxFrame,
            logLevel: level,
            shutdownGraceSeconds: try options.shutdownGraceSeconds ?? envInt("SHUTDOWN_GRACE_SECONDS") ?? file.shutdownGraceSeconds ?? 10,
            settings: settings,
            tls: tls,
            plaintextOnNetwork: plaintextOnNetwork,
            certificatePrincipals: file.certificatePrincipals ?? [],
            rateLimits: rateLimits,
            metricsPort: metricsPort,
            metricsHost: options.metricsHost ?? env("METRICS_HOST") ?? file.metricsHost ?? "127.0.0.1",
            metricsPortFile: options.metricsPortFile ?? env("METRICS_PORT_FILE"),
            logJSON: format == "json",
            callLogEvery: callLogEvery,
            otlpTracesURL: otlpTracesURL,
            otlpProtocol: otlpProtocol
        )
        configuration.audit = audit
        if let cores = try options.cores ?? envInt("CORES") ?? file.cores {
            guard (1...1024).contains(cores) else { throw ConfigurationError("cores \(cores) is not a whole number in 1...1024") }
            configuration.cores = cores
        }
        func apply(_ privacy: HostConfigurationFile.PrivacyFile?) {
            for (role, kinds) in privacy?.roles ?? [:] {
                configuration.privacy.visibleByRole[role] = Set(kinds)
            }
        }
        apply(file.privacy)
        // The environment's privacy object (the file's form) wins role by role: how a deployment
        // overlay tightens the policy without restating each service's configuration file.
        if let text = env("PRIVACY") {
            let privacy: HostConfigurationFile.PrivacyFile
            do {
                privacy = try JSONDecoder().decode(HostConfigurationFile.PrivacyFile.self, from: Data(text.utf8))
            } catch {
                throw ConfigurationError("\(prefix)PRIVACY is not a privacy object like {\"roles\": {\"admin\": []}}: \(error)")
            }
            apply(privacy)
        }
        return configuration
    }

    /// The OTLP traces URL: ours (`--otlp-endpoint`, a collector's base URL, to which `/v1/traces` is
    /// added), else OpenTelemetry's own variables (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as it is, else
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` plus `/v1/traces`), else none. (swift-otel reads those variables
    /// again when it builds the exporter: they win over the flag, as OpenTelemetry's SDKs do.)
    static func resolveOTLP(endpoint: String?, environment: [String: String]) throws -> String? {
        func nonEmpty(_ key: String) -> String? { environment[key].flatMap { $0.isEmpty ? nil : $0 } }
        let url: String
        func traces(_ base: String) -> String {
            base.hasSuffix("/v1/traces") ? base : (base.hasSuffix("/") ? base + "v1/traces" : base + "/v1/traces")
        }
        if let endpoint {
            url = traces(endpoint)
        } else if let signal = nonEmpty("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            url = signal
        } else if let shared = nonEmpty("OTEL_EXPORTER_OTLP_ENDPOINT") {
            url = traces(shared)
        } else {
            return nil
        }
        guard url.hasPrefix("http://") || url.hasPrefix("https://"), URL(string: url)?.host != nil else {
            throw ConfigurationError("OTLP endpoint \(url) is not an http:// or https:// URL")
        }
        return url
    }

    /// TLS unless plaintext is configured explicitly; plaintext only on loopback unless forced.
    private static func resolveTLS(plaintext: Bool, onNetwork: Bool, host: String, prefix: String,
                                   certificate: String?, key: String?, ca: String?) throws -> TLSFiles? {
        if plaintext {
            guard onNetwork || TLSProtocol.isLoopback(host) else {
                throw ConfigurationError("plaintext on \(host), which is not a loopback address, is refused: configure TLS, "
                    + "or force it with --plaintext-on-network (\(prefix)PLAINTEXT_ON_NETWORK, plaintextOnNetwork)")
            }
            return nil
        }
        let missing = [("--tls-certificate", certificate), ("--tls-key", key), ("--tls-ca", ca)].filter { $0.1 == nil }.map(\.0)
        guard let certificate, let key, let ca else {
            throw ConfigurationError("TLS needs \(missing.joined(separator: ", ")) (or \(prefix)TLS_CERTIFICATE, _KEY, _CA, or "
                + "tls.certificate, key, ca in the configuration file); --plaintext runs without TLS on a loopback address")
        }
        return TLSFiles(certificateChain: certificate, privateKey: key, trustRoots: ca)
    }

    /// Whether `endpoint` is this process's own listener: the same port, on the same host or on a
    /// loopback or wildcard address of this machine, or — listening on a wildcard address — on this
    /// machine's host name or a DNS name under it (a Kubernetes StatefulSet pod `matching-0` finds
    /// itself as `matching-0.matching` in the shared list). Port 0 (picked by the OS) is nobody's.
    static func isSelf(_ endpoint: Endpoint, host: String, port: Int, machine: String?) -> Bool {
        guard port != 0, endpoint.port == port else { return false }
        let local: Set<String> = ["127.0.0.1", "localhost", "::1", "0.0.0.0", "::"]
        if endpoint.host == host || (local.contains(endpoint.host) && local.contains(host)) { return true }
        guard let machine, !machine.isEmpty, host == "0.0.0.0" || host == "::" else { return false }
        let name = endpoint.host.lowercased(), own = machine.lowercased()
        return name == own || name.hasPrefix(own + ".")
    }

    /// This machine's host name (`gethostname`), without a DNS lookup; nil if it cannot be read.
    public static func machineHostName() -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func parseEndpoint(_ text: String, context: String) throws -> Endpoint {
        guard let endpoint = Endpoint(text.trimmingCharacters(in: .whitespaces)) else {
            throw ConfigurationError("\(context): \(text) is not HOST:PORT")
        }
        return endpoint
    }
}

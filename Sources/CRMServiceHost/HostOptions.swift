import ArgumentParser

/// The command line every service executable accepts. Each value can also come from the
/// environment (`CRM_<SERVICE>_<NAME>`, e.g. `CRM_PROFILES_PORT`) or the configuration file; a flag
/// wins over the environment, which wins over the file.
public struct HostOptions: ParsableArguments {
    @Option(help: "JSON configuration file (tokens, peers, service settings).")
    public var config: String?

    @Option(help: "JSON file of more token entries (an array like the configuration's tokens), re-read on SIGHUP.")
    public var tokensFile: String?

    @Option(help: "Address to listen on.")
    public var host: String?

    @Option(help: "Port to listen on; 0 picks a free one (see --port-file).")
    public var port: Int?

    @Option(help: "SQLite file of this service's store.")
    public var database: String?

    @Option(help: "Folder for the store when --database is not given (default ./data).")
    public var dataDir: String?

    @Option(help: "Write the bound port to this file once listening.")
    public var portFile: String?

    @Option(help: "A peer service: NAME=HOST:PORT[,HOST:PORT...] (repeatable).")
    public var peer: [String] = []

    @Option(help: "A service setting: KEY=VALUE (repeatable); wins over the file's settings.")
    public var setting: [String] = []

    @Option(help: "Largest frame accepted, in bytes.")
    public var maxFrameBytes: Int?

    @Option(help: "trace, debug, info, notice, warning, error or critical.")
    public var logLevel: String?

    @Option(help: "text (default) or json: one JSON object a line (time, level, service, method, principal, request id, trace id, duration, status).")
    public var logFormat: String?

    @Option(help: "Log one successful call in N at info (1: every call, 0: none); calls that fail are always logged.")
    public var callLogEvery: Int?

    @Option(help: "Seconds in-flight calls get to finish on shutdown.")
    public var shutdownGraceSeconds: Int?

    @Option(help: "This service's TLS certificate chain (PEM), served to callers and presented to peers.")
    public var tlsCertificate: String?

    @Option(help: "The private key (PEM) of --tls-certificate.")
    public var tlsKey: String?

    @Option(help: "The CA certificates (PEM) that peers' and client certificates must chain to.")
    public var tlsCa: String?

    @Flag(help: "Serve and call peers without TLS: refused on an address other than loopback.")
    public var plaintext = false

    @Flag(help: "With --plaintext, allow it on an address other than loopback (tokens and data then cross the network in clear).")
    public var plaintextOnNetwork = false

    @Option(help: "Serve Prometheus metrics over HTTP on this port (GET /metrics); 0 picks a free one (see --metrics-port-file). Off when not given.")
    public var metricsPort: Int?

    @Option(help: "Address the metrics endpoint listens on (default 127.0.0.1; it asks no token, so keep it off public networks).")
    public var metricsHost: String?

    @Option(help: "Write the metrics endpoint's bound port to this file once listening.")
    public var metricsPortFile: String?

    @Option(help: "Export spans of every call to this OTLP/HTTP collector (e.g. http://127.0.0.1:4318; also OTEL_EXPORTER_OTLP_ENDPOINT). No spans when not given.")
    public var otlpEndpoint: String?

    @Option(help: "http/protobuf (default) or http/json: how spans are sent to --otlp-endpoint.")
    public var otlpProtocol: String?

    @Option(help: "The cores this process counts on for its own parallel work (updaters, training, scans); default: the cores it may run on (its CPU affinity and cgroup quota). Under Kubernetes, the pod's CPU request.")
    public var cores: Int?

    public init() {}
}

/// Parsed once and only read afterwards; every value is a string, number, flag or list of them. The
/// SIGHUP reloader resolves the configuration again from the same options.
extension HostOptions: @unchecked Sendable {}

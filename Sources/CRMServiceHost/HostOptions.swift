import ArgumentParser

/// The command line every service executable accepts. Each value can also come from the
/// environment (`CRM_<SERVICE>_<NAME>`, e.g. `CRM_PROFILES_PORT`) or the configuration file; a flag
/// wins over the environment, which wins over the file.
public struct HostOptions: ParsableArguments {
    @Option(help: "JSON configuration file (tokens, peers, service settings).")
    public var config: String?

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

    public init() {}
}

/// Parsed once and only read afterwards; every value is a string, number, flag or list of them. The
/// SIGHUP reloader resolves the configuration again from the same options.
extension HostOptions: @unchecked Sendable {}

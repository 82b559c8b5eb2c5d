/// Where one side's TLS material lives: PEM files, read when a context is made and again on every
/// reload (SIGHUP), so certificates are rotated by replacing the files.
public struct TLSFiles: Sendable, Hashable {
    /// This side's certificate, then any intermediates. Required for a server; a client without
    /// one authenticates with a bearer token only.
    public var certificateChain: String?
    /// The private key of the first certificate in ``certificateChain``.
    public var privateKey: String?
    /// The CA certificates a peer's certificate must chain to: the server's for a client, a client
    /// certificate's for a server.
    public var trustRoots: String

    public init(certificateChain: String?, privateKey: String?, trustRoots: String) {
        self.certificateChain = certificateChain
        self.privateKey = privateKey
        self.trustRoots = trustRoots
    }
}

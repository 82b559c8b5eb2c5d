import NIOSSL

/// A client's TLS context, replaced whole by ``reload(_:)``: connections made afterwards present
/// the new certificate and trust the new roots; open connections are left alone.
///
/// TLS 1.3 only, ALPN ``TLSProtocol/alpn``; the server's certificate must chain to the trust roots
/// and name the host connected to (an IP address name for an address, a DNS name otherwise).
public final class ClientTLSContext: Sendable {
    private let reloadable: ReloadableSSLContext

    public init(_ files: TLSFiles) throws {
        reloadable = try ReloadableSSLContext(files, make: Self.make)
    }

    /// The context for the next opened connection.
    var current: NIOSSLContext { reloadable.current }

    public var files: TLSFiles { reloadable.files }

    /// Reads the files again (or `files`, if given); on any error the previous context stays.
    public func reload(_ files: TLSFiles? = nil) throws {
        try reloadable.reload(files)
    }

    private static func make(_ files: TLSFiles) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = TLSProtocol.version
        configuration.maximumTLSVersion = TLSProtocol.version
        configuration.applicationProtocols = [TLSProtocol.alpn]
        configuration.certificateVerification = .fullVerification
        configuration.trustRoots = .certificates(try TLSMaterial.certificates(files.trustRoots, role: "CA file"))
        switch (files.certificateChain, files.privateKey) {
        case let (chain?, key?):
            configuration.certificateChain = try TLSMaterial.certificates(chain, role: "certificate").map { .certificate($0) }
            configuration.privateKey = .privateKey(try TLSMaterial.privateKey(key))
        case (nil, nil):
            break
        case let (chain?, nil):
            throw TLSConfigurationError("client certificate \(chain) has no private key")
        case let (nil, key?):
            throw TLSConfigurationError("private key \(key) has no certificate")
        }
        return try TLSMaterial.context(configuration, files: files)
    }
}

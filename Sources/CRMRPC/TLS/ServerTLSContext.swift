import NIOSSL

/// A server's TLS context, replaced whole by ``reload(_:)``: new connections use the new
/// certificate, connections already open keep the context they were accepted with.
///
/// TLS 1.3 only, ALPN ``TLSProtocol/alpn``; client certificates are asked for and verified against
/// the trust roots when presented, never required (callers without one use bearer tokens).
public final class ServerTLSContext: Sendable {
    private let reloadable: ReloadableSSLContext

    public init(_ files: TLSFiles) throws {
        reloadable = try ReloadableSSLContext(files, make: Self.make)
    }

    /// The context for the next accepted connection.
    var current: NIOSSLContext { reloadable.current }

    public var files: TLSFiles { reloadable.files }

    /// Reads the files again (or `files`, if given); on any error the previous context stays.
    public func reload(_ files: TLSFiles? = nil) throws {
        try reloadable.reload(files)
    }

    private static func make(_ files: TLSFiles) throws -> NIOSSLContext {
        guard let chainPath = files.certificateChain else { throw TLSConfigurationError("a TLS server needs a certificate") }
        guard let keyPath = files.privateKey else { throw TLSConfigurationError("a TLS server needs the private key of \(chainPath)") }
        let chain = try TLSMaterial.certificates(chainPath, role: "certificate")
        let key = try TLSMaterial.privateKey(keyPath)
        let roots = try TLSMaterial.certificates(files.trustRoots, role: "CA file")
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(key)
        )
        configuration.minimumTLSVersion = TLSProtocol.version
        configuration.maximumTLSVersion = TLSProtocol.version
        configuration.applicationProtocols = [TLSProtocol.alpn]
        configuration.certificateVerification = .optionalVerification
        configuration.trustRoots = .certificates(roots)
        configuration.sendCANameList = true
        return try TLSMaterial.context(configuration, files: files)
    }
}

import Foundation
import NIOSSL

/// Why TLS material could not be used: the file and what is wrong with it, for a configuration error
/// an operator can act on (NIOSSL's own errors do not name the file).
public struct TLSConfigurationError: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) { self.description = description }
}

/// Reads the PEM files of ``TLSFiles`` and checks them before a context is made from them.
enum TLSMaterial {
    static func certificates(_ path: String, role: String) throws -> [NIOSSLCertificate] {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw TLSConfigurationError("\(role) \(path) does not exist or is not readable")
        }
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw TLSConfigurationError("\(role) \(path) is not a PEM certificate file: \(error)")
        }
        guard !certificates.isEmpty else { throw TLSConfigurationError("\(role) \(path) holds no certificate") }
        return certificates
    }

    static func privateKey(_ path: String) throws -> NIOSSLPrivateKey {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw TLSConfigurationError("private key \(path) does not exist or is not readable")
        }
        do {
            return try NIOSSLPrivateKey(file: path, format: .pem)
        } catch {
            throw TLSConfigurationError("private key \(path) is not a PEM private key: \(error)")
        }
    }

    /// A context from `configuration`, with the files named in the error when BoringSSL refuses it
    /// (a key that does not belong to the certificate, say).
    static func context(_ configuration: TLSConfiguration, files: TLSFiles) throws -> NIOSSLContext {
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            let named = [files.certificateChain, files.privateKey, files.trustRoots].compactMap { $0 }.joined(separator: ", ")
            throw TLSConfigurationError("cannot make a TLS context from \(named): \(error)")
        }
    }
}

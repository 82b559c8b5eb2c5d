import CRMRPC
import Crypto
import Foundation
import SwiftASN1
import X509

/// Certificates made for a test in a folder of its own: a CA, and leaves it (or another CA) signs
/// with the names and validity a case needs — the expired, untrusted and wrong-name certificates
/// the TLS refusals are tested with. P-256 keys, PEM files, as scripts/dev-certs.sh makes them.
public struct TestPKI: Sendable {
    /// One issued certificate: its PEM files.
    public struct Issued: Sendable {
        public let certificate: String
        public let key: String
    }

    public let directory: URL
    public let ca: Issued
    private let caName: String

    /// A new CA in `directory` (created if needed), called `name`.
    public init(directory: URL, name: String = "CRM test CA") throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        self.directory = directory
        self.caName = name
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName { CommonName(name) }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: Certificate.PrivateKey(key).publicKey,
            notValidBefore: now - 3600, notValidAfter: now + 86_400 * 30, issuer: subject, subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: Certificate.PrivateKey(key)
        )
        let file = name.lowercased().replacingOccurrences(of: " ", with: "-")
        self.ca = try Self.write(certificate, key: key, to: directory, name: file)
    }

    /// A folder for a test, in the test process's folder (``TestFiles``, removed at exit).
    public static func temporaryDirectory() -> URL {
        TestFiles.directory().appendingPathComponent("crm-pki-\(UUID().uuidString)")
    }

    /// A certificate for a server and client both, signed by this CA: DNS `localhost` and IP
    /// 127.0.0.1 unless `hosts` says otherwise, plus the given URIs (how principals are named).
    public func issue(_ name: String, hosts: [String] = ["localhost", "127.0.0.1"], uris: [String] = [],
                      notValidBefore: Date = Date() - 3600, notValidAfter: Date = Date() + 86_400 * 7) throws -> Issued {
        let caCertificate = try Certificate(pemEncoded: String(contentsOfFile: ca.certificate, encoding: .utf8))
        let caKey = try P256.Signing.PrivateKey(pemRepresentation: String(contentsOfFile: ca.key, encoding: .utf8))
        let key = P256.Signing.PrivateKey()
        var names: [GeneralName] = hosts.map { host in
            if let bytes = Self.ipv4Bytes(host) { return .ipAddress(ASN1OctetString(contentBytes: ArraySlice(bytes))) }
            return .dnsName(host)
        }
        names += uris.map { .uniformResourceIdentifier($0) }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: Certificate.PrivateKey(key).publicKey,
            notValidBefore: notValidBefore, notValidAfter: notValidAfter,
            issuer: caCertificate.subject, subject: try DistinguishedName { CommonName(name) },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectAlternativeNames(names)
            },
            issuerPrivateKey: Certificate.PrivateKey(caKey)
        )
        return try Self.write(certificate, key: key, to: directory, name: name)
    }

    /// Server files for a TLS server: `issued` with this CA as the roots client certificates must chain to.
    public func serverFiles(_ issued: Issued) -> TLSFiles {
        TLSFiles(certificateChain: issued.certificate, privateKey: issued.key, trustRoots: ca.certificate)
    }

    /// Client files trusting this CA, with `issued` as the client certificate when given.
    public func clientFiles(_ issued: Issued? = nil) -> TLSFiles {
        TLSFiles(certificateChain: issued?.certificate, privateKey: issued?.key, trustRoots: ca.certificate)
    }

    private static func write(_ certificate: Certificate, key: P256.Signing.PrivateKey, to directory: URL, name: String) throws -> Issued {
        let certificatePath = directory.appendingPathComponent("\(name).crt").path
        let keyPath = directory.appendingPathComponent("\(name).key").path
        try certificate.serializeAsPEM().pemString.write(toFile: certificatePath, atomically: true, encoding: .utf8)
        try key.pemRepresentation.write(toFile: keyPath, atomically: true, encoding: .utf8)
        return Issued(certificate: certificatePath, key: keyPath)
    }

    private static func ipv4Bytes(_ host: String) -> [UInt8]? {
        let parts = host.split(separator: ".")
        guard parts.count == 4 else { return nil }
        let bytes = parts.compactMap { UInt8($0) }
        return bytes.count == 4 ? bytes : nil
    }
}

import Foundation
import NIOSSL
import SwiftASN1
import X509

/// What a verified client certificate says about its holder: its subject alternative names (what
/// ``CertificatePrincipals`` maps), its subject (for logs) and when it stops being valid (a
/// connection may outlive its certificate; calls after that no longer run as its principal).
public struct PeerCertificateIdentity: Sendable, Hashable {
    /// As OpenSSL prints them: `URI:…`, `DNS:…`, `email:…`, `IP Address:…`.
    public var names: [String]
    public var subject: String
    public var notAfter: Date

    public init(names: [String], subject: String, notAfter: Date) {
        self.names = names
        self.subject = subject
        self.notAfter = notAfter
    }

    /// Reads the identity from a certificate NIOSSL verified.
    init(_ certificate: NIOSSLCertificate) throws {
        let parsed = try Certificate(derEncoded: try certificate.toDERBytes())
        var names: [String] = []
        for name in try parsed.extensions.subjectAlternativeNames ?? SubjectAlternativeNames([]) {
            switch name {
            case let .uniformResourceIdentifier(uri): names.append("URI:\(uri)")
            case let .dnsName(dns): names.append("DNS:\(dns)")
            case let .rfc822Name(email): names.append("email:\(email)")
            case let .ipAddress(octets): names.append("IP Address:\(Self.ipText(Array(octets.bytes)))")
            default: continue
            }
        }
        self.init(names: names, subject: parsed.subject.description, notAfter: parsed.notValidAfter)
    }

    private static func ipText(_ bytes: [UInt8]) -> String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        guard bytes.count == 16 else { return bytes.map { String($0, radix: 16) }.joined(separator: ":") }
        return stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }.joined(separator: ":")
    }
}

import Foundation
import NIOSSL

/// Why a TLS connection was refused, in words an operator can act on: the one line logged for it
/// (and, on a client, the failed call's message). BoringSSL reports a failed verification as
/// CERTIFICATE_VERIFY_FAILED alone; the peer's certificate, still readable when the error is
/// raised, tells whether it had expired or came from an unknown CA.
public struct TLSRefusal: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }

    /// Bytes that are not a TLS record arrived where a handshake was expected.
    static func plaintext(_ firstBytes: [UInt8]) -> TLSRefusal {
        let hex = firstBytes.map { String(format: "%02x", $0) }.joined(separator: " ")
        return TLSRefusal("refused plaintext bytes on a TLS port (first bytes \(hex)): the peer must connect with TLS 1.3")
    }

    static func handshakeTimedOut(after seconds: Int64) -> TLSRefusal {
        TLSRefusal("no TLS handshake within \(seconds) s; closing")
    }

    /// Describes a NIOSSL error; nil for errors that are not about the handshake.
    init?(_ error: any Error, peerCertificate: NIOSSLCertificate?, now: Date = Date()) {
        if let refusal = error as? TLSRefusal {
            self = refusal
            return
        }
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname {
            self.init("TLS handshake refused: the server's certificate does not name the host connected to")
            return
        }
        guard let ssl = error as? NIOSSLError, case .handshakeFailed = ssl else { return nil }
        let text = "\(ssl)"
        let reason: String
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            reason = Self.diagnose(peerCertificate, now: now)
        } else if text.contains("ALERT_CERTIFICATE_EXPIRED") {
            reason = "the peer refused our certificate as expired"
        } else if text.contains("ALERT_UNKNOWN_CA") {
            reason = "the peer does not trust the CA of our certificate"
        } else if text.contains("ALERT_BAD_CERTIFICATE") || text.contains("ALERT_CERTIFICATE_UNKNOWN") {
            reason = "the peer refused our certificate"
        } else if text.contains("PROTOCOL_VERSION") || text.contains("UNSUPPORTED_PROTOCOL") {
            reason = "the peer does not speak TLS 1.3"
        } else if text.contains("NO_APPLICATION_PROTOCOL") {
            reason = "the peer offered no ALPN protocol \(TLSProtocol.alpn)"
        } else if text.contains("WRONG_VERSION_NUMBER") || text.contains("HTTP_REQUEST") {
            reason = "the peer did not speak TLS"
        } else {
            reason = text
        }
        self.init("TLS handshake refused: \(reason)")
    }

    private static func diagnose(_ certificate: NIOSSLCertificate?, now: Date) -> String {
        guard let certificate, let identity = try? PeerCertificateIdentity(certificate) else {
            return "the peer's certificate did not verify"
        }
        let validFrom = Date(timeIntervalSince1970: TimeInterval(certificate.notValidBefore))
        if now > identity.notAfter {
            return "the peer's certificate (\(identity.subject)) expired at \(TokenAuthenticator.Entry.formatTime(identity.notAfter))"
        }
        if now < validFrom {
            return "the peer's certificate (\(identity.subject)) is not valid before \(TokenAuthenticator.Entry.formatTime(validFrom))"
        }
        return "the peer's certificate (\(identity.subject)) is not issued by a trusted CA"
    }
}

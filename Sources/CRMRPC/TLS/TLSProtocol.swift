import NIOCore
import NIOSSL

/// What the wire document promises about TLS (proto/README.md §1.1): one version, one ALPN name,
/// and which hosts may be spoken to without it.
public enum TLSProtocol {
    /// The ALPN protocol name servers offer and clients send.
    public static let alpn = "crm/1"
    /// TLS 1.3 only, in both directions: no downgrade to a version with weaker handshakes.
    static let version: TLSVersion = .tlsv13

    /// Whether `host` is an IP address literal: those are verified against the certificate's IP
    /// address names and never sent as SNI.
    static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }

    /// Whether `host` names this machine's loopback interface, the only place plaintext is allowed
    /// without forcing it: bytes there never cross a network.
    public static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" { return true }
        guard let address = try? SocketAddress(ipAddress: host, port: 0), case let .v4(v4) = address else { return false }
        // 127.0.0.0/8, in network byte order.
        return UInt32(bigEndian: v4.address.sin_addr.s_addr) >> 24 == 127
    }
}

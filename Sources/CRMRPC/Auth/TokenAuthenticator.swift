import CRMWire

import Crypto
import Foundation

/// Maps bearer tokens to principals. Only SHA-256 hashes of tokens are held (and configured), so a
/// leaked configuration file does not leak a usable token.
public struct TokenAuthenticator: Sendable {
    /// One configured token: its SHA-256 in lower-case hex and who it stands for.
    public struct Entry: Sendable, Hashable, Codable {
        public var sha256: String
        public var principal: Principal

        public init(sha256: String, principal: Principal) {
            self.sha256 = sha256.lowercased()
            self.principal = principal
        }
    }

    private let principalsByHash: [String: Principal]

    public init(entries: [Entry]) {
        var table: [String: Principal] = [:]
        for entry in entries {
            table[entry.sha256.lowercased()] = entry.principal
        }
        self.principalsByHash = table
    }

    /// Accepts nobody: every authenticated method answers UNAUTHENTICATED.
    public static let none = TokenAuthenticator(entries: [])

    /// The lower-case hex SHA-256 of a token, as configuration stores it.
    public static func hash(token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// The principal for an `authorization` metadata value, or the status to answer with.
    public func authenticate(authorization: String?) -> Result<Principal, RPCError> {
        guard let authorization, !authorization.isEmpty else {
            return .failure(RPCError(.unauthenticated, "missing authorization metadata (expected 'Bearer <token>')"))
        }
        let prefix = "Bearer "
        guard authorization.hasPrefix(prefix) else {
            return .failure(RPCError(.unauthenticated, "authorization metadata must be 'Bearer <token>'"))
        }
        let token = String(authorization.dropFirst(prefix.count))
        guard let principal = principalsByHash[Self.hash(token: token)] else {
            return .failure(RPCError(.unauthenticated, "unknown token"))
        }
        return .success(principal)
    }
}

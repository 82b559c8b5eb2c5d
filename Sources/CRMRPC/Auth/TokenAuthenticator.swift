import CRMWire

import Crypto
import Foundation

/// Maps bearer tokens to principals. Only SHA-256 hashes of tokens are held (and configured), so a
/// leaked configuration file does not leak a usable token.
public struct TokenAuthenticator: Sendable {
    /// One configured token: its SHA-256 in lower-case hex, who it stands for, and until when.
    public struct Entry: Sendable, Hashable, Codable {
        public var sha256: String
        public var principal: Principal
        /// The last instant the token is accepted; nil for no expiry. In the configuration file an
        /// RFC 3339 time, `"notAfter": "2027-01-31T00:00:00Z"`.
        public var notAfter: Date?

        public init(sha256: String, principal: Principal, notAfter: Date? = nil) {
            self.sha256 = sha256.lowercased()
            self.principal = principal
            self.notAfter = notAfter
        }

        private enum CodingKeys: String, CodingKey {
            case sha256, principal, notAfter
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.sha256 = try container.decode(String.self, forKey: .sha256).lowercased()
            self.principal = try container.decode(Principal.self, forKey: .principal)
            if let text = try container.decodeIfPresent(String.self, forKey: .notAfter) {
                guard let date = Self.parseTime(text) else {
                    throw DecodingError.dataCorruptedError(forKey: .notAfter, in: container,
                                                           debugDescription: "notAfter \(text) is not an RFC 3339 time such as 2027-01-31T00:00:00Z")
                }
                self.notAfter = date
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(sha256, forKey: .sha256)
            try container.encode(principal, forKey: .principal)
            try container.encodeIfPresent(notAfter.map(Self.formatTime), forKey: .notAfter)
        }

        static func parseTime(_ text: String) -> Date? {
            let formatter = ISO8601DateFormatter()
            if let date = formatter.date(from: text) { return date }
            formatter.formatOptions.insert(.withFractionalSeconds)
            return formatter.date(from: text)
        }

        static func formatTime(_ date: Date) -> String {
            ISO8601DateFormatter().string(from: date)
        }
    }

    /// A token found in the table: the principal and the token's expiry, which callers check at
    /// every use (a connection keeps a match for many calls).
    public struct Match: Sendable, Hashable {
        public var principal: Principal
        public var notAfter: Date?

        /// UNAUTHENTICATED once the token has expired, saying so.
        public func check(now: @autoclosure () -> Date) -> Result<Principal, RPCError> {
            if let notAfter, now() > notAfter {
                return .failure(RPCError(.unauthenticated, "token expired at \(Entry.formatTime(notAfter))"))
            }
            return .success(principal)
        }
    }

    private let entriesByHash: [String: Match]

    public init(entries: [Entry]) {
        var table: [String: Match] = [:]
        for entry in entries {
            table[entry.sha256.lowercased()] = Match(principal: entry.principal, notAfter: entry.notAfter)
        }
        self.entriesByHash = table
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
    public func authenticate(authorization: String?, now: Date = Date()) -> Result<Principal, RPCError> {
        lookup(authorization: authorization).flatMap { $0.check(now: now) }
    }

    /// The configured entry for an `authorization` metadata value, expired or not.
    public func lookup(authorization: String?) -> Result<Match, RPCError> {
        guard let authorization, !authorization.isEmpty else {
            return .failure(RPCError(.unauthenticated, "missing authorization metadata (expected 'Bearer <token>')"))
        }
        let prefix = "Bearer "
        guard authorization.hasPrefix(prefix) else {
            return .failure(RPCError(.unauthenticated, "authorization metadata must be 'Bearer <token>'"))
        }
        let token = String(authorization.dropFirst(prefix.count))
        guard let match = entriesByHash[Self.hash(token: token)] else {
            return .failure(RPCError(.unauthenticated, "unknown token"))
        }
        return .success(match)
    }
}

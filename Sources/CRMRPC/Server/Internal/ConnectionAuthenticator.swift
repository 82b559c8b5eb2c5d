import Foundation

/// Decides who each call on one connection is, from its bearer token or, when it carries none, the
/// connection's verified client certificate. Lives on the connection's event loop.
///
/// Precedence: a call's token, when present, decides alone — a valid one runs as its principal, an
/// expired, unknown or malformed one is refused even on a connection with a good certificate (no
/// silent fallback that would hide a wrong token). Without a token the certificate's principal
/// applies, while the certificate is valid. Both answers are kept until the credentials are
/// reloaded, so a connection reusing one token pays one SHA-256, not one per call.
struct ConnectionAuthenticator {
    /// Who a call runs as, and the rate limit that applies to it.
    struct Caller {
        var principal: Principal
        var rateLimit: RateLimits.Limit?
    }

    private let store: CredentialStore
    /// Set once the TLS handshake verified a client certificate.
    var peerCertificate: PeerCertificateIdentity?
    private var cachedToken: (generation: Int, authorization: String, match: TokenAuthenticator.Match, limit: RateLimits.Limit?)?
    private var cachedCertificate: (generation: Int, caller: Caller?)?

    init(store: CredentialStore) {
        self.store = store
    }

    /// Whom the credentials of a call that ``authenticate(_:now:)`` refused claim to be: an
    /// expired token's or certificate's principal (nil for an unknown or missing one), for the
    /// record of who tried. Reads only what that refusal cached.
    func claimedPrincipal(_ authorization: String?) -> Principal? {
        if let authorization, !authorization.isEmpty {
            guard let cached = cachedToken, cached.authorization == authorization else { return nil }
            return cached.match.principal
        }
        return cachedCertificate?.caller?.principal
    }

    /// `now` is read only when an expiry has to be checked: most tokens have none, and this runs per call.
    mutating func authenticate(_ authorization: String?, now: @autoclosure () -> Date = Date()) -> Result<Caller, RPCError> {
        let generation = store.generation
        if let authorization, !authorization.isEmpty {
            if let cached = cachedToken, cached.generation == generation, cached.authorization == authorization {
                return cached.match.check(now: now()).map { Caller(principal: $0, rateLimit: cached.limit) }
            }
            let (current, credentials) = store.snapshot()
            switch credentials.tokens.lookup(authorization: authorization) {
            case let .failure(error):
                return .failure(error)
            case let .success(match):
                let limit = credentials.rateLimits.limit(for: match.principal)
                cachedToken = (current, authorization, match, limit)
                return match.check(now: now()).map { Caller(principal: $0, rateLimit: limit) }
            }
        }
        guard let certificate = peerCertificate else {
            return .failure(RPCError(.unauthenticated, "missing authorization metadata (expected 'Bearer <token>')"))
        }
        let caller: Caller?
        if let cached = cachedCertificate, cached.generation == generation {
            caller = cached.caller
        } else {
            let (current, credentials) = store.snapshot()
            caller = credentials.certificates.principal(forNames: certificate.names).map {
                Caller(principal: $0, rateLimit: credentials.rateLimits.limit(for: $0))
            }
            cachedCertificate = (current, caller)
        }
        guard let caller else {
            return .failure(RPCError(.unauthenticated, "missing authorization metadata (expected 'Bearer <token>'); the client certificate "
                + "(\(certificate.names.joined(separator: ", "))) is not mapped to a principal"))
        }
        if now() > certificate.notAfter {
            return .failure(RPCError(.unauthenticated, "the client certificate expired at \(TokenAuthenticator.Entry.formatTime(certificate.notAfter)); send a token"))
        }
        return .success(caller)
    }
}

/// Everything a server decides callers by, replaced whole on reload (SIGHUP): tokens, the
/// certificate names it maps to principals, and the per-principal rate limits.
public struct ServerCredentials: Sendable {
    public var tokens: TokenAuthenticator
    public var certificates: CertificatePrincipals
    public var rateLimits: RateLimits

    public init(tokens: TokenAuthenticator, certificates: CertificatePrincipals = .none, rateLimits: RateLimits = .unlimited) {
        self.tokens = tokens
        self.certificates = certificates
        self.rateLimits = rateLimits
    }
}

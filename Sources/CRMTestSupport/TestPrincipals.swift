import CRMRPC

/// The one token table the services' tests run with: each token names the principal a real
/// deployment would give that caller (see services/*/config.json for the shipped ones).
///
/// One table, not one per harness, so a principal means the same in every service's tests: the
/// manager M1 works in branch B1 and uses the workbench wherever a test presents "m1".
public enum TestPrincipals {
    /// Token → principal.
    public static let byToken: [String: Principal] = [
        "hr": Principal(name: "hr", roles: ["hr"]),
        "office": Principal(name: "head-office", roles: ["head-office"]),
        "ingest": Principal(name: "trading-system", roles: ["ingest"]),
        "admin": Principal(name: "product-admin", roles: ["product-admin"]),
        "web": Principal(name: "website", roles: ["website"]),
        "marketing": Principal(name: "marketing", roles: ["marketing"]),
        // Services calling services: matching following a feed, and the services' shared identity.
        "feed": Principal(name: "matching", roles: ["service"]),
        "service": Principal(name: "crm-services", roles: ["service"]),
        "svc": Principal(name: "crm-services", roles: ["service"]),
        "peer": Principal(name: "crm-services", roles: ["service"]),
        "m1": Principal(name: "manager:M1", roles: ["manager", "workbench"], attributes: ["manager_id": "M1", "branch_id": "B1"]),
        "m2": Principal(name: "manager:M2", roles: ["manager"], attributes: ["manager_id": "M2", "branch_id": "B1"]),
        "b1": Principal(name: "branch-head:B1", roles: ["branch-head"], attributes: ["branch_id": "B1"]),
        // Reads and verifies the audit trail, and nothing else; operators (admin) may not.
        "compliance": Principal(name: "compliance-officer", roles: ["compliance"]),
        "ops": Principal(name: "ops", roles: ["admin"]),
    ]

    /// The table as the services' authenticator takes it (hashes, never the tokens themselves).
    public static var entries: [TokenAuthenticator.Entry] {
        byToken.sorted { $0.key < $1.key }.map { .init(sha256: TokenAuthenticator.hash(token: $0.key), principal: $0.value) }
    }

    /// An authenticator over the table, for a hand-built server standing in for a peer.
    public static var authenticator: TokenAuthenticator { TokenAuthenticator(entries: entries) }
}

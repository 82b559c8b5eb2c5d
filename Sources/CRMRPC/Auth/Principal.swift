/// Who is calling: the identity a bearer token maps to.
public struct Principal: Sendable, Hashable, Codable {
    /// The name operators know this caller by (`trading-system`, `manager:M0001`, `ops`).
    public var name: String
    /// Roles the caller holds; methods declare which roles they allow.
    public var roles: Set<String>
    /// Scope for row-level checks, e.g. `manager_id` for a client manager or `branch_id` for a
    /// branch head. Services interpret the keys.
    public var attributes: [String: String]

    public init(name: String, roles: Set<String>, attributes: [String: String] = [:]) {
        self.name = name
        self.roles = roles
        self.attributes = attributes
    }

    /// The role that may call every authenticated method: operators and their tools.
    public static let adminRole = "admin"

    public var isAdmin: Bool { roles.contains(Self.adminRole) }
}

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

    /// The role of the services' own principals (the peer token, a service's certificate): the only
    /// callers that may forward a call on behalf of another (``ForwardedPrincipal``).
    public static let serviceRole = "service"

    public var isService: Bool { roles.contains(Self.serviceRole) }

    /// The client manager whose book bounds this caller (its `manager_id`), nil when it has none.
    public var managerID: String? {
        guard let managerID = attributes["manager_id"], !managerID.isEmpty else { return nil }
        return managerID
    }

    /// Whether the caller acts for every customer: an operator, or one holding any of
    /// `unscopedRoles` (a service's staff roles). Everyone else is scoped to a book.
    public func actsForEveryCustomer(_ unscopedRoles: Set<String>) -> Bool {
        isAdmin || !roles.isDisjoint(with: unscopedRoles)
    }
}

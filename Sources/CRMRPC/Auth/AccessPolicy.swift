/// Who may call a method. Every method must declare one: there is no default, so nothing is open by
/// accident (default deny).
public enum AccessPolicy: Sendable, Hashable {
    /// No token needed: health and method listing only.
    case open
    /// A valid token whose principal holds at least one of these roles (or ``Principal/adminRole``).
    case roles(Set<String>)
    /// Only these roles, `admin` not implied: separation of duties for what operators must not do
    /// themselves (reading or pruning the audit trail of their own calls).
    case onlyRoles(Set<String>)

    public static func roles(_ roles: String...) -> AccessPolicy { .roles(Set(roles)) }

    public var requiresAuthentication: Bool {
        if case .open = self { return false }
        return true
    }

    /// The roles listed for the method, sorted, for ListMethods.
    public var allowedRoles: [String] {
        switch self {
        case .open: return []
        case let .roles(roles), let .onlyRoles(roles): return roles.sorted()
        }
    }

    func allows(_ principal: Principal) -> Bool {
        switch self {
        case .open: return true
        case let .roles(roles): return principal.isAdmin || !roles.isDisjoint(with: principal.roles)
        case let .onlyRoles(roles): return !roles.isDisjoint(with: principal.roles)
        }
    }
}

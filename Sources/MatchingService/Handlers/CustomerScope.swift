import CRMPrimitives
import CRMRPC

/// Row-level scope of the answers about one customer: a client manager's workbench decides
/// suitability and gets recommendations only for the customers in the manager's book, as profiles
/// scopes its reads and products its sales. The replica holds each customer's manager (profiles'
/// `manager_id`, copied with the customer), so the check needs no call to profiles.
///
/// Outside the book and not in the copy at all are the same PERMISSION_DENIED naming `customer_id`,
/// with one message for both, so a manager learns nothing of which ids exist beyond their book.
/// Staff who act for every customer — head office, marketing, the website, other services and
/// operators — are not scoped; for them an unknown id stays NOT_FOUND.
enum CustomerScope {
    /// The manager whose book bounds `principal`, or nil when it sees every customer. Without a
    /// principal the call comes from inside the service (the runtime authenticates every method
    /// these checks guard).
    static func scopedManager(_ principal: Principal?) throws(Refusal) -> String? {
        guard let principal else { return nil }
        let seesEverything: Set<String> = [MatchingRoles.headOffice, MatchingRoles.marketing, MatchingRoles.website, MatchingRoles.service]
        if principal.isAdmin || !principal.roles.isDisjoint(with: seesEverything) { return nil }
        guard let managerID = principal.attributes["manager_id"], !managerID.isEmpty else {
            throw Refusal.refused(.permissionDenied, field: "customer_id", "\(principal.name) has no manager_id to scope its customers by")
        }
        return managerID
    }

    /// Throws PERMISSION_DENIED naming `customer_id` unless `principal` may be answered about
    /// `customerID`, whose manager in the copy is `managerOf` (nil: no such customer in the copy).
    static func check(_ principal: Principal?, customerID: String, managerOf: (String) -> String?) throws(Refusal) {
        guard let managerID = try scopedManager(principal) else { return }
        guard let owner = managerOf(customerID), owner == managerID else {
            throw Refusal.refused(.permissionDenied, field: "customer_id",
                                  "\(principal?.name ?? "the caller") may be answered only about the customers in its own book")
        }
    }
}

extension ReplicaMemory {
    /// The client manager in charge of `customerID` in the copy (nil: no such customer, or its
    /// record has not arrived yet — only its dimensions or behaviour have).
    func managerID(ofCustomer customerID: String) -> String? {
        guard let row = customers.row(of: customerID), let managerID = customers.category("manager_id", row: row), !managerID.isEmpty else {
            return nil
        }
        return managerID
    }
}

extension Replica {
    /// ``CustomerScope/check(_:customerID:managerOf:)`` against the copy; takes the lock only for
    /// a scoped caller, so staff calls pay nothing.
    func checkScope(_ principal: Principal?, customerID: String) throws(Refusal) {
        guard try CustomerScope.scopedManager(principal) != nil else { return }
        let owner = memory.withLock { $0.managerID(ofCustomer: customerID) }
        try CustomerScope.check(principal, customerID: customerID) { _ in owner }
    }
}

import CRMPrimitives
import CRMRPC

/// Row-level scope of the answers about one customer: a client manager's workbench decides
/// suitability, gets recommendations and records campaign contacts only for the customers in the
/// manager's book, as profiles scopes its reads and products its sales. The replica holds each customer's manager (profiles'
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
    static func scopedManager(_ principal: Principal?, field: String = "customer_id") throws(Refusal) -> String? {
        guard let principal else { return nil }
        if principal.actsForEveryCustomer([MatchingRoles.headOffice, MatchingRoles.marketing, MatchingRoles.website, MatchingRoles.service]) {
            return nil
        }
        guard let managerID = principal.managerID else {
            throw Refusal.refused(.permissionDenied, field: field, "\(principal.name) has no manager_id to scope its customers by")
        }
        return managerID
    }

    /// Throws PERMISSION_DENIED naming `field` (the request's customer id) unless the customer's
    /// manager in the copy (`owner`; nil: no such customer in the copy) is `managerID`, the
    /// caller's book.
    static func check(_ principal: Principal?, managerID: String, owner: String?, field: String = "customer_id") throws(Refusal) {
        guard owner == managerID else {
            throw Refusal.refused(.permissionDenied, field: field,
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
    /// ``CustomerScope/check(_:managerID:owner:)`` against the copy; takes the lock only for a
    /// scoped caller, so staff calls pay nothing.
    func checkScope(_ principal: Principal?, customerID: String, field: String = "customer_id") throws(Refusal) {
        guard let managerID = try CustomerScope.scopedManager(principal, field: field) else { return }
        let owner = memory.withLock { $0.managerID(ofCustomer: customerID) }
        try CustomerScope.check(principal, managerID: managerID, owner: owner, field: field)
    }
}

import CRMProtos
import CRMRPC
import GRDB

/// Which customers exist: those seen on profiles' change feed (the `customer` table), and for the
/// rest, profiles itself. Found customers are remembered.
///
/// A loader sending thousands of new customers' assignments right after creating them in profiles
/// is usually ahead of the feed, so many ids are missing at once: then the run of customers around
/// them is streamed from profiles in id order (one call, as ids of a load are mostly consecutive),
/// and only what that did not cover is asked one id at a time (a few in flight).
struct CustomerDirectory: Sendable {
    let database: DatabasePool
    /// The profiles peer; nil when none is configured (then only the feed's customers are known).
    let profiles: RPCClient?

    static let inFlight = 16
    /// Missing ids from which a stream of the run of customers around them is worth it.
    static let streamFrom = 64

    /// The ids among `ids` that no one knows. Throws UNAVAILABLE when profiles cannot be asked.
    func unknown(among ids: [String]) async throws -> Set<String> {
        let unique = Array(Set(ids))
        let known = try await database.read { db in try IncomeStore.knownCustomers(db, among: unique) }
        var missing = unique.filter { !known.contains($0) }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        guard !missing.isEmpty, let profiles else { return Set(missing) }
        if missing.count >= Self.streamFrom, let first = missing.first, let last = missing.last {
            let streamed = try await Self.stream(from: first, through: last, limit: min(missing.count * 4, 20_000), in: profiles)
            try await remember(streamed)
            let found = Set(streamed.map(\.customerID))
            missing.removeAll { found.contains($0) }
            guard !missing.isEmpty else { return [] }
        }
        let lookups = missing
        let found = try await withThrowingTaskGroup(of: Crm_Profiles_V1_Customer?.self) { group in
            var found: [Crm_Profiles_V1_Customer] = []
            var next = 0
            func add() {
                let id = lookups[next]
                next += 1
                group.addTask { try await Self.lookUp(id, in: profiles) }
            }
            while next < min(Self.inFlight, lookups.count) { add() }
            for try await result in group {
                if let result { found.append(result) }
                if next < lookups.count { add() }
            }
            return found
        }
        try await remember(found)
        return Set(lookups).subtracting(found.map(\.customerID))
    }

    private func remember(_ customers: [Crm_Profiles_V1_Customer]) async throws {
        guard !customers.isEmpty else { return }
        try await database.write { db in
            for customer in customers {
                try IncomeStore.recordCustomer(db, id: customer.customerID, branchID: customer.branchID, status: customer.status.rawValue,
                                               openDay: customer.hasOpenDate ? CalendarDay(customer.openDate) : nil)
            }
        }
    }

    /// Profiles' customers from `first` through `last` in id order (byte order), at most `limit`.
    private static func stream(from first: String, through last: String, limit: Int, in profiles: RPCClient) async throws -> [Crm_Profiles_V1_Customer] {
        // A proper prefix sorts before the id itself, so the stream starts at `first`.
        let after = String(first.dropLast())
        do {
            let customers = try await profiles.serverStreaming(
                Crm_Profiles_V1_Profiles.streamCustomers,
                Crm_Profiles_V1_StreamCustomersRequest.with {
                    $0.afterCustomerID = after
                    $0.limit = UInt32(limit)
                }, options: .timeout(.seconds(30))
            ).collect()
            return customers.filter { !last.utf8.lexicographicallyPrecedes($0.customerID.utf8) }
        } catch let error as RPCError {
            throw RPCError(.unavailable, "customers cannot be checked with profiles (\(error.code.canonicalName): \(error.message)); nothing was written")
        }
    }

    private static func lookUp(_ id: String, in profiles: RPCClient) async throws -> Crm_Profiles_V1_Customer? {
        do {
            return try await profiles.unary(
                Crm_Profiles_V1_Profiles.getCustomer, Crm_Profiles_V1_GetCustomerRequest.with { $0.customerID = id }).customer
        } catch let error as RPCError where error.code == .notFound || error.code == .invalidArgument {
            return nil
        } catch let error as RPCError {
            throw RPCError(.unavailable, "customers cannot be checked with profiles (\(error.code.canonicalName): \(error.message)); nothing was written")
        }
    }
}

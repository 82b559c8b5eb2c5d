import CRMProtos
import CRMRPC
import CRMServiceHost
import CRMWire
import Logging
import Synchronization

/// How a replica reads profiles, one ``FeedFollower`` step at a time: the data dictionary first
/// (and again whenever the feed names a dimension position past it); when the copy starts from
/// nothing, profiles' snapshot (every customer's current state, a page per call) instead of the
/// feed's whole history; then the change feed after the snapshot's sequence.
///
/// An interrupted snapshot resumes after the last customer it applied (a restart of the replica
/// starts it again: the cursor moves only when it is complete). A profiles service without the
/// snapshot (UNIMPLEMENTED) is followed from the feed's beginning.
///
/// One per profiles process followed (``ProfilesCopyFollowers``): each process's snapshot and
/// feed hold its own customers, under the cursor `feed`.
final class ProfilesFeed: Sendable {
    let replica: Replica
    let logger: Logger
    /// The cursor of this process's change feed (``CopyStore/feed(_:owner:)``).
    let feed: String
    /// Customers per snapshot call.
    let snapshotPage: UInt32
    /// The partition whose feed this is, for a process keeping a file per partition.
    let partition: Crm_Profiles_V1_PartitionSelector?

    private struct State {
        var dictionaryLoaded = false
        /// Nil until the snapshot is done (or known unavailable).
        var snapshot: SnapshotProgress? = SnapshotProgress()
    }

    private struct SnapshotProgress {
        var afterCustomer = ""
        var smallestSequence: UInt64 = .max
        var applied = 0
    }

    private let state = Mutex(State())

    init(replica: Replica, logger: Logger, feed: String = CopyStore.Source.profiles.rawValue, snapshotPage: UInt32 = 5_000,
         partition: Crm_Profiles_V1_PartitionSelector? = nil) {
        self.partition = partition
        self.replica = replica
        self.logger = logger
        self.feed = feed
        self.snapshotPage = snapshotPage
    }

    /// One follower step: the dictionary if not read, the snapshot while it is not done, else a
    /// page of the change feed after `after`; returns how much was applied (`limit` when there is
    /// more to read at once.
    func step(client: RPCClient, after: UInt64, limit: UInt32, wait: Duration? = nil) async throws -> Int {
        if !state.withLock({ $0.dictionaryLoaded }) { try await loadDictionary(client) }
        if after == 0, let progress = state.withLock({ $0.snapshot }) {
            if try await readSnapshot(client, from: progress) { return Int(limit) }
        } else {
            state.withLock { $0.snapshot = nil }
        }
        let changes = try await client.serverStreaming(
            Crm_Profiles_V1_Profiles.streamChanges,
            Crm_Profiles_V1_StreamChangesRequest.with {
                $0.afterSequence = after
                $0.limit = limit
                if let partition { $0.partition = partition }
                if let wait { $0.waitMs = FeedWaits.milliseconds(wait) }
            }, options: FeedWaits.options(wait)).collect()
        if replica.dictionaryIsOutdated(for: changes) { try await loadDictionary(client) }
        try await replica.applyProfiles(changes, feed: feed)
        return changes.count
    }

    private func loadDictionary(_ client: RPCClient) async throws {
        let dimensions = try await client.unary(Crm_Profiles_V1_Profiles.listDimensions, Crm_Profiles_V1_ListDimensionsRequest())
        let schemes = try await client.unary(Crm_Profiles_V1_Profiles.listClassificationSchemes, Crm_Profiles_V1_ListClassificationSchemesRequest())
        try await replica.setDictionary(dimensions, schemes)
        state.withLock { $0.dictionaryLoaded = true }
    }

    /// Reads the snapshot from where it stopped; returns true when it applied any customer (the
    /// feed then follows from the smallest sequence seen), false when there was nothing to read.
    private func readSnapshot(_ client: RPCClient, from start: SnapshotProgress) async throws -> Bool {
        var progress = start
        let page = snapshotPage
        let partition = self.partition
        @Sendable func fetch(after customer: String) async throws -> [Crm_Profiles_V1_SnapshotEntry] {
            try await client.serverStreaming(
                Crm_Profiles_V1_Profiles.streamSnapshot,
                Crm_Profiles_V1_StreamSnapshotRequest.with {
                    $0.afterCustomerID = customer
                    $0.limit = page
                    if let partition { $0.partition = partition }
                }).collect()
        }
        // One page ahead: profiles reads and sends the next page while this one is applied, so
        // the two services work at the same time instead of taking turns.
        let first = progress.afterCustomer
        var next: Task<[Crm_Profiles_V1_SnapshotEntry], any Error>? = Task { try await fetch(after: first) }
        defer { next?.cancel() }
        do {
            while let pending = next {
                let entries = try await pending.value
                next = nil
                if entries.count == Int(page), let after = entries.last?.customer.customerID {
                    next = Task { try await fetch(after: after) }
                }
                try await replica.applySnapshot(entries)
                if let last = entries.last {
                    progress.afterCustomer = last.customer.customerID
                    progress.smallestSequence = min(progress.smallestSequence, entries.lazy.map(\.sequence).min() ?? .max)
                    progress.applied += entries.count
                    let saved = progress
                    state.withLock { $0.snapshot = saved }
                }
            }
        } catch let error as RPCError where error.code == .unimplemented {
            logger.notice("profiles has no snapshot; following its feed from the beginning")
            state.withLock { $0.snapshot = nil }
            return false
        }
        state.withLock { $0.snapshot = nil }
        guard progress.applied > 0 else { return false }
        try await replica.finishSnapshot(feed: feed, followingFrom: progress.smallestSequence, customers: progress.applied)
        logger.info("profiles snapshot applied", metadata: ["feed": "\(feed)", "customers": "\(progress.applied)", "following_from": "\(progress.smallestSequence)"])
        return true
    }
}

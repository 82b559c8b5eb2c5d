import CRMPartitions
import CRMProtos
import CRMRPC
import CRMServiceHost
import CRMWire
import CustomerDimensions
import GRDB

/// The change feed: `StreamChanges` sends every change after a sequence number, in order, then ends.
/// A consumer keeps the last sequence it applied and asks again from there (after a restart of
/// either side too): no gap, no repeat.
struct FeedHandlers: Sendable {
    let database: DatabasePool
    let classifier: Classifier
    /// Customers per read of the snapshot (setting `snapshot.page`; 2,000 by default).
    var snapshotPage = FeedSnapshot.page
    /// The firm's partitions: StreamDimensionsAsOf's `partitions` are read against it.
    var partitioning: Partitioning?
    /// Commits to this store's feed and log, for reads that wait (`wait_ms`); nil answers at once.
    var commits: FeedCommits?

    /// Which customers a StreamDimensionsAsOf call asks for: those of `partitions` (nil: every
    /// customer); a partition outside the firm's count is refused, naming the field.
    static func customerFilter(_ partitions: [UInt32], partitioning: Partitioning?) throws -> (@Sendable (String) -> Bool)? {
        guard !partitions.isEmpty else { return nil }
        guard let partitioning else { throw RPCError.invalidArgument(field: "partitions", "this process has no partitions") }
        guard let wanted = try PartitionForwarding.partitionsAsked(partitions, count: partitioning.count) else { return nil }
        return { wanted.contains(partitioning.partition(of: $0)) }
    }

    func register(into router: inout Router) {
        router.serverStreaming(
            Crm_Profiles_V1_Profiles.streamChanges,
            policy: .roles(ProfilesRoles.service, ProfilesRoles.headOffice)
        ) { request, writer, _ in
            try await ChangeFeed.stream(
                from: database, after: request.afterSequence, limit: request.limit, to: writer,
                sequence: { $0.sequence }, setSequence: { $0.sequence = $1 },
                waiting: ChangeFeed.Waiting(commits: commits, milliseconds: request.waitMs)
            )
        }
        router.serverStreaming(
            Crm_Profiles_V1_Profiles.streamSnapshot,
            policy: .roles(ProfilesRoles.service, ProfilesRoles.headOffice)
        ) { request, writer, _ in
            try await ChangeFeed.streamPages(
                from: database, after: request.afterCustomerID, limit: request.limit, pageSize: snapshotPage, to: writer,
                position: { $0.customer.customerID }
            ) { db, after, size in
                try FeedSnapshot.page(db, after: after, limit: size)
            }
        }
        router.serverStreaming(
            Crm_Profiles_V1_Profiles.streamEvents,
            policy: .roles(ProfilesRoles.service, ProfilesRoles.headOffice)
        ) { request, writer, _ in
            var kinds: Set<EventKind> = []
            for (position, type) in request.types.enumerated() {
                guard let kind = EventKind(wireType: type) else {
                    throw RPCError.invalidArgument(field: "types[\(position)]", "\(type) is not an event type")
                }
                kinds.insert(kind)
            }
            let selected = kinds
            try await ChangeFeed.streamPages(
                from: database, after: request.afterEventID, limit: request.limit, pageSize: EventLog.page, to: writer,
                position: { $0.eventID }, waiting: ChangeFeed.Waiting(commits: commits, milliseconds: request.waitMs)
            ) { db, from, size in
                try EventLog.page(db, after: from, limit: size, kinds: selected)
            }
        }
        router.serverStreaming(
            Crm_Profiles_V1_Profiles.streamDimensionsAsOf,
            policy: .roles(ProfilesRoles.service, ProfilesRoles.headOffice),
            // Recomputing a page is seconds of CPU: off the connection's event loop.
            offEventLoop: true
        ) { request, writer, _ in
            let limit = request.limit == 0 ? Int.max : Int(request.limit)
            let classifier = self.classifier
            let after = request.afterCustomerID
            let positional = request.positional
            let keeping = try Self.customerFilter(request.partitions, partitioning: partitioning)
            guard !request.asOfDays.isEmpty else {
                guard request.hasAsOf, request.asOf.isValid else {
                    throw RPCError.invalidArgument(field: "as_of", "a valid date is required")
                }
                let asOf = Days.day(year: request.asOf.year, month: request.asOf.month, day: request.asOf.day)
                let dimensions = try await database.read { db in
                    try PointInTimeDimensions.compute(db, asOf: asOf, afterCustomer: after, limit: limit, classifier: classifier, positional: positional,
                                                      keeping: keeping)
                }
                // Sixteen customers per trip to the connection's event loop.
                for start in stride(from: 0, to: dimensions.count, by: 16) {
                    try await writer.write(contentsOf: Array(dimensions[start..<min(dimensions.count, start + 16)]))
                }
                return
            }
            // Several days: one scan of the log for the page, then one walk of each customer's
            // events for all the days, each customer's messages sent as they are made.
            guard request.asOfDays.count <= PointInTimeDimensions.maxDays else {
                throw RPCError.invalidArgument(field: "as_of_days", "at most \(PointInTimeDimensions.maxDays) days, not \(request.asOfDays.count)")
            }
            var days = Set<DayNumber>()
            for (position, date) in request.asOfDays.enumerated() {
                guard date.isValid else { throw RPCError.invalidArgument(field: "as_of_days[\(position)]", "a valid date is required") }
                days.insert(Days.day(year: date.year, month: date.month, day: date.day))
            }
            if request.hasAsOf {
                guard request.asOf.isValid else { throw RPCError.invalidArgument(field: "as_of", "a valid date is required") }
                days.insert(Days.day(year: request.asOf.year, month: request.asOf.month, day: request.asOf.day))
            }
            let ordered = days.sorted()
            guard let through = ordered.last else { return }
            let history = try await database.read { db in
                try PointInTimeDimensions.History.load(db, afterCustomer: after, limit: limit, through: through, keeping: keeping)
            }
            for customer in history.customers.indices {
                try Task.checkCancellation()
                // A customer's days in one trip to the connection's event loop.
                try await writer.write(contentsOf: history.dimensions(of: customer, at: ordered, classifier: classifier, positional: positional))
            }
        }
        router.unary(
            Crm_Profiles_V1_Profiles.rebuildDimensions,
            policy: .roles(ProfilesRoles.headOffice)
        ) { _, context -> Crm_Profiles_V1_RebuildDimensionsResponse in
            let report: LedgerRebuild.Report = try await database.read { db in try LedgerRebuild.verify(db) }
            if !report.mismatches.isEmpty {
                context.logger.error("rebuild differs from the incremental ledgers", metadata: ["customers": "\(report.mismatches.prefix(20))"])
            }
            return .with {
                $0.customers = UInt64(report.customers)
                $0.mismatches = UInt64(report.mismatches.count)
            }
        }
    }
}

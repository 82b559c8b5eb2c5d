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

    func register(into router: inout Router) {
        router.serverStreaming(
            Crm_Profiles_V1_Profiles.streamChanges,
            policy: .roles(ProfilesRoles.service, ProfilesRoles.headOffice)
        ) { request, writer, _ in
            try await ChangeFeed.stream(
                from: database, after: request.afterSequence, limit: request.limit, to: writer,
                sequence: { $0.sequence }, setSequence: { $0.sequence = $1 }
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
                position: { $0.eventID }
            ) { db, from, size in
                try EventLog.page(db, after: from, limit: size, kinds: selected)
            }
        }
        router.serverStreaming(
            Crm_Profiles_V1_Profiles.streamDimensionsAsOf,
            policy: .roles(ProfilesRoles.service, ProfilesRoles.headOffice)
        ) { request, writer, _ in
            guard request.hasAsOf, request.asOf.isValid else {
                throw RPCError.invalidArgument(field: "as_of", "a valid date is required")
            }
            let asOf = Days.day(year: request.asOf.year, month: request.asOf.month, day: request.asOf.day)
            let limit = request.limit == 0 ? Int.max : Int(request.limit)
            let classifier = self.classifier
            let after = request.afterCustomerID
            let dimensions = try await database.read { db in
                try PointInTimeDimensions.compute(db, asOf: asOf, afterCustomer: after, limit: limit, classifier: classifier)
            }
            for entry in dimensions { try await writer.write(entry) }
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

import CRMProtos
import CRMRPC
import GRDB

/// The change feed: `StreamChanges` sends every change after a sequence number, in order, then ends.
/// A consumer keeps the last sequence it applied and asks again from there (after a restart of
/// either side too): no gap, no repeat.
struct FeedHandlers: Sendable {
    let database: DatabasePool
    static let page = 1_000

    func register(into router: inout Router) {
        router.serverStreaming(
            CustomerHandlers.prefix + "StreamChanges",
            Crm_Profiles_V1_StreamChangesRequest.self,
            Crm_Profiles_V1_ChangeEvent.self,
            policy: .roles(ProfilesRoles.service, ProfilesRoles.headOffice)
        ) { request, writer, _ in
            var after = request.afterSequence
            var remaining = request.limit == 0 ? Int.max : Int(request.limit)
            while remaining > 0 {
                let size = min(remaining, Self.page)
                let from = after
                let changes = try await database.read { db in try ChangeLog.changes(db, after: from, limit: size) }
                for change in changes {
                    try await writer.write(change)
                }
                guard let last = changes.last, changes.count == size else { return }
                after = last.sequence
                remaining -= changes.count
            }
        }
        router.unary(
            CustomerHandlers.prefix + "RebuildDimensions",
            Crm_Profiles_V1_RebuildDimensionsRequest.self,
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

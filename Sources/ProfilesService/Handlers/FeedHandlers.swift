import CRMProtos
import CRMRPC
import CRMServiceHost
import GRDB

/// The change feed: `StreamChanges` sends every change after a sequence number, in order, then ends.
/// A consumer keeps the last sequence it applied and asks again from there (after a restart of
/// either side too): no gap, no repeat.
struct FeedHandlers: Sendable {
    let database: DatabasePool

    func register(into router: inout Router) {
        router.serverStreaming(
            CustomerHandlers.prefix + "StreamChanges",
            Crm_Profiles_V1_StreamChangesRequest.self,
            Crm_Profiles_V1_ChangeEvent.self,
            policy: .roles(ProfilesRoles.service, ProfilesRoles.headOffice)
        ) { request, writer, _ in
            try await ChangeFeed.stream(
                from: database, after: request.afterSequence, limit: request.limit, to: writer,
                sequence: { $0.sequence }, setSequence: { $0.sequence = $1 }
            )
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

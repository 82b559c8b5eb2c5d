import CRMProtos
import CRMRPC
import CRMServiceHost
import Logging
import ServiceLifecycle

/// Reads every sibling replica's campaign log and applies it (``CampaignLog``), so a campaign
/// created on any replica is answered by all and a contact recorded on any counts in every report.
///
/// One follower per sibling (``SiblingReplicas``), each with its position in the store
/// (`campaign_sibling`, by endpoint, with the identity of the log the position belongs to). A page
/// is applied with its position in one transaction, so a restart resumes exactly; a sibling whose
/// store was made again answers its new log from the start, and entries already applied change
/// nothing.
struct CampaignSync: Service {
    let followers: [FeedFollower]
    let siblings: SiblingReplicas

    /// A follower of each sibling's log.
    init(siblings: SiblingReplicas, store: CampaignStore, pageSize: Int, interval: Duration, logger: Logger, metrics: ServiceMetrics?) {
        self.siblings = siblings
        followers = siblings.siblings.map { sibling in
            FeedFollower(name: "campaigns.\(sibling.name)", batch: pageSize, pollInterval: interval, logger: logger, step: { limit, _ in
                let (logID, after) = try await store.position(sibling: sibling.name)
                let entries = try await sibling.client.serverStreaming(Crm_Matching_V1_Matching.streamCampaignLog, .with {
                    $0.logID = logID
                    $0.afterSequence = after
                    $0.limit = UInt32(limit)
                }).collect()
                let changed = try await store.apply(entries, sibling: sibling.name)
                if changed > 0 { logger.info("applied a sibling's campaign changes", metadata: ["sibling": "\(sibling.name)", "changed": "\(changed)"]) }
                return FeedFollower.Step(received: entries.count, position: entries.last?.sequence ?? after)
            }, metrics: metrics)
        }
    }

    /// Follows until graceful shutdown, then closes the siblings' clients (whose other user, the
    /// ListDecisions handler, has stopped with the server by then).
    func run() async throws {
        do {
            try await withThrowingDiscardingTaskGroup { group in
                for follower in followers { group.addTask { try await follower.run() } }
            }
        } catch {
            await siblings.close()
            throw error
        }
        await siblings.close()
    }

    /// Each sibling's position, lag and last error.
    var details: [String: String] {
        followers.reduce(into: [:]) { details, follower in details.merge(follower.details) { $1 } }
    }

    /// Applies everything every sibling's log holds now (tests and tools).
    func catchUp() async throws {
        for follower in followers { try await follower.catchUp() }
    }
}

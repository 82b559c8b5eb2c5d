import CRMProtos
import CRMRPC
import CRMServiceHost
import Logging
import ServiceLifecycle

/// Reads every sibling replica's campaign log and applies it (``CampaignLog``), so a campaign
/// created on any replica is answered by all and a contact recorded on any counts in every report.
///
/// One follower per sibling endpoint (the `matching` peers: the topology's replicas less this
/// one), each with its own client and its position in the store (`campaign_sibling`, by endpoint,
/// with the identity of the log the position belongs to). A page is applied with its position in
/// one transaction, so a restart resumes exactly; a sibling whose store was made again answers its
/// new log from the start, and entries already applied change nothing.
struct CampaignSync: Service {
    let followers: [FeedFollower]
    let clients: [RPCClient]

    /// Followers of each endpoint of `peers` (none without peers).
    init(peers: RPCClient?, store: CampaignStore, pageSize: Int, interval: Duration, logger: Logger, metrics: ServiceMetrics?) {
        var followers: [FeedFollower] = []
        var clients: [RPCClient] = []
        for endpoint in peers?.configuration.endpoints ?? [] {
            guard var configuration = peers?.configuration else { break }
            configuration.endpoints = [endpoint]
            let client = RPCClient(configuration: configuration)
            clients.append(client)
            let sibling = endpoint.description
            followers.append(FeedFollower(name: "campaigns.\(sibling)", batch: pageSize, pollInterval: interval, logger: logger, step: { limit in
                let (logID, after) = try await store.position(sibling: sibling)
                let entries = try await client.serverStreaming(Crm_Matching_V1_Matching.streamCampaignLog, .with {
                    $0.logID = logID
                    $0.afterSequence = after
                    $0.limit = UInt32(limit)
                }).collect()
                let changed = try await store.apply(entries, sibling: sibling)
                if changed > 0 { logger.info("applied a sibling's campaign changes", metadata: ["sibling": "\(sibling)", "changed": "\(changed)"]) }
                return FeedFollower.Step(received: entries.count, position: entries.last?.sequence ?? after)
            }, metrics: metrics))
        }
        self.followers = followers
        self.clients = clients
    }

    func run() async throws {
        do {
            try await withThrowingDiscardingTaskGroup { group in
                for follower in followers { group.addTask { try await follower.run() } }
            }
        } catch {
            for client in clients { await client.close() }
            throw error
        }
        for client in clients { await client.close() }
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

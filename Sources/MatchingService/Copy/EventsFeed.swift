import CRMProtos
import CRMRPC
import CRMServiceHost

/// How a replica reads profiles' event log: only product views and service contacts (the
/// behaviour features' inputs; trades and positions reach it as dimensions), a page after the
/// last event applied of one profiles process's log (its cursor `feed`).
enum EventsFeed {
    /// `wait`: profiles may hold the read this long for an event (`wait_ms`).
    static func step(replica: Replica, client: RPCClient, feed: String, partition: Crm_Profiles_V1_PartitionSelector? = nil, after: UInt64, limit: UInt32,
                     adoptingLegacy: Bool, wait: Duration? = nil) async throws -> Int {
        let events = try await client.serverStreaming(
            Crm_Profiles_V1_Profiles.streamEvents,
            Crm_Profiles_V1_StreamEventsRequest.with {
                $0.afterEventID = after
                $0.limit = limit
                $0.types = [.productView, .serviceContact]
                if let partition { $0.partition = partition }
                if let wait { $0.waitMs = FeedWaits.milliseconds(wait) }
            },
            options: FeedWaits.options(wait)
        ).collect()
        try await replica.applyEvents(events, feed: feed, adoptingLegacy: adoptingLegacy)
        return events.count
    }
}

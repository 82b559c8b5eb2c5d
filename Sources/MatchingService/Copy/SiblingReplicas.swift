import CRMRPC

/// The other matching replicas, one client each: the `matching` peers (the topology's replicas
/// less this one), split by endpoint so each can be read on its own (``CampaignSync`` follows each
/// one's campaign log; ListDecisions asks each for its own decisions). ``ModelSync`` keeps the
/// peers' round-robin client: any replica's newest model will do.
final class SiblingReplicas: Sendable {
    struct Sibling: Sendable {
        /// `host:port`, as the peer list names it: the name in positions and answers.
        let name: String
        let client: RPCClient
    }

    let siblings: [Sibling]

    init(peers: RPCClient?) {
        // A sibling that is down is reported at once (ListDecisions names it; the campaign log's
        // follower retries), not waited for until the call's deadline.
        siblings = (peers?.configuration.endpoints ?? []).compactMap { endpoint in
            peers.map { Sibling(name: endpoint.description, client: $0.alone(at: endpoint, waitsForReady: false)) }
        }
    }

    func close() async {
        for sibling in siblings { await sibling.client.close() }
    }
}

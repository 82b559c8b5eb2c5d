import CRMProtos
import CRMRPC
import Logging
import ServiceLifecycle

/// Copies newer models from the other matching replicas, so every replica scores with the same
/// model whichever one trained it. Asks the `matching` peers (round robin) for their current model
/// every `interval`; one trained later than this replica's is exported, stored and installed.
struct ModelSync: Service {
    let replica: Replica
    let peers: RPCClient?
    let interval: Duration
    let logger: Logger

    func run() async throws {
        guard let peers else { return }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await syncOnce(peers)
                } catch is CancellationError {
                    return
                } catch {
                    logger.debug("model sync skipped", metadata: ["error": "\(error)"])
                }
                // Shutdown cancels the wait: the service ends, it has not failed (a thrown
                // CancellationError made a replica with siblings exit 1 on SIGTERM).
                do { try await Task.sleep(for: interval) } catch { return }
            }
        }
    }

    func syncOnce(_ peers: RPCClient) async throws {
        let theirs = try await peers.unary(Crm_Matching_V1_Matching.getModel, Crm_Matching_V1_GetModelRequest()).model
        let ours = try await replica.database.read { db in try ModelStore.export(db, version: nil)?.summary }
        if let ours, (ours.trainedAt.unixMillis, ours.version) >= (theirs.trainedAt.unixMillis, theirs.version) { return }
        let export = try await peers.unary(Crm_Matching_V1_Matching.exportModel, Crm_Matching_V1_ExportModelRequest.with { $0.version = theirs.version })
        let scorer = try ModelStore.scorer(from: export)
        try await replica.database.write { db in
            try ModelStore.save(db, summary: export.summary, model: [UInt8](export.model), weights: export.productWeights,
                                choice: export.hasChoice ? export.choice : nil)
        }
        replica.install(scorer)
        logger.info("installed a model from a peer replica", metadata: ["version": "\(export.summary.version)"])
    }
}

import CRMProtos
import CRMRPC
import Logging
import ServiceLifecycle

/// Copies newer models from the other matching replicas, so every replica scores with the same
/// model whichever one trained it. Asks every sibling (``SiblingReplicas``, one client each) for
/// its current model every `interval`; the newest one trained later than this replica's is
/// exported from the sibling that has it, stored and installed.
///
/// Each sibling is asked on its own: through one round-robin client the export went to the next
/// replica, not the one that answered GetModel, and with two siblings of which one had no model
/// the export always reached that one (a matching group's replica never got the model).
struct ModelSync: Service {
    let replica: Replica
    let siblings: SiblingReplicas
    let interval: Duration
    let logger: Logger

    func run() async throws {
        guard !siblings.siblings.isEmpty else { return }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await syncOnce()
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

    func syncOnce() async throws {
        let models = await withTaskGroup(of: (SiblingReplicas.Sibling, Crm_Matching_V1_ModelSummary)?.self) { group in
            for sibling in siblings.siblings {
                group.addTask {
                    (try? await sibling.client.unary(Crm_Matching_V1_Matching.getModel, Crm_Matching_V1_GetModelRequest()).model).map { (sibling, $0) }
                }
            }
            var found: [(SiblingReplicas.Sibling, Crm_Matching_V1_ModelSummary)] = []
            for await model in group { if let model { found.append(model) } }
            return found
        }
        guard let (sibling, theirs) = models.max(by: { ($0.1.trainedAt.unixMillis, $0.1.version) < ($1.1.trainedAt.unixMillis, $1.1.version) }) else { return }
        let ours = try await replica.database.read { db in try ModelStore.export(db, version: nil)?.summary }
        if let ours, (ours.trainedAt.unixMillis, ours.version) >= (theirs.trainedAt.unixMillis, theirs.version) { return }
        let export = try await sibling.client.unary(Crm_Matching_V1_Matching.exportModel, Crm_Matching_V1_ExportModelRequest.with { $0.version = theirs.version })
        let scorer = try ModelStore.scorer(from: export)
        try await replica.database.write { db in
            try ModelStore.save(db, summary: export.summary, model: [UInt8](export.model), weights: export.productWeights,
                                choice: export.hasChoice ? export.choice : nil)
        }
        replica.install(scorer)
        logger.info("installed a model from a peer replica", metadata: ["version": "\(export.summary.version)"])
    }
}

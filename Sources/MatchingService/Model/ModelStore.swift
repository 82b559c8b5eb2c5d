import CRMProtos
import Foundation
import GRDB

/// Trained models in the replica's store. The current model is the one trained most recently
/// (ties by version), so replicas that copied the same models agree on which is current.
enum ModelStore {
    static func save(_ db: Database, summary: Crm_Matching_V1_ModelSummary, model: [UInt8], weights: [String: Double],
                     choice: Crm_Matching_V1_ChoiceModel? = nil) throws {
        // The weights column holds the export's product weights and choice model (the rest of
        // the export is in the other columns).
        let weightsMessage = Crm_Matching_V1_ExportModelResponse.with {
            $0.productWeights = weights
            if let choice { $0.choice = choice }
        }
        try db.execute(
            sql: "INSERT OR IGNORE INTO model (version, trained_at, summary, model, weights) VALUES (?, ?, ?, ?, ?)",
            arguments: [summary.version, summary.trainedAt.unixMillis, try summary.serializedBytes() as Data, Data(model),
                        try weightsMessage.serializedBytes() as Data]
        )
    }

    static func export(_ db: Database, version: String?) throws -> Crm_Matching_V1_ExportModelResponse? {
        let row: Row?
        if let version, !version.isEmpty {
            row = try Row.fetchOne(db, sql: "SELECT * FROM model WHERE version = ?", arguments: [version])
        } else {
            row = try Row.fetchOne(db, sql: "SELECT * FROM model ORDER BY trained_at DESC, version DESC LIMIT 1")
        }
        guard let row else { return nil }
        var export = try Crm_Matching_V1_ExportModelResponse(serializedBytes: row["weights"] as Data)
        export.summary = try Crm_Matching_V1_ModelSummary(serializedBytes: row["summary"] as Data)
        export.model = row["model"]
        return export
    }

    static func scorer(from export: Crm_Matching_V1_ExportModelResponse) throws -> Scorer {
        Scorer(
            version: export.summary.version,
            space: FeatureSpace(names: export.summary.features),
            model: try TrainedModel.decode(kind: export.summary.kind, bytes: [UInt8](export.model)),
            choice: ProductChoice(weights: export.productWeights, choice: export.hasChoice ? export.choice : nil)
        )
    }

    static func currentScorer(_ db: Database) throws -> Scorer? {
        try export(db, version: nil).map(scorer(from:))
    }
}

import CRMPropensity
import CRMProtos
import CRMRPC
import Foundation

/// A propensity model that scores every customer the same, for tests whose subject is not the
/// model: matching refuses ranked calls without a model, and with this one every list is in
/// customer-id order (equal scores tie-break by id), so such tests assert the eligible set and
/// its order without depending on what a trained model learns.
public enum ConstantModel {
    /// The ImportModel request for a logistic regression over the `family` pair feature with a
    /// zero coefficient: probability `1 / (1 + e^3)` ≈ 0.047 for every customer and family.
    /// A replica's current model is its latest by `trainedAt` (then version): import a later one to
    /// replace it.
    public static func importRequest(version: String = "constant-test-model", trainedAt: Int64 = 1) throws -> Crm_Matching_V1_ImportModelRequest {
        let model = try LogisticRegression(featureNames: ["family"], means: [0], scales: [1], coefficients: [0], intercept: -3)
        return .with {
            $0.model = .with {
                $0.summary = .with {
                    $0.version = version
                    $0.kind = .logisticRegression
                    $0.trainedAt = .with { $0.unixMillis = trainedAt }
                    $0.features = ["family"]
                }
                $0.model = Data(model.serialized())
            }
        }
    }

    /// Imports the constant model into the matching replica `client` reaches (head-office token).
    public static func install(into client: RPCClient, version: String = "constant-test-model", trainedAt: Int64 = 1) async throws {
        _ = try await client.unary(Crm_Matching_V1_Matching.importModel, try importRequest(version: version, trainedAt: trainedAt))
    }
}

import Foundation
import CRMProtos
/// A trained propensity model as the index uses it: the family propensity of a feature row, and
/// the features that raised it most.
protocol ScoringModel: Sendable {
    /// The model's log-odds for one feature row (in its feature space's order).
    func logit(_ row: [Float]) -> Double
    /// Each feature's contribution to `logit(row)`, in the row's order.
    func contributions(_ row: [Float]) -> [Double]
}

/// The current model with everything scoring needs beside it.
///
/// A customer's probability of buying product p of family f in the coming month is the family
/// propensity (the model, from the customer's dimensions and behaviour towards f) times p's share
/// of f among the products on sale that MATCH the customer (``ProductChoice``).
struct Scorer: Sendable {
    let version: String
    let space: FeatureSpace
    let model: any ScoringModel
    /// Each product's share within its family.
    let choice: ProductChoice

    init(version: String, space: FeatureSpace, model: any ScoringModel, choice: ProductChoice) {
        self.version = version
        self.space = space
        self.model = model
        self.choice = choice
    }

    static func sigmoid(_ x: Double) -> Double {
        x >= 0 ? 1 / (1 + (-x).exp) : x.exp / (1 + x.exp)
    }
}

private extension Double {
    var exp: Double { Foundation.exp(self) }
}

import CRMPropensity
import Foundation

/// A CRMPropensity model (trees or logistic) as the index scores with it. A row the model cannot
/// read (it never happens with the model's own feature space) scores 0 log-odds.
struct TrainedModel: ScoringModel {
    let model: any PropensityModel

    func logit(_ row: [Float]) -> Double {
        Double((try? model.logit(row[...])) ?? 0)
    }

    func contributions(_ row: [Float]) -> [Double] {
        ((try? model.contributions(row[...])) ?? []).map(Double.init)
    }

    /// Reads stored bytes of the given kind.
    static func decode(kind: Crm_Matching_V1_ModelKind, bytes: [UInt8]) throws -> TrainedModel {
        switch kind {
        case .logisticRegression: return TrainedModel(model: try LogisticRegression(serialized: bytes))
        default: return TrainedModel(model: try BoostedTreesModel(serialized: bytes))
        }
    }
}

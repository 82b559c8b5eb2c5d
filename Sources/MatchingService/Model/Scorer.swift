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
/// of f among the products on sale that MATCH the customer: its utility over their summed
/// utilities, a utility being the product's weight times exp(choice coefficients · the
/// (customer, product) features) (``ProductChoiceFeatures``).
struct Scorer: Sendable {
    let version: String
    let space: FeatureSpace
    let model: any ScoringModel
    /// Each product's own appeal within its family, estimated at training (exp of the choice
    /// model's intercept; for models before it, the product's purchases plus one half).
    let productWeights: [String: Double]
    /// The choice model's coefficients by ``ProductChoiceFeatures/names`` position (a feature the
    /// model does not name counts 0); empty for a model trained before it.
    let choiceCoefficients: [Double]

    init(version: String, space: FeatureSpace, model: any ScoringModel, productWeights: [String: Double], choice: Crm_Matching_V1_ChoiceModel? = nil) {
        self.version = version
        self.space = space
        self.model = model
        self.productWeights = productWeights
        var coefficients: [Double] = []
        if let choice, !choice.coefficients.isEmpty {
            coefficients = ProductChoiceFeatures.names.map { name in
                choice.features.firstIndex(of: name).flatMap { choice.coefficients.indices.contains($0) ? choice.coefficients[$0] : nil } ?? 0
            }
        }
        self.choiceCoefficients = coefficients
    }

    /// A product's weight; an unseen product gets the smallest weight of its family's smoothing.
    func weight(of code: String) -> Double {
        productWeights[code] ?? Self.unseenWeight
    }

    /// A product's utility for a customer: its weight times exp(coefficients · features).
    func utility(of code: String, features: [Double]) -> Double {
        guard !choiceCoefficients.isEmpty else { return weight(of: code) }
        var sum = 0.0
        for (coefficient, value) in zip(choiceCoefficients, features) { sum += coefficient * value }
        return weight(of: code) * Foundation.exp(sum)
    }

    /// The choice model as stored with the model.
    var choice: Crm_Matching_V1_ChoiceModel? {
        choiceCoefficients.isEmpty ? nil : .with {
            $0.features = ProductChoiceFeatures.names
            $0.coefficients = choiceCoefficients
        }
    }

    static let unseenWeight = 0.5

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

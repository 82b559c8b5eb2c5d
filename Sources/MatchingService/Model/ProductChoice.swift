import CRMProtos
import Foundation

/// A product's appeal within its family, as the choice model estimated it: the product's own
/// weight times exp(coefficients · the (customer, product) features, ``ProductChoiceFeatures``).
/// A product's share of its family for a customer is its utility over the summed utilities of the
/// family's products on sale that MATCH them; the log of that sum (the family's "inclusive value"
/// in a nested logit) is also a pair feature of the family model, since where customers weigh
/// each product on its own merits, more appealing choices mean more buying from the family.
struct ProductChoice: Sendable {
    /// By product code; a product never offered in training has ``unseenWeight``.
    let weights: [String: Double]
    /// By ``ProductChoiceFeatures/names`` position; empty for a model trained before the choice
    /// model (the share is then the weights alone).
    let coefficients: [Double]

    static let unseenWeight = 0.5

    /// From a stored model: its weights and choice message (a feature it names that this replica
    /// does not compute counts 0).
    init(weights: [String: Double], choice: Crm_Matching_V1_ChoiceModel?) {
        self.weights = weights
        var coefficients: [Double] = []
        if let choice, !choice.coefficients.isEmpty {
            coefficients = ProductChoiceFeatures.names.map { name in
                choice.features.firstIndex(of: name).flatMap { choice.coefficients.indices.contains($0) ? choice.coefficients[$0] : nil } ?? 0
            }
        }
        self.coefficients = coefficients
    }

    func weight(of code: String) -> Double {
        weights[code] ?? Self.unseenWeight
    }

    /// The product's utility for a customer whose pair features with it are `features`.
    func utility(of code: String, features: @autoclosure () -> [Double]) -> Double {
        guard !coefficients.isEmpty else { return weight(of: code) }
        var sum = 0.0
        for (coefficient, value) in zip(coefficients, features()) { sum += coefficient * value }
        return weight(of: code) * exp(sum)
    }

    /// The choice model as stored with the model; nil without coefficients.
    var message: Crm_Matching_V1_ChoiceModel? {
        coefficients.isEmpty ? nil : .with {
            $0.features = ProductChoiceFeatures.names
            $0.coefficients = coefficients
        }
    }
}

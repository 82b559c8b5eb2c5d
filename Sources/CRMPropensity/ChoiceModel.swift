import Foundation

/// Which of several alternatives is chosen: a conditional logit (McFadden), the probability of
/// alternative a among a situation's set S being exp(u_a) / Σ_{b ∈ S} exp(u_b) with
/// u_a = intercept_a + coefficients · x_a.
///
/// The matching service uses it for the product a customer picks within a family once they buy
/// from it: the intercepts are the products' own appeal (popularity, net of how many customers may
/// buy them), the features describe the (customer, product) pair (the product's risk against the
/// customer's tolerance, and so on). Only the alternatives of each situation compete, so a product
/// few customers may buy is not mistaken for an unpopular one.
///
/// Fitted by alternating two steps that each raise the penalised likelihood: Hunter's
/// minorise-maximise update of every intercept at once (closed form, with a gamma prior worth half
/// a choice, so a product never chosen keeps a finite intercept), then a Newton step on the
/// coefficients (a k × k system; k is a handful) with an L2 penalty, halved until it improves.
/// Deterministic: no randomness and a fixed order of sums.
public struct ChoiceModel: Sendable, Equatable {
    /// One choice: the alternatives on offer (ids in `0..<alternativeCount`), each one's features
    /// (row-major, `alternatives.count × featureCount`), and the position of the one chosen.
    public struct Situation: Sendable {
        public var alternatives: [Int]
        public var features: [Double]
        public var chosen: Int

        public init(alternatives: [Int], features: [Double], chosen: Int) {
            self.alternatives = alternatives
            self.features = features
            self.chosen = chosen
        }
    }

    public struct Configuration: Sendable, Hashable {
        /// Alternating rounds at most.
        public var rounds = 100
        /// L2 penalty on the coefficients, per situation.
        public var lambda = 1e-3
        /// Stop when no parameter moves more than this in a round.
        public var tolerance = 1e-6
        /// The prior's weight: as if each alternative had been chosen this many times out of one
        /// unit of exposure (the intercept of an alternative never offered is log of it).
        public var priorChoices = 0.5

        public init() {}
    }

    public let featureCount: Int
    /// By alternative id; an alternative in no situation has log(priorChoices).
    public let intercepts: [Double]
    public let coefficients: [Double]

    public init(intercepts: [Double], coefficients: [Double]) {
        self.intercepts = intercepts
        self.coefficients = coefficients
        self.featureCount = coefficients.count
    }

    /// u for an alternative with these features.
    public func utility(alternative: Int, features: some Collection<Double>) -> Double {
        var sum = alternative < intercepts.count ? intercepts[alternative] : 0
        for (coefficient, value) in zip(coefficients, features) { sum += coefficient * value }
        return sum
    }

    public static func fit(_ situations: [Situation], alternativeCount: Int, featureCount: Int,
                           configuration: Configuration = Configuration()) throws(PropensityError) -> ChoiceModel {
        guard configuration.rounds >= 1, configuration.lambda >= 0, configuration.priorChoices > 0 else {
            throw PropensityError(.invalidConfiguration, "rounds must be >= 1, lambda >= 0 and priorChoices > 0")
        }
        for (index, situation) in situations.enumerated() {
            guard !situation.alternatives.isEmpty, situation.alternatives.indices.contains(situation.chosen),
                  situation.features.count == situation.alternatives.count * featureCount,
                  situation.alternatives.allSatisfy({ (0..<alternativeCount).contains($0) }),
                  situation.features.allSatisfy(\.isFinite)
            else { throw PropensityError(.invalidInput, "situation \(index) has no alternatives, a chosen position or features of the wrong shape, or an unknown alternative") }
        }
        let prior = configuration.priorChoices
        var wins = [Double](repeating: prior, count: alternativeCount)
        for situation in situations { wins[situation.alternatives[situation.chosen]] += 1 }
        var intercepts = [Double](repeating: log(prior), count: alternativeCount)
        var coefficients = [Double](repeating: 0, count: featureCount)
        let lambda = configuration.lambda * Double(max(1, situations.count))

        /// Each alternative's linear part (coefficients · x), per situation.
        func linear(_ situation: Situation, _ coefficients: [Double]) -> [Double] {
            (0..<situation.alternatives.count).map { position in
                var sum = 0.0
                for k in 0..<featureCount { sum += coefficients[k] * situation.features[position * featureCount + k] }
                return sum
            }
        }

        func objective(_ coefficients: [Double]) -> Double {
            var total = 0.0
            for situation in situations {
                let parts = linear(situation, coefficients)
                let utilities = situation.alternatives.indices.map { intercepts[situation.alternatives[$0]] + parts[$0] }
                total += utilities[situation.chosen] - logSumExp(utilities)
            }
            return total - 0.5 * lambda * coefficients.reduce(0) { $0 + $1 * $1 }
        }

        for _ in 0..<configuration.rounds {
            var moved = 0.0
            // Intercepts: α_a = log(wins_a) − log(prior exposure + Σ_{S ∋ a} exp(β·x_a) / Σ_{b ∈ S} exp(u_b)).
            var exposure = [Double](repeating: 1, count: alternativeCount)
            for situation in situations {
                let parts = linear(situation, coefficients)
                let utilities = situation.alternatives.indices.map { intercepts[situation.alternatives[$0]] + parts[$0] }
                let normaliser = logSumExp(utilities)
                for (position, alternative) in situation.alternatives.enumerated() {
                    exposure[alternative] += exp(parts[position] - normaliser)
                }
            }
            for alternative in 0..<alternativeCount {
                let updated = log(wins[alternative]) - log(exposure[alternative])
                moved = max(moved, abs(updated - intercepts[alternative]))
                intercepts[alternative] = updated
            }
            // Coefficients: one Newton step on the penalised log-likelihood, halved until it rises.
            if featureCount > 0 {
                var gradient = coefficients.map { -lambda * $0 }
                var hessian = [Double](repeating: 0, count: featureCount * featureCount)
                for k in 0..<featureCount { hessian[k * featureCount + k] = lambda }
                for situation in situations {
                    let parts = linear(situation, coefficients)
                    let utilities = situation.alternatives.indices.map { intercepts[situation.alternatives[$0]] + parts[$0] }
                    let normaliser = logSumExp(utilities)
                    var mean = [Double](repeating: 0, count: featureCount)
                    var second = [Double](repeating: 0, count: featureCount * featureCount)
                    for position in situation.alternatives.indices {
                        let p = exp(utilities[position] - normaliser)
                        let base = position * featureCount
                        for i in 0..<featureCount {
                            let xi = situation.features[base + i]
                            mean[i] += p * xi
                            for j in 0..<featureCount { second[i * featureCount + j] += p * xi * situation.features[base + j] }
                        }
                    }
                    let chosen = situation.chosen * featureCount
                    for i in 0..<featureCount {
                        gradient[i] += situation.features[chosen + i] - mean[i]
                        for j in 0..<featureCount { hessian[i * featureCount + j] += second[i * featureCount + j] - mean[i] * mean[j] }
                    }
                }
                if let step = LogisticRegression.solveCholesky(hessian, gradient, dimension: featureCount) {
                    let before = objective(coefficients)
                    var scale = 1.0
                    for _ in 0..<30 {
                        let candidate = zip(coefficients, step).map { $0 + scale * $1 }
                        if objective(candidate) >= before {
                            for k in 0..<featureCount { moved = max(moved, abs(candidate[k] - coefficients[k])) }
                            coefficients = candidate
                            break
                        }
                        scale /= 2
                    }
                }
            }
            if moved < configuration.tolerance { break }
        }
        return ChoiceModel(intercepts: intercepts, coefficients: coefficients)
    }

    static func logSumExp(_ values: [Double]) -> Double {
        guard let top = values.max() else { return -.infinity }
        return top + log(values.reduce(0) { $0 + exp($1 - top) })
    }
}

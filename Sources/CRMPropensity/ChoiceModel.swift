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

    /// Situations that share their offers: every buyer of a family with the same suitability
    /// profile in the same month faced the same products with the same features, so a year of a
    /// large book has hundreds of thousands of choices but only thousands of distinct offers.
    /// Each choice is then 8 bytes (the offer and the position chosen) instead of its own copy of
    /// the offer's alternatives and features (kilobytes), and the fit computes each offer's
    /// utilities once per step instead of once per choice. The sums over choices keep their
    /// order and their terms, so the model is bit for bit the one fitted from the same choices
    /// listed one by one (``fit(_:alternativeCount:featureCount:configuration:)``).
    public struct Offers: Sendable {
        /// What was on offer: alternative ids, and their features row-major
        /// (`alternatives.count × featureCount`).
        public struct Offer: Sendable {
            public var alternatives: [Int]
            public var features: [Double]

            public init(alternatives: [Int], features: [Double]) {
                self.alternatives = alternatives
                self.features = features
            }
        }

        /// One choice: the offer (an index in ``offers``) and the position chosen in it.
        public struct Choice: Sendable, Hashable {
            public var offer: Int32
            public var chosen: Int32

            public init(offer: Int32, chosen: Int32) {
                self.offer = offer
                self.chosen = chosen
            }
        }

        public private(set) var offers: [Offer] = []
        public private(set) var choices: [Choice] = []

        public init() {}

        /// Adds an offer and returns its index for ``add(choice:)``.
        public mutating func add(offer: Offer) -> Int32 {
            offers.append(offer)
            return Int32(offers.count - 1)
        }

        public mutating func add(choice: Choice) {
            choices.append(choice)
        }
    }

    public static func fit(_ situations: [Situation], alternativeCount: Int, featureCount: Int,
                           configuration: Configuration = Configuration()) throws(PropensityError) -> ChoiceModel {
        var shared = Offers()
        for situation in situations {
            let offer = shared.add(offer: .init(alternatives: situation.alternatives, features: situation.features))
            shared.add(choice: .init(offer: offer, chosen: Int32(clamping: situation.chosen)))
        }
        return try fit(shared, alternativeCount: alternativeCount, featureCount: featureCount, configuration: configuration)
    }

    /// Fits the choices of `shared` (see ``Offers``): the same model as the choices listed one by one.
    public static func fit(_ shared: Offers, alternativeCount: Int, featureCount: Int,
                           configuration: Configuration = Configuration()) throws(PropensityError) -> ChoiceModel {
        guard configuration.rounds >= 1, configuration.lambda >= 0, configuration.priorChoices > 0 else {
            throw PropensityError(.invalidConfiguration, "rounds must be >= 1, lambda >= 0 and priorChoices > 0")
        }
        let offers = shared.offers
        let choices = shared.choices
        for (index, offer) in offers.enumerated() {
            guard !offer.alternatives.isEmpty, offer.features.count == offer.alternatives.count * featureCount,
                  offer.alternatives.allSatisfy({ (0..<alternativeCount).contains($0) }),
                  offer.features.allSatisfy(\.isFinite)
            else { throw PropensityError(.invalidInput, "offer \(index) has no alternatives, features of the wrong shape, or an unknown alternative") }
        }
        for (index, choice) in choices.enumerated() {
            guard offers.indices.contains(Int(choice.offer)), offers[Int(choice.offer)].alternatives.indices.contains(Int(choice.chosen)) else {
                throw PropensityError(.invalidInput, "situation \(index) names no offer or a chosen position outside it")
            }
        }
        let prior = configuration.priorChoices
        var wins = [Double](repeating: prior, count: alternativeCount)
        for choice in choices { wins[offers[Int(choice.offer)].alternatives[Int(choice.chosen)]] += 1 }
        var intercepts = [Double](repeating: log(prior), count: alternativeCount)
        var coefficients = [Double](repeating: 0, count: featureCount)
        let lambda = configuration.lambda * Double(max(1, choices.count))

        /// Each alternative's linear part (coefficients · x) in an offer.
        func linear(_ offer: Offers.Offer, _ coefficients: [Double]) -> [Double] {
            (0..<offer.alternatives.count).map { position in
                var sum = 0.0
                for k in 0..<featureCount { sum += coefficients[k] * offer.features[position * featureCount + k] }
                return sum
            }
        }

        /// Each offer's utilities and their log-sum-exp under the current intercepts.
        func utilities(_ coefficients: [Double]) -> [(parts: [Double], utilities: [Double], normaliser: Double)] {
            offers.map { offer in
                let parts = linear(offer, coefficients)
                let utilities = offer.alternatives.indices.map { intercepts[offer.alternatives[$0]] + parts[$0] }
                return (parts, utilities, logSumExp(utilities))
            }
        }

        func objective(_ coefficients: [Double]) -> Double {
            let perOffer = utilities(coefficients)
            var total = 0.0
            for choice in choices {
                let offer = perOffer[Int(choice.offer)]
                total += offer.utilities[Int(choice.chosen)] - offer.normaliser
            }
            return total - 0.5 * lambda * coefficients.reduce(0) { $0 + $1 * $1 }
        }

        for _ in 0..<configuration.rounds {
            var moved = 0.0
            // Intercepts: α_a = log(wins_a) − log(prior exposure + Σ_{S ∋ a} exp(β·x_a) / Σ_{b ∈ S} exp(u_b)).
            var exposure = [Double](repeating: 1, count: alternativeCount)
            let shares = utilities(coefficients).map { offer in offer.parts.map { exp($0 - offer.normaliser) } }
            for choice in choices {
                let offer = Int(choice.offer)
                for (position, alternative) in offers[offer].alternatives.enumerated() {
                    exposure[alternative] += shares[offer][position]
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
                // Per offer: the features' mean under the choice probabilities, and each choice's
                // term of the Hessian (second moment minus the mean's square).
                let moments = zip(offers, utilities(coefficients)).map { offer, computed -> (mean: [Double], terms: [Double]) in
                    var mean = [Double](repeating: 0, count: featureCount)
                    var second = [Double](repeating: 0, count: featureCount * featureCount)
                    for position in offer.alternatives.indices {
                        let p = exp(computed.utilities[position] - computed.normaliser)
                        let base = position * featureCount
                        for i in 0..<featureCount {
                            let xi = offer.features[base + i]
                            mean[i] += p * xi
                            for j in 0..<featureCount { second[i * featureCount + j] += p * xi * offer.features[base + j] }
                        }
                    }
                    var terms = [Double](repeating: 0, count: featureCount * featureCount)
                    for i in 0..<featureCount {
                        for j in 0..<featureCount { terms[i * featureCount + j] = second[i * featureCount + j] - mean[i] * mean[j] }
                    }
                    return (mean, terms)
                }
                for choice in choices {
                    let offer = Int(choice.offer)
                    let features = offers[offer].features
                    let (mean, terms) = moments[offer]
                    let chosen = Int(choice.chosen) * featureCount
                    for i in 0..<featureCount {
                        gradient[i] += features[chosen + i] - mean[i]
                        for j in 0..<featureCount { hessian[i * featureCount + j] += terms[i * featureCount + j] }
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

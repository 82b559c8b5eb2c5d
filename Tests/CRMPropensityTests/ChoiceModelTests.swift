import Foundation
import Testing
@testable import CRMPropensity

/// The conditional logit behind a product's share of its family: it recovers planted coefficients
/// and product appeal from simulated choices, and keeps unseen alternatives finite.
struct ChoiceModelTests {
    @Test func plantedCoefficientsAndAppealAreRecovered() throws {
        var random = SeededGenerator(seed: 42, stream: 9)
        let alternatives = 12
        let truth = (0..<alternatives).map { Double($0 % 4) * 0.5 - 0.75 }
        let coefficients = [0.8, -0.5]
        var situations: [ChoiceModel.Situation] = []
        for _ in 0..<6_000 {
            // A random half of the alternatives on offer, each with two features.
            let offered = (0..<alternatives).filter { _ in random.nextUnit() < 0.5 }
            guard offered.count >= 2 else { continue }
            let features = offered.flatMap { _ in [random.nextUnit() * 4 - 2, random.nextUnit() * 2] }
            let utilities = offered.indices.map { truth[offered[$0]] + coefficients[0] * features[2 * $0] + coefficients[1] * features[2 * $0 + 1] }
            let total = utilities.reduce(0) { $0 + exp($1) }
            var draw = random.nextUnit() * total
            var chosen = offered.count - 1
            for (position, utility) in utilities.enumerated() {
                draw -= exp(utility)
                if draw < 0 { chosen = position; break }
            }
            situations.append(.init(alternatives: offered, features: features, chosen: chosen))
        }
        let model = try ChoiceModel.fit(situations, alternativeCount: alternatives + 1, featureCount: 2)
        #expect(abs(model.coefficients[0] - 0.8) < 0.1, "\(model.coefficients)")
        #expect(abs(model.coefficients[1] + 0.5) < 0.1, "\(model.coefficients)")
        // Appeal is identified up to a constant: compare differences from the first alternative.
        for index in 1..<alternatives {
            #expect(abs((model.intercepts[index] - model.intercepts[0]) - (truth[index] - truth[0])) < 0.2, "alternative \(index)")
        }
        // The alternative never offered keeps the prior's intercept.
        #expect(model.intercepts[alternatives] == log(0.5))
    }

    @Test func anAlternativeNeverChosenKeepsAFiniteIntercept() throws {
        let situations = (0..<50).map { _ in ChoiceModel.Situation(alternatives: [0, 1], features: [0, 0], chosen: 0) }
        let model = try ChoiceModel.fit(situations, alternativeCount: 2, featureCount: 1)
        #expect(model.intercepts[1].isFinite && model.intercepts[1] < model.intercepts[0] - 3)
        #expect(throws: PropensityError.self) {
            _ = try ChoiceModel.fit([.init(alternatives: [0], features: [1, 2], chosen: 0)], alternativeCount: 1, featureCount: 1)
        }
    }

    /// Choices that share their offers (``ChoiceModel/Offers``, as training keeps a year of
    /// purchases: one offer per profile, family and month) fit the very model the same choices
    /// listed one by one fit, bit for bit.
    @Test func sharedOffersFitTheModelOfTheChoicesListedOneByOne() throws {
        var random = SeededGenerator(seed: 7, stream: 3)
        let alternatives = 9
        var offers: [ChoiceModel.Offers.Offer] = []
        for _ in 0..<25 {
            let offered = (0..<alternatives).filter { _ in random.nextUnit() < 0.6 }
            guard !offered.isEmpty else { continue }
            offers.append(.init(alternatives: offered, features: offered.flatMap { _ in [random.nextUnit() * 4 - 2, random.nextUnit() < 0.5 ? 1 : 0, random.nextUnit()] }))
        }
        var shared = ChoiceModel.Offers()
        for offer in offers { _ = shared.add(offer: offer) }
        var situations: [ChoiceModel.Situation] = []
        for _ in 0..<3_000 {
            let offer = Int(random.nextUnit() * Double(offers.count))
            let chosen = Int(random.nextUnit() * Double(offers[offer].alternatives.count))
            shared.add(choice: .init(offer: Int32(offer), chosen: Int32(chosen)))
            situations.append(.init(alternatives: offers[offer].alternatives, features: offers[offer].features, chosen: chosen))
        }
        let one = try ChoiceModel.fit(situations, alternativeCount: alternatives, featureCount: 3)
        let sharing = try ChoiceModel.fit(shared, alternativeCount: alternatives, featureCount: 3)
        #expect(one.coefficients.map(\.bitPattern) == sharing.coefficients.map(\.bitPattern))
        #expect(one.intercepts.map(\.bitPattern) == sharing.intercepts.map(\.bitPattern))
        #expect(one.coefficients.contains { abs($0) > 1e-3 }, "the coefficients moved: \(one.coefficients)")
        #expect(throws: PropensityError.self) {
            var bad = ChoiceModel.Offers()
            _ = bad.add(offer: .init(alternatives: [0, 1], features: [1, 2]))
            bad.add(choice: .init(offer: 1, chosen: 0))
            _ = try ChoiceModel.fit(bad, alternativeCount: 2, featureCount: 1)
        }
    }
}

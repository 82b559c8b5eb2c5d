import CRMProtos
import CRMRPC
import CRMTestSupport
import Testing
@testable import MatchingService

/// The model's feature space: the pair features of a (customer, family) row, models stored before
/// the family indicators, and the check an imported model's feature list must pass.
struct FeatureSpaceTests {
    static let customer = ["total_assets", "trade_count_30d"]

    @Test func pairFeaturesDescribeTheFamilyOnceAsANumberAndOnceAsAnIndicatorThenTheBehaviourTowardsIt() {
        let space = FeatureSpace(names: Self.customer + FeatureSpace.pairFeatures)
        #expect(space.customerCount == 2)
        #expect(space.pairs.count == 3 + ProductFamilies.count + BehaviourFeatures.count + 3)
        #expect(space.readsBehaviour)
        // Behaviour values that name their family and slot: family * 100 + slot.
        let behaviour = (0..<(ProductFamilies.count * BehaviourFeatures.count)).map { index in
            Float(index / BehaviourFeatures.count * 100 + index % BehaviourFeatures.count)
        }
        let held = (0..<ProductFamilies.count).map { Float($0 * 1_000) }
        let available = FamilyAvailability(counts: (0..<ProductFamilies.count).map { Float($0 + 10) },
                                           choiceValues: (0..<ProductFamilies.count).map { Float($0) / 4 })
        for family in 0..<ProductFamilies.count {
            var row = [Float](repeating: .nan, count: space.count)
            row[0] = 5
            row[1] = 7
            space.fillPair(&row, family: family, inputs: .init(mostViewedType: ProductFamilies.typeNames[family].lowercased(), largestFamily: "bond_fund",
                                                               familyValues: held, behaviour: behaviour, available: available))
            #expect(row[0] == 5 && row[1] == 7, "the customer part is left alone")
            #expect(row[2] == Float(family))
            #expect(row[3] == 1, "viewed most: the type matches whatever its case")
            #expect(row[4] == (family == 1 ? 1 : 0), "holds most: only bond_fund")
            let indicators = Array(row[5..<(5 + ProductFamilies.count)])
            #expect(indicators.enumerated().allSatisfy { index, value in value == (index == family ? 1 : 0) })
            let ownBehaviour = Array(row[(5 + ProductFamilies.count)..<(5 + ProductFamilies.count + BehaviourFeatures.count)])
            #expect(ownBehaviour == (0..<BehaviourFeatures.count).map { Float(family * 100 + $0) }, "the family's own behaviour, in order")
            #expect(row[row.count - 3] == Float(family * 1_000), "the value held in the family")
            #expect(row[row.count - 2] == Float(family + 10), "the products of the family available to the customer")
            #expect(row.last == Float(family) / 4, "their appeal together")
        }
        // Without behaviour (a caller that has none) those features are missing, never another family's.
        var row = [Float](repeating: .nan, count: space.count)
        space.fillPair(&row, family: 3, inputs: .init())
        #expect(row[(5 + ProductFamilies.count)...].allSatisfy { $0.isNaN })
    }

    @Test func aModelStoredBeforeTheIndicatorsScoresWithItsOwnThreePairFeatures() {
        let legacy = FeatureSpace(names: Self.customer + ["family", "viewed_family_90d", "holds_family_most"])
        #expect(legacy.customerCount == 2)
        #expect(legacy.pairs == [.family, .viewedFamily, .holdsFamilyMost])
        var row = [Float](repeating: .nan, count: legacy.count)
        legacy.fillPair(&row, family: 4, inputs: .init())
        #expect(row[2...] == [4, 0, 0])
        #expect(!legacy.readsBehaviour)

        let noPairs = FeatureSpace(names: Self.customer)
        #expect(noPairs.customerCount == 2 && noPairs.pairs.isEmpty)
    }

    @Test func anImportedFeatureListMustBeKnownDimensionsThenPairFeatures() {
        #expect(FeatureSpace.problem(computing: Self.customer + FeatureSpace.pairFeatures) == nil)
        #expect(FeatureSpace.problem(computing: Self.customer + ["family", "viewed_family_90d", "holds_family_most"]) == nil)
        let unknown = FeatureSpace.problem(computing: ["total_assets", "shoe_size", "family"])
        #expect(unknown?.contains("shoe_size") == true)
        let afterPairs = FeatureSpace.problem(computing: ["total_assets", "family", "trade_count_30d"])
        #expect(afterPairs?.contains("only pair features may follow") == true)
        let unknownFamily = FeatureSpace.problem(computing: ["total_assets", "family", "family_is_crypto"])
        #expect(unknownFamily != nil)
    }

    @Test func importModelRefusesAFeatureListTheReplicaCannotCompute() async throws {
        try await withService(await MatchingHarness.start()) { harness in
            let error = await statusOf {
                _ = try await harness.matching.unary(Crm_Matching_V1_Matching.importModel, Crm_Matching_V1_ImportModelRequest.with {
                    $0.model = .with {
                        $0.summary = .with {
                            $0.version = "gbt-imported-1"
                            $0.features = ["total_assets", "family", "trade_count_30d"]
                        }
                    }
                })
            }
            #expect(error?.code == .invalidArgument)
            #expect(error?.fieldViolations.first?.field == "model.summary.features")
        }
    }
}

import CRMProtos
import CRMRPC
import CRMTestSupport
import Testing
@testable import MatchingService

/// The model's feature space: the pair features of a (customer, family) row, models stored before
/// the family indicators, and the check an imported model's feature list must pass.
struct FeatureSpaceTests {
    static let customer = ["total_assets", "trade_count_30d"]

    @Test func pairFeaturesDescribeTheFamilyOnceAsANumberAndOnceAsAnIndicator() {
        let space = FeatureSpace(names: Self.customer + FeatureSpace.pairFeatures)
        #expect(space.customerCount == 2)
        #expect(space.pairs.count == 3 + ProductFamilies.count)
        for family in 0..<ProductFamilies.count {
            var row = [Float](repeating: .nan, count: space.count)
            row[0] = 5
            row[1] = 7
            space.fillPair(&row, family: family, mostViewedType: ProductFamilies.typeNames[family].lowercased(), largestFamily: "bond_fund")
            #expect(row[0] == 5 && row[1] == 7, "the customer part is left alone")
            #expect(row[2] == Float(family))
            #expect(row[3] == 1, "viewed most: the type matches whatever its case")
            #expect(row[4] == (family == 1 ? 1 : 0), "holds most: only bond_fund")
            let indicators = Array(row[5...])
            #expect(indicators.count == ProductFamilies.count)
            #expect(indicators.enumerated().allSatisfy { index, value in value == (index == family ? 1 : 0) })
        }
    }

    @Test func aModelStoredBeforeTheIndicatorsScoresWithItsOwnThreePairFeatures() {
        let legacy = FeatureSpace(names: Self.customer + ["family", "viewed_family_90d", "holds_family_most"])
        #expect(legacy.customerCount == 2)
        #expect(legacy.pairs == [.family, .viewedFamily, .holdsFamilyMost])
        var row = [Float](repeating: .nan, count: legacy.count)
        legacy.fillPair(&row, family: 4, mostViewedType: nil, largestFamily: nil)
        #expect(row[2...] == [4, 0, 0])

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

@testable import CRMPropensity
import Testing

@Suite struct SerializationTests {
    /// A small model (a few trees on two features) so every prefix and every byte can be tried.
    static func smallModel() throws -> (BoostedTreesModel, FeatureMatrix) {
        let planted = try PlantedPattern.make(rows: 600, seed: 3)
        let features = try FeatureMatrix(
            columnNames: ["a", "b"],
            rows: (0..<planted.data.rowCount).map { row in
                let x = planted.data.features.row(row)
                return [x[x.startIndex], x[x.startIndex + 2]]
            })
        let data = try LabeledData(features: features, labels: planted.data.labels)
        var configuration = GradientBoostedTrees.Configuration()
        configuration.treeCount = 3
        configuration.maxDepth = 2
        configuration.minChildHessian = 0.1
        let model = try GradientBoostedTrees(configuration: configuration).train(data).model
        return (model, features)
    }

    @Test func boostedTreesRoundTripIsBitIdentical() throws {
        let planted = try PlantedPattern.make(rows: 2_000, seed: 21)
        let model = try GradientBoostedTrees(configuration: PlantedPattern.configuration).train(planted.data).model
        let bytes = model.serialized()
        let restored = try BoostedTreesModel(serialized: bytes)
        #expect(restored == model)
        #expect(restored.serialized() == bytes)
        #expect(bits(try restored.logits(planted.data.features)) == bits(try model.logits(planted.data.features)))
        let row = planted.data.features.row(17)
        #expect(bits(try restored.contributions(row)) == bits(try model.contributions(row)))
        #expect(restored.contributionBias.bitPattern == model.contributionBias.bitPattern)
        #expect(Array(bytes[0..<4]) == Array("CRPG".utf8))
        #expect(bytes[4] == 1 && bytes[5] == 0)  // version 1, little-endian
    }

    @Test func logisticRoundTripIsBitIdentical() throws {
        let planted = try PlantedPattern.make(rows: 1_000, seed: 22)
        let model = try LogisticRegression.fit(planted.data)
        let bytes = model.serialized()
        let restored = try LogisticRegression(serialized: bytes)
        #expect(restored == model)
        #expect(bits(try restored.logits(planted.data.features)) == bits(try model.logits(planted.data.features)))
        #expect(Array(bytes[0..<4]) == Array("CRPL".utf8))
    }

    @Test func everyTruncationThrows() throws {
        let bytes = try Self.smallModel().0.serialized()
        for length in 0..<bytes.count {
            #expect(throws: PropensityError.self) { try BoostedTreesModel(serialized: Array(bytes[0..<length])) }
        }
        let logistic = try LogisticRegression.fit(PlantedPattern.make(rows: 300, seed: 4).data).serialized()
        for length in 0..<logistic.count {
            #expect(throws: PropensityError.self) { try LogisticRegression(serialized: Array(logistic[0..<length])) }
        }
    }

    @Test func everyFlippedByteThrows() throws {
        let bytes = try Self.smallModel().0.serialized()
        for index in bytes.indices {
            var corrupted = bytes
            corrupted[index] ^= 0x5A
            #expect(throws: PropensityError.self) { try BoostedTreesModel(serialized: corrupted) }
        }
    }

    @Test func wrongKindAndVersionAreUnsupported() throws {
        let trees = try Self.smallModel().0.serialized()
        let error = #expect(throws: PropensityError.self) { try LogisticRegression(serialized: trees) }
        #expect(error?.code == .unsupportedFormat)
        var future = trees
        future[4] = 2
        Self.reseal(&future)
        let versionError = #expect(throws: PropensityError.self) { try BoostedTreesModel(serialized: future) }
        #expect(versionError?.code == .unsupportedFormat)
        #expect(versionError?.reason.contains("version 2") == true)
    }

    /// Inconsistent structure behind a valid checksum must be caught by the structural checks.
    @Test func structuralDamageWithValidChecksumThrows() throws {
        let bytes = try Self.smallModel().0.serialized()
        // Header 8, feature count 4, names "a" and "b" (4 + 1 each), base score 4, tree count 4,
        // first tree's node count 4: the root node starts at 34 (feature, threshold, left, value, ...).
        let root = 34
        func damaged(at offset: Int, _ value: UInt32) -> [UInt8] {
            var copy = bytes
            for shift in 0..<4 { copy[offset + shift] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(shift))) }
            Self.reseal(&copy)
            return copy
        }
        let cases: [(offset: Int, value: UInt32, reason: String)] = [
            (root, 7, "feature 7 out of"),                       // feature index beyond the 2 features
            (root + 8, 0, "children 0 and 1 are not after"),    // a cycle back to the root
            (root + 8, 1_000, "children 1000 and 1001"),        // children outside the tree
            (root + 12, Float.infinity.bitPattern, "value inf is not finite"),
            (root + 4, Float.nan.bitPattern, "NaN threshold"),
            (30, 0xFFFF_FFF0, "does not fit"),                  // a huge node count: refused before allocating
        ]
        for damage in cases {
            let error = #expect(throws: PropensityError.self) { try BoostedTreesModel(serialized: damaged(at: damage.offset, damage.value)) }
            #expect(error?.code == .malformedModel)
            #expect(error?.reason.contains(damage.reason) == true, "\(error?.reason ?? "") should mention \(damage.reason)")
        }
    }

    static func reseal(_ bytes: inout [UInt8]) {
        let end = bytes.count - 4
        let checksum = CRC32.checksum(bytes[0..<end])
        for shift in 0..<4 { bytes[end + shift] = UInt8(truncatingIfNeeded: checksum >> (8 * UInt32(shift))) }
    }

    @Test func crc32MatchesTheStandardCheckValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)[...]) == 0xCBF4_3926)
    }
}

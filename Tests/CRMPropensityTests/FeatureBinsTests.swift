@testable import CRMPropensity
import Testing

/// The binning must agree exactly with the Float thresholds the model stores.
@Suite struct FeatureBinsTests {
    @Test func binarySearchMatchesALinearScan() {
        var random = SeededGenerator(seed: 1)
        for size in [0, 1, 2, 3, 7, 8, 254] {
            let cuts = (0..<size).map { _ in Float(random.nextUnit() * 10) }.sorted()
            for _ in 0..<200 {
                let value = Float(random.nextUnit() * 12 - 1)
                let expected = cuts.firstIndex { $0 >= value } ?? cuts.count
                #expect(cuts.withUnsafeBufferPointer { FeatureBins.lowerBound($0, value) } == expected)
            }
        }
    }

    @Test func radixSortSortsSignsAndInfinities() {
        var random = SeededGenerator(seed: 2)
        var values = (0..<500).map { _ in Float(random.nextUnit() * 200 - 100) }
        values += [.infinity, -.infinity, 0, -0.0 + 0, 1e-30, -1e-30, .greatestFiniteMagnitude]
        var sorted = values
        FeatureBins.radixSort(&sorted)
        #expect(sorted == values.sorted())
    }

    @Test func codesAgreeWithThresholds() {
        var random = SeededGenerator(seed: 3)
        let sample = (0..<5_000).map { _ in Float((random.nextUnit() * 50).rounded(.down)) + (random.nextUnit() < 0.5 ? 0 : Float(random.nextUnit())) }
        let cuts = FeatureBins.cutPoints(sorted: sample.sorted(), maxBins: 32)
        #expect(cuts.count <= 31)
        #expect(zip(cuts, cuts.dropFirst()).allSatisfy { $0 < $1 })
        for _ in 0..<2_000 {
            let value = Float(random.nextUnit() * 60 - 5)
            let code = Int(FeatureBins.code(value, cuts: cuts))
            for bin in cuts.indices {
                #expect((code <= bin) == (value <= cuts[bin]))
            }
        }
        #expect(Int(FeatureBins.code(.nan, cuts: cuts)) == cuts.count + 1)
    }

    @Test func heavyTiesStayInOneBin() {
        let sample = [Float](repeating: 0, count: 900) + (1...100).map { Float($0) }
        let cuts = FeatureBins.cutPoints(sorted: sample, maxBins: 16)
        #expect(cuts.count <= 15)
        // Zero is alone in its bin: the first cut sits between 0 and 1.
        #expect(cuts.first.map { $0 >= 0 && $0 < 1 } == true)
        #expect(FeatureBins.code(0, cuts: cuts) != FeatureBins.code(1, cuts: cuts))
        #expect(FeatureBins.cutPoints(sorted: [5, 5, 5], maxBins: 16).isEmpty)
        #expect(FeatureBins.cutPoints(sorted: [1, 2, 3], maxBins: 16) == [1.5, 2.5])
    }

    @Test func codeTableMatchesTheBinarySearch() {
        var random = SeededGenerator(seed: 4)
        let samples: [[Float]] = [
            (0..<3_000).map { _ in Float(random.nextUnit()) },                       // dense cuts in [0, 1)
            (0..<3_000).map { _ in Float((random.nextUnit() - 0.5) * 1e6) },         // both signs, wide
            (0..<3_000).map { _ in Float(random.next(below: 4)) },                   // few values
            (0..<3_000).map { _ in Float(random.nextUnit()) * 1e-3 + 1 },            // many cuts in one bucket
        ]
        let probes: [Float] = [0, -0.0, .infinity, -.infinity, .nan, 1, -1, .leastNonzeroMagnitude, .greatestFiniteMagnitude]
        for sample in samples {
            let cuts = FeatureBins.cutPoints(sorted: sample.sorted(), maxBins: 255)
            CodeTable(cuts: cuts).withCode { code in
                for value in sample + probes + cuts + cuts.map(\.nextUp) {
                    #expect(code(value) == FeatureBins.code(value, cuts: cuts), "value \(value)")
                }
            }
        }
    }
}

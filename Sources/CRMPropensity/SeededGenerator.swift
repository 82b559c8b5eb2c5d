/// A small deterministic random generator (SplitMix64) for everything random in training.
///
/// Training must give a bit-identical model for the same inputs and seed, on every run and every
/// toolchain, so it never touches `SystemRandomNumberGenerator`, and it derives uniform numbers
/// with its own arithmetic instead of the standard library's `random(in:using:)`, whose algorithm
/// is not promised to stay the same between Swift releases.
struct SeededGenerator: Sendable {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    /// A generator for one purpose (binning, bagging, ...) whose stream does not depend on how many
    /// numbers another purpose drew: changing one sampling option never reshuffles the others.
    init(seed: UInt64, stream: UInt64) {
        var mixer = SeededGenerator(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03))
        state = mixer.next()
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform Double in [0, 1) from the top 53 bits.
    mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// A uniform integer in 0..<bound (bound > 0), unbiased by rejection (Lemire's method).
    mutating func next(below bound: Int) -> Int {
        let range = UInt64(bound)
        var product = next().multipliedFullWidth(by: range)
        if product.low < range {
            let threshold = (0 &- range) % range
            while product.low < threshold {
                product = next().multipliedFullWidth(by: range)
            }
        }
        return Int(product.high)
    }

    /// `count` distinct values of 0..<population, in ascending order (a partial Fisher–Yates shuffle).
    mutating func sample(_ count: Int, of population: Int) -> [Int] {
        let take = min(max(count, 0), population)
        if take == population { return Array(0..<population) }
        var pool = Array(0..<population)
        for i in 0..<take {
            let j = i + next(below: population - i)
            pool.swapAt(i, j)
        }
        return pool[0..<take].sorted()
    }
}

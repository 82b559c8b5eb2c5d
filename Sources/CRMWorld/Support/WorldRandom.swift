import Foundation

/// The world's only source of randomness: SplitMix64 with the distributions the generator needs.
///
/// Every draw goes through this type (never `SystemRandomNumberGenerator`, and never the standard
/// library's `random(in:using:)`, whose algorithm may change between toolchains), so the same seed
/// gives the same world on every run. Streams are derived from (seed, salt) pairs by ``derive(_:_:)``
/// so that a customer's draws depend on nothing but the world's seed and the customer's index.
public struct WorldRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    /// A generator for one purpose of one entity: `salt` names the purpose (or the index).
    public init(seed: UInt64, salt: UInt64) {
        state = Self.derive(seed, salt)
    }

    /// SplitMix64's output function: a bijective mixer with full avalanche.
    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A seed for the stream `salt` of `seed`; distinct salts give unrelated streams.
    public static func derive(_ seed: UInt64, _ salt: UInt64) -> UInt64 {
        mix(mix(seed &+ 0x9E37_79B9_7F4A_7C15) ^ mix(salt &* 0xD6E8_FEB8_6659_FD93 &+ 0x2545_F491_4F6C_DD1D))
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// Uniform in [0, 1) with 53 bits.
    @inline(__always)
    mutating func uniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Uniform in [low, high).
    @inline(__always)
    mutating func uniform(_ low: Double, _ high: Double) -> Double {
        low + (high - low) * uniform()
    }

    /// True with probability `p`.
    @inline(__always)
    mutating func chance(_ p: Double) -> Bool {
        uniform() < p
    }

    /// Uniform in `0..<count` (multiply-high: bias below 2⁻³² for the sizes used here).
    @inline(__always)
    mutating func below(_ count: Int) -> Int {
        precondition(count > 0, "below(0)")
        return Int(next().multipliedFullWidth(by: UInt64(count)).high)
    }

    /// Uniform in a closed range of integers.
    @inline(__always)
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + below(range.upperBound - range.lowerBound + 1)
    }

    /// A standard normal draw (Box–Muller, one value per call).
    mutating func normal() -> Double {
        let u1 = max(uniform(), 0x1.0p-60)
        let u2 = uniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// Log-normal with the given median and log-scale standard deviation.
    mutating func logNormal(median: Double, sigma: Double) -> Double {
        median * exp(sigma * normal())
    }

    /// Poisson with the given mean: multiplication for small means, a rounded normal above 30.
    mutating func poisson(_ mean: Double) -> Int {
        guard mean > 0 else { return 0 }
        if mean > 30 {
            return max(0, Int((mean + mean.squareRoot() * normal()).rounded()))
        }
        let limit = exp(-mean)
        var product = uniform()
        var count = 0
        while product > limit {
            count += 1
            product *= uniform()
        }
        return count
    }

    /// One element of a non-empty array.
    mutating func pick<T>(_ values: [T]) -> T {
        values[below(values.count)]
    }

    /// An index drawn with probability proportional to `weights` (not all zero).
    mutating func weighted(_ weights: [Double]) -> Int {
        let total = weights.reduce(0, +)
        var target = uniform() * total
        for (index, weight) in weights.enumerated() {
            target -= weight
            if target < 0 { return index }
        }
        return weights.lastIndex { $0 > 0 } ?? 0
    }

    /// An index drawn from running totals (`cumulative[i]` = sum of weights 0...i), by bisection.
    mutating func weighted(cumulative: [Double]) -> Int {
        guard let total = cumulative.last, total > 0 else { return 0 }
        let target = uniform() * total
        var low = 0
        var high = cumulative.count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] > target { high = middle } else { low = middle + 1 }
        }
        return low
    }
}

/// Running totals of `weights`, for ``WorldRandom/weighted(cumulative:)``.
func runningTotals(_ weights: [Double]) -> [Double] {
    var total = 0.0
    return weights.map { weight in
        total += weight
        return total
    }
}

import Foundation

/// The value axis of a chart: a "nice" top value (1, 2, 2.5 or 5 times a power of ten) at or above
/// the data's maximum, and evenly spaced ticks up to it.
public struct ChartScale: Sendable, Equatable {
    /// The value drawn at the full length of the axis; always > 0.
    public let maximum: Double
    /// Tick values from 0 to ``maximum`` inclusive, evenly spaced.
    public let ticks: [Double]

    /// A scale for values up to `dataMaximum` with about `tickCount` intervals. A maximum that is
    /// zero, negative or not finite gives the scale 0…1 (empty charts still draw an axis).
    public init(dataMaximum: Double, tickCount: Int = 4) {
        let intervals = max(1, tickCount)
        guard dataMaximum.isFinite, dataMaximum > 0 else {
            maximum = 1
            ticks = (0...intervals).map { Double($0) / Double(intervals) }
            return
        }
        let step = Self.niceStep(dataMaximum / Double(intervals))
        let count = max(1, Int((dataMaximum / step).rounded(.up)))
        maximum = step * Double(count)
        ticks = (0...count).map { step * Double($0) }
    }

    /// The smallest of 1, 2, 2.5, 5 × 10ⁿ that is ≥ `raw` (raw > 0).
    public static func niceStep(_ raw: Double) -> Double {
        guard raw.isFinite, raw > 0 else { return 1 }
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        for factor in [1.0, 2, 2.5, 5, 10] where factor * magnitude >= raw * (1 - 1e-12) {
            return factor * magnitude
        }
        return 10 * magnitude
    }

    /// Where `value` falls along an axis of `length`, clamped to 0…length.
    public func position(of value: Double, length: Double) -> Double {
        guard value.isFinite, value > 0 else { return 0 }
        return min(length, value / maximum * length)
    }
}

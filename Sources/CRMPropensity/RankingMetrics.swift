import Foundation

/// Exact measures of how well a ranking of customers finds buyers, as pure functions.
///
/// A campaign contacts the top K customers of a ranking, so the measures that matter are "at K":
/// how many of the K buy (precision), what share of all buyers they are (recall), and how much
/// better than contacting K customers at random that is (lift). With synthetic data whose true
/// purchase probabilities are known, `expectedPrecision` removes the noise of sampled labels and
/// `expectedPrecisionRatio` compares a ranking with the best one possible.
///
/// Conventions, chosen so that no input produces NaN or traps:
/// - A *ranking* is a list of row indices, best first (see `ranking(scores:tieBreak:)`). Entries
///   outside the labels' (or probabilities') indices count as misses.
/// - K is clamped to 0...ranking.count: a campaign of K customers from a shorter list contacts the
///   whole list. K <= 0 or an empty list selects nobody; precision, recall and expected precision of
///   an empty selection are 0.
/// - Without positives, recall and lift are 0 and AUC is 0.5 (no ordering is better than another).
/// - NaN scores rank below every number and tie with each other; NaN probabilities count as 0
///   (expected precision) or 0.5 (log-loss).
public enum RankingMetrics {
    // MARK: Rankings

    /// Row indices ordered by score, highest first; equal scores are ordered by ascending `tieBreak`
    /// (e.g. customer ids), then by row index, so a ranking never depends on sort stability.
    /// Rows without a tie-break id (when `tieBreak` is shorter) fall back to their index.
    public static func ranking<ID: Comparable>(scores: [Double], tieBreak: [ID]) -> [Int] {
        scores.indices.sorted { a, b in
            if let before = compareDescending(scores[a], scores[b]) { return before }
            if a < tieBreak.count, b < tieBreak.count, tieBreak[a] != tieBreak[b] { return tieBreak[a] < tieBreak[b] }
            return a < b
        }
    }

    /// Row indices ordered by score, highest first; equal scores by ascending row index.
    public static func ranking(scores: [Double]) -> [Int] {
        RadixOrder.descending(scores)
    }

    public static func ranking(scores: [Float]) -> [Int] {
        ranking(scores: scores.map(Double.init))
    }

    /// true if `a` ranks before `b`, false if after, nil on a tie (NaN ties with NaN, last).
    @inline(__always)
    private static func compareDescending(_ a: Double, _ b: Double) -> Bool? {
        switch (a.isNaN, b.isNaN) {
        case (true, true): return nil
        case (true, false): return false
        case (false, true): return true
        case (false, false): return a == b ? nil : a > b
        }
    }

    /// The number of rows a campaign of size `k` selects from `ranking`.
    public static func selectionSize(_ k: Int, ranking: [Int]) -> Int {
        min(max(k, 0), ranking.count)
    }

    // MARK: At K, from labels

    /// Buyers among the selected rows.
    public static func hits(at k: Int, ranking: [Int], labels: [Bool]) -> Int {
        ranking.prefix(selectionSize(k, ranking: ranking)).reduce(0) { count, row in
            row >= 0 && row < labels.count && labels[row] ? count + 1 : count
        }
    }

    /// Hits among the top K divided by K (K clamped to the list); 0 for an empty selection.
    public static func precision(at k: Int, ranking: [Int], labels: [Bool]) -> Double {
        let selected = selectionSize(k, ranking: ranking)
        guard selected > 0 else { return 0 }
        return Double(hits(at: k, ranking: ranking, labels: labels)) / Double(selected)
    }

    /// Hits among the top K divided by all positives; 0 without positives.
    public static func recall(at k: Int, ranking: [Int], labels: [Bool]) -> Double {
        let positives = labels.reduce(0) { $1 ? $0 + 1 : $0 }
        guard positives > 0 else { return 0 }
        return Double(hits(at: k, ranking: ranking, labels: labels)) / Double(positives)
    }

    /// Precision at K divided by the base rate (the precision of a random selection); 0 without
    /// positives or for an empty selection.
    public static func lift(at k: Int, ranking: [Int], labels: [Bool]) -> Double {
        let positives = labels.reduce(0) { $1 ? $0 + 1 : $0 }
        guard positives > 0, !labels.isEmpty else { return 0 }
        let baseRate = Double(positives) / Double(labels.count)
        return precision(at: k, ranking: ranking, labels: labels) / baseRate
    }

    // MARK: At K, from true probabilities

    /// The mean true purchase probability of the top K: the precision the selection has in
    /// expectation. 0 for an empty selection.
    public static func expectedPrecision(at k: Int, ranking: [Int], probabilities: [Double]) -> Double {
        let selected = selectionSize(k, ranking: ranking)
        guard selected > 0 else { return 0 }
        var sum = 0.0
        for row in ranking.prefix(selected) where row >= 0 && row < probabilities.count {
            let p = probabilities[row]
            if !p.isNaN { sum += p }
        }
        return sum / Double(selected)
    }

    /// A ranking's expected precision at K divided by the best ranking's (all rows by true
    /// probability). Between 0 and 1 for a permutation; 1 when even the best ranking expects no
    /// buyer (nothing to gain), which includes empty input and K <= 0. The best ranking selects as
    /// many rows as `ranking` does.
    public static func expectedPrecisionRatio(at k: Int, ranking: [Int], probabilities: [Double]) -> Double {
        let selected = selectionSize(k, ranking: ranking)
        let cleaned = probabilities.map { $0.isNaN ? 0 : $0 }
        let best = expectedPrecision(at: selected, ranking: Self.ranking(scores: cleaned), probabilities: cleaned)
        guard best > 0 else { return 1 }
        return expectedPrecision(at: selected, ranking: ranking, probabilities: probabilities) / best
    }

    // MARK: Whole-list measures

    /// Area under the ROC curve: the probability that a random positive scores above a random
    /// negative, counting ties as one half (so all-equal scores give 0.5). Weighted when `weights`
    /// is given (one per score). 0.5 without positive or without negative weight. Uses the first
    /// min(scores, labels) rows.
    public static func auc(scores: [Double], labels: [Bool], weights: [Double]? = nil) -> Double {
        let count = min(scores.count, labels.count, weights?.count ?? Int.max)
        // Ascending score order, NaN lowest; ties are grouped below, so their order does not matter.
        let order = RadixOrder.ascending(Array(scores[0..<count]))
        var totalPositive = 0.0
        var totalNegative = 0.0
        var area = 0.0
        var negativeBelow = 0.0
        var index = 0
        while index < order.count {
            var positive = 0.0
            var negative = 0.0
            let score = scores[order[index]]
            while index < order.count, compareDescending(scores[order[index]], score) == nil {
                let row = order[index]
                let weight = weights.map { usableWeight($0[row]) } ?? 1
                if labels[row] { positive += weight } else { negative += weight }
                index += 1
            }
            area += positive * (negativeBelow + 0.5 * negative)
            negativeBelow += negative
            totalPositive += positive
            totalNegative += negative
        }
        guard totalPositive > 0 && totalNegative > 0 else { return 0.5 }
        return area / (totalPositive * totalNegative)
    }

    public static func auc(scores: [Float], labels: [Bool]) -> Double {
        auc(scores: scores.map(Double.init), labels: labels)
    }

    /// Weighted mean negative log-likelihood of the labels under the probabilities, with
    /// probabilities clipped to [1e-15, 1 - 1e-15] so a confident miss costs ~34.5, not infinity.
    /// 0 for empty input or zero total weight. Uses the first min(probabilities, labels) rows.
    public static func logLoss(probabilities: [Double], labels: [Bool], weights: [Double]? = nil) -> Double {
        let count = min(probabilities.count, labels.count, weights?.count ?? Int.max)
        var loss = 0.0
        var weightSum = 0.0
        for row in 0..<count {
            let weight = weights.map { usableWeight($0[row]) } ?? 1
            let raw = probabilities[row].isNaN ? 0.5 : probabilities[row]
            let p = min(max(raw, 1e-15), 1 - 1e-15)
            loss -= weight * (labels[row] ? log(p) : log(1 - p))
            weightSum += weight
        }
        return weightSum > 0 ? loss / weightSum : 0
    }

    /// Negative, NaN or infinite weights count as 0, so one bad weight cannot turn a measure into NaN.
    private static func usableWeight(_ weight: Double) -> Double {
        weight.isFinite && weight > 0 ? weight : 0
    }
}

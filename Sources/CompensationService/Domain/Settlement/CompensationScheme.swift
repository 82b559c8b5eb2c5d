/// Names one version of one grade's scheme; every statement line carries the version that
/// produced it.
public struct RuleVersion: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var grade: String
    public var version: Int

    public init(grade: String, version: Int) {
        self.grade = grade
        self.version = version
    }

    public static func < (lhs: RuleVersion, rhs: RuleVersion) -> Bool { (lhs.grade, lhs.version) < (rhs.grade, rhs.version) }

    /// "M3 v2".
    public var description: String { "\(grade) v\(version)" }
}

/// One band of the commission schedule: the part of the month's total net commission from
/// `lowerFen` (inclusive) up to `upperFen` (exclusive; nil for the open top band) is paid at `rate`.
public struct CommissionTier: Sendable, Hashable, Codable {
    public var lowerFen: Int64
    public var upperFen: Int64?
    public var rate: BasisPoints

    public init(lowerFen: Int64, upperFen: Int64?, rate: BasisPoints) {
        self.lowerFen = lowerFen
        self.upperFen = upperFen
        self.rate = rate
    }

    /// The part of `totalFen` inside this band (0 when the total does not reach it).
    public func portion(of totalFen: Int64) -> Int64 {
        guard totalFen > lowerFen else { return 0 }
        let top = upperFen.map { min(totalFen, $0) } ?? totalFen
        return Fen.difference(top, lowerFen)
    }
}

/// The flat rate for each non-commission source. (Commission is paid through the tiers; a flat
/// commission rate is a single open tier from 0.)
public struct SourceRates: Sendable, Hashable, Codable {
    public var marginInterest: BasisPoints
    public var productRebate: BasisPoints
    public var advisoryFee: BasisPoints

    public init(marginInterest: BasisPoints, productRebate: BasisPoints, advisoryFee: BasisPoints) {
        self.marginInterest = marginInterest
        self.productRebate = productRebate
        self.advisoryFee = advisoryFee
    }

    /// The rate for `source`, or nil for commission sources (paid through the tiers).
    public func rate(for source: IncomeSource) -> BasisPoints? {
        switch source {
        case .cashCommission, .marginCommission: return nil
        case .marginInterest: return marginInterest
        case .productRebate: return productRebate
        case .advisoryFee: return advisoryFee
        }
    }
}

/// One version of a grade's compensation scheme, in force from `effectiveFrom` (inclusive) until
/// `effectiveUntil` (exclusive; nil while it lasts).
///
/// **Which version settles a month:** the version in force on the month's **first day**. A version
/// starting mid-month therefore first applies to the following month, and a month is never split
/// between versions. Late items carried into a month are paid under that month's version.
public struct CompensationScheme: Sendable, Hashable, Codable {
    public var grade: String
    public var version: Int
    public var effectiveFrom: CalendarDay
    public var effectiveUntil: CalendarDay?
    /// Marginal bands on the month's total net commission (cash and margin trades together): from
    /// 0, contiguous, increasing, the last one open.
    public var commissionTiers: [CommissionTier]
    public var rates: SourceRates
    /// The other trade costs (by name) that net commission deducts besides exchange and regulatory fees.
    public var deductedCosts: [String]

    public init(grade: String, version: Int, effectiveFrom: CalendarDay, effectiveUntil: CalendarDay? = nil,
                commissionTiers: [CommissionTier], rates: SourceRates, deductedCosts: [String] = []) {
        self.grade = grade
        self.version = version
        self.effectiveFrom = effectiveFrom
        self.effectiveUntil = effectiveUntil
        self.commissionTiers = commissionTiers
        self.rates = rates
        self.deductedCosts = deductedCosts
    }

    public var ruleVersion: RuleVersion { RuleVersion(grade: grade, version: version) }

    public var deductedCostSet: Set<String> { Set(deductedCosts) }

    /// Whether this version is in force on `day`.
    public func covers(_ day: CalendarDay) -> Bool {
        day >= effectiveFrom && effectiveUntil.map { day < $0 } ?? true
    }

    /// Every violated field, named under `prefix`: a missing grade, a bad period, rates outside
    /// 0–10 000 bp, and tiers that do not start at 0, are not increasing, overlap, leave a gap or do
    /// not end open (each naming the tier index).
    public func violations(prefix: String = "scheme") -> [SettlementViolation] {
        var violations: [SettlementViolation] = []
        if grade.isEmpty {
            violations.append(SettlementViolation(field: "\(prefix).grade", description: "is required"))
        }
        if let until = effectiveUntil, until <= effectiveFrom {
            violations.append(SettlementViolation(field: "\(prefix).effective_until", description: "\(until) is not after effective_from \(effectiveFrom)"))
        }
        for (name, rate) in [("margin_interest", rates.marginInterest), ("product_rebate", rates.productRebate), ("advisory_fee", rates.advisoryFee)]
            where !rate.isAllowed {
            violations.append(SettlementViolation(field: "\(prefix).rates.\(name)", description: "\(rate) is outside 0–10000 bp"))
        }
        violations += Self.tierViolations(commissionTiers, field: "\(prefix).commission_tiers")
        return violations
    }

    /// The tier checks alone, naming `field[i]`.
    public static func tierViolations(_ tiers: [CommissionTier], field: String = "commission_tiers") -> [SettlementViolation] {
        guard let first = tiers.first else {
            return [SettlementViolation(field: field, description: "must list at least one tier, starting at 0 fen")]
        }
        var violations: [SettlementViolation] = []
        func refuse(_ index: Int, _ description: String, suffix: String = "") {
            violations.append(SettlementViolation(field: "\(field)[\(index)]\(suffix)", description: "tier \(index): \(description)"))
        }
        if first.lowerFen != 0 {
            refuse(0, "must start at 0 fen, starts at \(first.lowerFen) fen")
        }
        for (index, tier) in tiers.enumerated() {
            if !tier.rate.isAllowed {
                refuse(index, "rate \(tier.rate) is outside 0–10000 bp", suffix: ".rate")
            }
            if let upper = tier.upperFen, upper <= tier.lowerFen {
                refuse(index, "is not increasing: ends at \(upper) fen, not above its start \(tier.lowerFen) fen")
            }
            guard index > 0 else { continue }
            let previous = tiers[index - 1]
            if tier.lowerFen <= previous.lowerFen {
                refuse(index, "is not increasing: starts at \(tier.lowerFen) fen, not above tier \(index - 1)'s start \(previous.lowerFen) fen")
            } else if let previousUpper = previous.upperFen {
                if tier.lowerFen < previousUpper {
                    refuse(index, "overlaps tier \(index - 1): starts at \(tier.lowerFen) fen, before tier \(index - 1) ends at \(previousUpper) fen")
                } else if tier.lowerFen > previousUpper {
                    refuse(index, "leaves a gap: starts at \(tier.lowerFen) fen, but tier \(index - 1) ends at \(previousUpper) fen")
                }
            } else {
                refuse(index, "overlaps tier \(index - 1), which is open-ended")
            }
        }
        if let last = tiers.last, let upper = last.upperFen {
            refuse(tiers.count - 1, "the last tier must be open-ended; amounts from \(upper) fen up would have no rate", suffix: ".upper_fen")
        }
        return violations
    }
}

/// Every grade's scheme versions, validated: each version sound, versions of a grade unique and
/// not overlapping in time. Answers which version settles a grade's month.
public struct SchemeCatalog: Sendable {
    private let byGrade: [String: [CompensationScheme]]

    public init(_ schemes: [CompensationScheme]) throws(SettlementError) {
        var violations: [SettlementViolation] = []
        var byGrade: [String: [(Int, CompensationScheme)]] = [:]
        for (index, scheme) in schemes.enumerated() {
            let found = scheme.violations(prefix: "schemes[\(index)]")
            violations += found
            if found.isEmpty { byGrade[scheme.grade, default: []].append((index, scheme)) }
        }
        var conflicts: [(Int, SettlementViolation)] = []
        for versions in byGrade.values {
            for (position, (earlierIndex, earlier)) in versions.enumerated() {
                for (index, scheme) in versions.dropFirst(position + 1) {
                    if scheme.version == earlier.version {
                        conflicts.append((index, SettlementViolation(
                            field: "schemes[\(index)].version",
                            description: "grade \(scheme.grade) version \(scheme.version) is also schemes[\(earlierIndex)]"
                        )))
                    } else if Self.overlap(scheme, earlier) {
                        conflicts.append((index, SettlementViolation(
                            field: "schemes[\(index)].effective_from",
                            description: "\(scheme.ruleVersion) overlaps schemes[\(earlierIndex)] (\(earlier.ruleVersion)) in time"
                        )))
                    }
                }
            }
        }
        violations += conflicts.sorted { ($0.0, $0.1.description) < ($1.0, $1.1.description) }.map(\.1)
        guard violations.isEmpty else { throw .invalid(violations) }
        self.byGrade = byGrade.mapValues { $0.map(\.1).sorted { $0.effectiveFrom < $1.effectiveFrom } }
    }

    private static func overlap(_ a: CompensationScheme, _ b: CompensationScheme) -> Bool {
        (b.effectiveUntil.map { a.effectiveFrom < $0 } ?? true) && (a.effectiveUntil.map { b.effectiveFrom < $0 } ?? true)
    }

    /// The version of `grade`'s scheme in force on `month`'s first day.
    public func scheme(grade: String, month: CalendarMonth) throws(SettlementError) -> CompensationScheme {
        let day = month.firstDay
        guard let scheme = byGrade[grade]?.first(where: { $0.covers(day) }) else {
            throw .noSchemeInForce(grade: grade, month: month)
        }
        return scheme
    }

    /// Every version, by grade then start.
    public var schemes: [CompensationScheme] {
        byGrade.keys.sorted().flatMap { byGrade[$0] ?? [] }
    }
}

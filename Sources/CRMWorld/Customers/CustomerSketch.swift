import CRMProtos
import Foundation

/// Who a customer is, drawn before their year is simulated: identity, account history,
/// assessments, branch and managers, wealth and the latent habits (trading, browsing, preferred
/// families) that drive their events. Everything here is drawn from the customer's own identity
/// stream, so it never depends on other customers.
struct CustomerSketch: Sendable {
    let index: Int
    let id: String
    let kind: Crm_Profiles_V1_CustomerKind
    let name: String
    let branch: Int
    let province: String
    let channel: String
    let phone: String
    let email: String
    let idDocumentType: String
    let idDocumentNumber: String
    let timeline: StatusTimeline
    /// The account's open date; nil for prospects.
    let openDay: WorldDay?
    /// Individuals' birth date.
    let birthDay: WorldDay?
    /// The assessments worth recording (the last few), oldest first; empty when never assessed.
    let assessments: [AssessmentRecord]
    /// The assessment's facts (the same on every recorded assessment); nil when never assessed.
    let profile: SuitabilityProfile?
    let expectedReturnBp: Int32
    /// Manager (index into the organisation) per period, in order; empty without a manager.
    let assignments: [(manager: Int, from: WorldDay, until: WorldDay?)]

    // Latent habits.
    /// Assets at the start of the span (or brought in at opening), in yuan.
    let wealthYuan: Double
    /// Mean cash-account trades per month before the monthly drift.
    let tradesPerMonth: Double
    /// Mean product-page views per month before the monthly drift.
    let viewsPerMonth: Double
    /// Relative interest in each family (indexed by ``WorldFamily/rawValue``).
    let familyPreference: [Double]
    /// Preferred stock sectors (indices into ``Market/sectors``).
    let sectors: [Int]
    let hasMarginAccount: Bool
    /// Mean service contacts per month.
    let contactsPerMonth: Double

    /// The manager in charge on `day`, if any.
    func manager(on day: WorldDay) -> Int? {
        assignments.last { $0.from <= day && ($0.until.map { day < $0 } ?? true) }?.manager
            ?? (day < (assignments.first?.from ?? day) ? assignments.first?.manager : nil)
    }

    /// The assessment in force for the whole of `first...last`, if any.
    func assessmentCovers(_ first: WorldDay, _ last: WorldDay) -> Bool {
        assessments.contains { $0.covers(first, last) }
    }
}

/// Draws ``CustomerSketch``es.
struct SketchFactory {
    let configuration: WorldConfiguration
    let calendar: WorldCalendar
    let organisation: Organisation

    static let yearDays = 365.25

    func sketch(index: Int, _ random: inout WorldRandom) -> CustomerSketch {
        let spanStart = calendar.spanStart
        let spanEnd = calendar.spanEnd
        let today = configuration.today
        let id = World.customerID(index)
        let kind: Crm_Profiles_V1_CustomerKind = random.chance(0.03) ? .institution : .individual

        // Account history.
        let finalRoll = random.uniform()
        let final: Crm_Profiles_V1_AccountStatus
        switch finalRoll {
        case ..<0.04: final = .prospect
        case ..<0.07: final = .frozen
        case ..<0.08: final = .reportedLost
        case ..<0.16: final = .closed
        default: final = .normal
        }
        var openDay: WorldDay?
        var timeline: StatusTimeline
        if final == .prospect {
            let created = spanEnd - WorldDay(random.int(1...700))
            timeline = StatusTimeline(created: created, status: .prospect, reason: "潜在客户登记")
        } else {
            var open = spanEnd - WorldDay(15 * Self.yearDays * pow(random.uniform(), 1.25))
            // The change that ends a non-normal account, inside the span or before it.
            var endDay: WorldDay?
            let inSpan: Bool
            switch final {
            case .frozen: inSpan = random.chance(0.7)
            case .reportedLost: inSpan = random.chance(0.8)
            case .closed: inSpan = random.chance(0.5)
            default: inSpan = true
            }
            if final != .normal {
                if inSpan || open + 200 >= spanStart {
                    endDay = spanStart + 15 + WorldDay(random.below(Int(spanEnd - spanStart) - 20))
                } else {
                    endDay = open + 100 + WorldDay(random.below(Int(spanStart - open) - 100))
                }
                if let endDay, open > endDay - 90 { open = endDay - 90 - WorldDay(random.below(600)) }
            }
            openDay = open
            if open >= spanStart, random.chance(0.4) {
                timeline = StatusTimeline(created: open - WorldDay(random.int(7...90)), status: .prospect, reason: "潜在客户登记")
                timeline.change(on: open, to: .normal, reason: "开户")
            } else {
                timeline = StatusTimeline(created: open, status: .normal, reason: "开户")
            }
            if final == .normal {
                Self.episodes(&timeline, open: open, spanStart: spanStart, spanEnd: spanEnd, &random)
            } else if let endDay {
                timeline.change(on: endDay, to: final, reason: Self.reason(for: final, &random))
            }
        }

        // Identity.
        let branch = random.weighted(cumulative: organisation.branchTotals)
        let city = organisation.branches[branch].city
        var birthDay: WorldDay?
        if kind == .individual {
            let age = min(85, max(20, 46 + 13 * random.normal()))
            var birth = today - WorldDay(age * Self.yearDays) - WorldDay(random.below(365))
            let earliestOpen = openDay ?? timeline.created
            let adult = WorldDays.adding(years: 18, to: birth)
            if adult > earliestOpen { birth = WorldDays.adding(years: -18, to: earliestOpen) - WorldDay(random.int(0...3_000)) }
            birthDay = birth
        }
        let name = kind == .individual ? Names.person(&random) : Names.institution(city: city, &random)
        let province = random.chance(0.9) ? organisation.branches[branch].province : Names.cities[random.below(Names.cities.count)].province
        let channel = kind == .institution ? "branch" : ["branch", "app", "website", "referral"][random.weighted([0.35, 0.4, 0.15, 0.1])]
        let phone = "1" + random.pick(["3", "5", "7", "8", "9"]) + Wire.padded(random.below(1_000_000_000), width: 9)
        let email = random.chance(0.4) ? "user\(index + 1)@example.com" : ""
        let (documentType, documentNumber) = Self.document(kind: kind, birthDay: birthDay, &random)

        // Wealth and habits.
        let tiny = kind == .individual && random.chance(0.14)
        let wealth: Double = kind == .institution ? random.logNormal(median: 3_000_000, sigma: 1.3)
            : tiny ? random.logNormal(median: 500, sigma: 1.2) : random.logNormal(median: 80_000, sigma: 1.5)
        let ageYears = birthDay.map { Double(today - $0) / Self.yearDays }

        // Suitability.
        var assessments: [AssessmentRecord] = []
        var profile: SuitabilityProfile?
        var expectedReturn: Int32 = 0
        if let open = openDay, !random.chance(0.025) {
            let drawn = Self.suitability(kind: kind, wealth: wealth, age: ageYears, &random)
            profile = drawn.profile
            expectedReturn = drawn.expectedReturnBp
            assessments = Self.assessmentDates(firstOn: open, today: today, keepFrom: spanStart - 730, &random)
        }

        let tolerance = profile?.riskTolerance ?? 3
        let activity = Self.tradingActivity(tiny: tiny, kind: kind, &random)
        let browses = !tiny && random.chance(0.62)
        let views = browses ? random.logNormal(median: 2.5, sigma: 1.0) : 0
        let preference = Self.preferences[tolerance - 1].map { $0 * random.uniform(0.5, 1.5) }
        var sectors = [random.below(Market.sectors.count)]
        sectors.append((sectors[0] + 1 + random.below(Market.sectors.count - 1)) % Market.sectors.count)
        let margin = final != .prospect && (wealth >= 300_000 ? random.chance(0.36) : random.chance(0.012)) && !tiny
        let contacts = 0.08 + (wealth >= 500_000 ? 0.35 : wealth >= 100_000 ? 0.15 : 0)

        // Managers.
        let hasManager = kind == .institution || (final == .prospect ? random.chance(0.6) : random.chance(0.88))
        var assignments: [(manager: Int, from: WorldDay, until: WorldDay?)] = []
        if hasManager {
            assignments = assignmentsOf(branch: branch, from: openDay ?? timeline.created, &random)
        }

        return CustomerSketch(
            index: index, id: id, kind: kind, name: name, branch: branch, province: province, channel: channel, phone: phone,
            email: email, idDocumentType: documentType, idDocumentNumber: documentNumber, timeline: timeline, openDay: openDay,
            birthDay: birthDay, assessments: assessments, profile: profile, expectedReturnBp: expectedReturn, assignments: assignments,
            wealthYuan: wealth, tradesPerMonth: activity, viewsPerMonth: views, familyPreference: preference, sectors: sectors,
            hasMarginAccount: margin, contactsPerMonth: contacts
        )
    }

    /// A normal account's passing troubles in the span: a freeze (2%) or a loss report (0.6%).
    static func episodes(_ timeline: inout StatusTimeline, open: WorldDay, spanStart: WorldDay, spanEnd: WorldDay, _ random: inout WorldRandom) {
        let first = max(open + 30, spanStart)
        guard first < spanEnd - 70 else { return }
        let roll = random.uniform()
        if roll < 0.02 {
            let day = first + WorldDay(random.below(Int(spanEnd - 70 - first)))
            timeline.change(on: day, to: .frozen, reason: reason(for: .frozen, &random))
            timeline.change(on: day + WorldDay(random.int(15...60)), to: .normal, reason: "解除冻结")
        } else if roll < 0.026 {
            let day = first + WorldDay(random.below(Int(spanEnd - 70 - first)))
            timeline.change(on: day, to: .reportedLost, reason: "客户挂失")
            timeline.change(on: day + WorldDay(random.int(3...20)), to: .normal, reason: "解除挂失")
        }
    }

    static func reason(for status: Crm_Profiles_V1_AccountStatus, _ random: inout WorldRandom) -> String {
        switch status {
        case .frozen: return random.pick(["司法冻结", "身份证件过期", "长期不动户冻结", "反洗钱核查"])
        case .reportedLost: return "客户挂失"
        case .closed: return random.pick(["客户申请销户", "转户至其他券商", "账户清理销户"])
        default: return "状态变更"
        }
    }

    /// An identity document: an 18-character resident ID (with its ISO 7064 check character), a
    /// passport, or an institution's unified social credit code. Synthetic numbers.
    static func document(kind: Crm_Profiles_V1_CustomerKind, birthDay: WorldDay?, _ random: inout WorldRandom) -> (String, String) {
        if kind == .institution {
            let alphabet = Array("0123456789ABCDEFGHJKLMNPQRTUWXY")
            let body = (0..<16).map { _ in String(alphabet[random.below(alphabet.count)]) }.joined()
            return ("BUSINESS_LICENCE", "91" + body)
        }
        if random.chance(0.01) { return ("PASSPORT", "E" + Wire.padded(random.below(100_000_000), width: 8)) }
        let region = random.pick(["110101", "310115", "440305", "330106", "320102", "510107", "420106", "610113", "500103", "120101"])
        let birth = Wire.compactDate(birthDay ?? 0)
        let body = region + birth + Wire.padded(random.below(1_000), width: 3)
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        let sum = zip(body.utf8, weights).reduce(0) { $0 + Int($1.0 - 48) * $1.1 }
        let check = Array("10X98765432")[sum % 11]
        return ("ID_CARD", body + String(check))
    }

    /// The assessment's facts: risk tolerance, category, horizon and varieties, by kind, wealth and age.
    static func suitability(kind: Crm_Profiles_V1_CustomerKind, wealth: Double, age: Double?,
                            _ random: inout WorldRandom) -> (profile: SuitabilityProfile, expectedReturnBp: Int32) {
        let professional = kind == .institution ? random.chance(0.4) : random.chance(wealth >= 5_000_000 ? 0.25 : 0.015)
        if professional {
            let tolerance = random.chance(0.8) ? 5 : 4
            return (SuitabilityProfile(investorClass: .professional, riskTolerance: tolerance, lowestCategory: false, horizon: 4,
                                       varieties: Array(1...8)), Int32(random.int(1_000...3_000)))
        }
        var weights = [0.12, 0.24, 0.34, 0.2, 0.1]
        if let age, age >= 65 { weights = [0.3, 0.35, 0.25, 0.08, 0.02] }
        if let age, age < 35 { weights = [0.06, 0.16, 0.34, 0.28, 0.16] }
        let tolerance = random.weighted(weights) + 1
        let lowest = tolerance == 1 && random.chance(0.15)
        var horizonWeights = [0.15, 0.35, 0.3, 0.2]
        if let age, age >= 65 { horizonWeights = [0.35, 0.4, 0.2, 0.05] }
        let horizon = random.weighted(horizonWeights) + 1
        var varieties = [1]
        if random.chance(0.6) { varieties.append(2) }
        if random.chance(tolerance >= 2 ? 0.85 : 0.4) { varieties.append(3) }
        if random.chance(0.85) { varieties.append(4) }
        if random.chance(tolerance >= 4 ? 0.15 : 0.02) { varieties.append(5) }
        if random.chance(0.15 + (wealth >= 1_000_000 ? 0.45 : wealth >= 300_000 ? 0.2 : 0)) { varieties.append(6) }
        if random.chance(0.12 + (wealth >= 500_000 ? 0.3 : 0)) { varieties.append(7) }
        if random.chance(0.15) { varieties.append(8) }
        let returns: [ClosedRange<Int>] = [200...300, 300...500, 500...800, 800...1_500, 1_200...3_000]
        return (SuitabilityProfile(investorClass: .ordinary, riskTolerance: tolerance, lowestCategory: lowest, horizon: horizon,
                                   varieties: varieties), Int32(random.int(returns[tolerance - 1])))
    }

    /// Assessments every two years from the opening: usually renewed shortly before expiry, sometimes
    /// lapsed for a while or for good. Keeps those expiring after `keepFrom`, and always the last.
    static func assessmentDates(firstOn open: WorldDay, today: WorldDay, keepFrom: WorldDay, _ random: inout WorldRandom) -> [AssessmentRecord] {
        var all: [AssessmentRecord] = []
        var day = open
        while day <= today {
            let expiry = WorldDays.adding(years: 2, to: day)
            all.append(AssessmentRecord(assessedOn: day, expiresOn: expiry))
            if random.chance(0.9) {
                day = expiry - WorldDay(random.int(0...45))
            } else if random.chance(0.55) {
                day = expiry + WorldDay(random.int(20...500))
            } else {
                break
            }
        }
        let kept = all.filter { $0.expiresOn >= keepFrom }
        if kept.isEmpty, let last = all.last { return [last] }
        return kept
    }

    /// Mean trades per month: many dormant accounts, most light, a few very active.
    static func tradingActivity(tiny: Bool, kind: Crm_Profiles_V1_CustomerKind, _ random: inout WorldRandom) -> Double {
        if tiny { return random.chance(0.9) ? 0 : random.logNormal(median: 0.3, sigma: 0.8) }
        switch random.uniform() {
        case ..<0.33: return 0
        case ..<0.71: return random.logNormal(median: 0.9, sigma: 0.7)
        case ..<0.92: return random.logNormal(median: 3.2, sigma: 0.5)
        case ..<0.99: return random.logNormal(median: 10, sigma: 0.4)
        default: return random.logNormal(median: 36, sigma: 0.35) * (kind == .institution ? 1.5 : 1)
        }
    }

    /// Interest in each family by risk tolerance (C1 … C5), before a customer's own variation.
    static let preferences: [[Double]] = [
        [5, 4, 1, 0.3, 0.5, 0.2, 2, 0.5, 0.8, 0.3],
        [4, 4, 2, 0.8, 1, 0.4, 1.5, 1, 1, 0.5],
        [2.5, 2.5, 3, 2, 2.5, 1, 1, 1, 1, 0.8],
        [1.5, 1.5, 3, 3.5, 3.5, 2, 0.6, 1.2, 1, 1],
        [1, 1, 2.5, 4, 4, 3, 0.4, 1.5, 1.2, 1],
    ]

    /// The manager history: a manager of the branch from `start`, a transfer to a colleague when the
    /// manager leaves the firm, and for about 2.5% of customers a transfer in mid-month of the year.
    func assignmentsOf(branch: Int, from start: WorldDay, _ random: inout WorldRandom) -> [(manager: Int, from: WorldDay, until: WorldDay?)] {
        let firstYearDay = calendar.month(purchaseMonth: 0).firstDay
        guard var current = organisation.colleague(in: branch, on: max(start, firstYearDay), excluding: nil, &random) else { return [] }
        var transferDay: WorldDay?
        if random.chance(0.025) {
            let month = calendar.month(purchaseMonth: random.below(configuration.months))
            transferDay = month.firstDay + WorldDay(random.int(4...24))
        }
        var result: [(manager: Int, from: WorldDay, until: WorldDay?)] = []
        var from = start
        while true {
            let leave = organisation.managers[current].leftOn.flatMap { $0 > from ? $0 : nil }
            let transfer = transferDay.flatMap { $0 > from ? $0 : nil }
            guard let change = [leave, transfer].compactMap({ $0 }).min(),
                  let next = organisation.colleague(in: branch, on: change, excluding: current, &random)
            else {
                result.append((current, from, nil))
                return result
            }
            if change == transfer { transferDay = nil }
            result.append((current, from, change))
            current = next
            from = change
        }
    }
}

import CRMProtos
import CRMWorld

/// What a generated world puts into the compensation service, as the messages HR would send: the
/// organisation (branches, teams, client managers), who served each customer when, a commission
/// scheme per grade and each month's coefficients.
///
/// Every value is a pure function of the world, so it is tested without services, and a reload
/// sends exactly what the first load sent: the service counts an identical assignment or scheme as
/// unchanged, which is what makes the loader's compensation step safe to repeat.
public struct CompensationPlan: Sendable {
    public let world: World

    public init(world: World) {
        self.world = world
    }

    // MARK: Organisation

    public var branches: [Crm_Compensation_V1_Branch] {
        world.organisation.branches.map { branch in .with { $0.branchID = branch.id; $0.name = branch.name } }
    }

    public var teams: [Crm_Compensation_V1_Team] {
        world.organisation.teams.map { team in .with { $0.teamID = team.id; $0.branchID = team.branchID; $0.name = team.name } }
    }

    /// The roster as it stood before anyone left: managers who left during the year are ACTIVE.
    /// The service refuses to assign customers to a manager who has left, yet those managers served
    /// their customers until they left, so their assignments are recorded first and the leaving
    /// after (``currentRoster``), as a migration of the previous system's history would.
    public var startingRoster: [Crm_Compensation_V1_ClientManager] {
        world.organisation.managers.map { manager in
            var record = manager.record
            if record.status == .left { record.status = .active }
            return record
        }
    }

    /// The roster today: each manager with their current status (ACTIVE, SUSPENDED or LEFT), and
    /// for those who left their last working day (the day before they stopped serving).
    public var currentRoster: [Crm_Compensation_V1_ClientManager] {
        world.organisation.managers.map { manager in
            var record = manager.record
            if record.status == .left, let left = manager.leftOn { record.leftOn = WorldDays.date(left - 1) }
            return record
        }
    }

    // MARK: Assignments

    /// The assignments of customer `index`: each period with one client manager, from the day
    /// the account opened (a prospect's: the day it was recorded), a transfer ending one period on
    /// the day the next begins; none for a customer without a manager.
    public func assignments(ofCustomer index: Int) -> [Crm_Compensation_V1_Assignment] {
        world.managerAssignments(ofCustomer: index).map(Self.wire)
    }

    static func wire(_ assignment: ManagerAssignment) -> Crm_Compensation_V1_Assignment {
        .with {
            $0.customerID = assignment.customerID
            $0.managerID = assignment.managerID
            $0.effectiveFrom = assignment.effectiveFromDate
            if let until = assignment.effectiveUntilDate { $0.effectiveUntil = until }
        }
    }

    /// The assignments of the customers of `range` in batches of at most `limit` (AssignCustomers
    /// takes 5,000), one customer's periods never split between two batches, so each customer's
    /// history is stored all or nothing.
    public func assignmentBatches(_ range: Range<Int>, limit: Int = 5_000) -> [[Crm_Compensation_V1_Assignment]] {
        precondition(limit >= 1, "a batch holds at least one assignment")
        var batches: [[Crm_Compensation_V1_Assignment]] = []
        var current: [Crm_Compensation_V1_Assignment] = []
        for index in range {
            let periods = assignments(ofCustomer: index)
            if !current.isEmpty, current.count + periods.count > limit {
                batches.append(current)
                current = []
            }
            current += periods
        }
        if !current.isEmpty { batches.append(current) }
        return batches
    }

    // MARK: Schemes

    /// The months the service settles: every simulated month (the warm-up holds trades, so it holds
    /// income, and the first month settled must be the first with income) through the held-out month.
    public var settlementMonths: [WorldMonth] {
        world.calendar.months.map(\.month)
    }

    /// One commission scheme per grade, in force from the first simulated month on.
    public var schemes: [Crm_Compensation_V1_Scheme] {
        let from = world.calendar.months[0].firstDay
        return Organisation.grades.compactMap { grade in Self.scheme(grade: grade, effectiveFrom: from) }
    }

    /// Where the commission bands break, in fen of a manager's month of net commission: ¥3,000,
    /// ¥6,000 and ¥12,000. A generated manager looks after about 200 retail customers whose trades
    /// net ¥2,500–¥4,500 of commission in a typical month, so most managers reach the second band,
    /// the busiest tenth the third, and only an exceptional month the fourth.
    public static let tierBoundsFen: [Int64] = [0, 300_000, 600_000, 1_200_000]

    /// The rates of one grade, in basis points: the commission bands (marginal, like tax brackets),
    /// then margin interest, product rebate and advisory fee.
    ///
    /// Typical of a Chinese brokerage's client-manager pay: 10–35 % of the net commission their
    /// customers bring (higher grades and higher bands earn more), a few percent of margin financing
    /// interest, and 20–40 % of the firm's sales rebate on the products they sell.
    public struct GradeRates: Sendable, Equatable {
        public var commissionBandsBp: [UInt32]
        public var marginInterestBp: UInt32
        public var productRebateBp: UInt32
        public var advisoryFeeBp: UInt32
    }

    /// M1 assistant … M5 principal.
    public static let rates: [String: GradeRates] = [
        "M1": GradeRates(commissionBandsBp: [1_000, 1_200, 1_500, 1_800], marginInterestBp: 300, productRebateBp: 2_000, advisoryFeeBp: 1_000),
        "M2": GradeRates(commissionBandsBp: [1_200, 1_500, 1_800, 2_200], marginInterestBp: 400, productRebateBp: 2_500, advisoryFeeBp: 1_200),
        "M3": GradeRates(commissionBandsBp: [1_500, 1_800, 2_200, 2_600], marginInterestBp: 500, productRebateBp: 3_000, advisoryFeeBp: 1_500),
        "M4": GradeRates(commissionBandsBp: [1_800, 2_200, 2_600, 3_000], marginInterestBp: 600, productRebateBp: 3_500, advisoryFeeBp: 1_800),
        "M5": GradeRates(commissionBandsBp: [2_000, 2_500, 3_000, 3_500], marginInterestBp: 700, productRebateBp: 4_000, advisoryFeeBp: 2_000),
    ]

    /// The other trade costs net commission deducts besides the trade's exchange and regulatory
    /// fees: none, as the generated trades' fees already hold the handling and transfer fees
    /// (过户费); listing `transfer` (priced in services/compensation/config.json) would deduct it twice.
    public static let deductedCosts: [String] = []

    /// The scheme of `grade` (nil for a grade without rates), open-ended from `effectiveFrom`.
    public static func scheme(grade: String, effectiveFrom: WorldDay) -> Crm_Compensation_V1_Scheme? {
        guard let rates = rates[grade] else { return nil }
        return .with {
            $0.grade = grade
            $0.effectiveFrom = WorldDays.date(effectiveFrom)
            $0.commissionTiers = zip(tierBoundsFen.indices, rates.commissionBandsBp).map { index, rate in
                .with {
                    $0.lowerFen = tierBoundsFen[index]
                    $0.upperFen = index + 1 < tierBoundsFen.count ? tierBoundsFen[index + 1] : 0
                    $0.rateBp = rate
                }
            }
            $0.rates = .with {
                $0.marginInterestBp = rates.marginInterestBp
                $0.productRebateBp = rates.productRebateBp
                $0.advisoryFeeBp = rates.advisoryFeeBp
            }
            $0.deductedCosts = deductedCosts
        }
    }

    // MARK: Coefficients

    /// The month's assessment and compliance coefficients for every manager still serving on its
    /// first day, as HR would set them after the monthly review: most managers 1, a quarter
    /// marked down to 0.95 or 0.9, a fifth up to 1.05 or 1.1, and about one in fifty cut to 0.8 for
    /// a compliance finding. Drawn from the seed, the manager and the month, so a rerun sets the same.
    public func coefficients(month: WorldMonth) -> [Crm_Compensation_V1_ManagerCoefficients] {
        world.organisation.managers.enumerated().compactMap { index, manager -> Crm_Compensation_V1_ManagerCoefficients? in
            if let left = manager.leftOn, left <= month.firstDay { return nil }
            var random = WorldRandom(seed: WorldRandom.derive(world.configuration.seed, 0xC0EF_0000_0000 &+ UInt64(index)),
                                     salt: UInt64(month.year * 12 + month.month))
            let review = Self.unit(&random), compliance = Self.unit(&random)
            let assessment = review < 0.10 ? "0.9" : review < 0.25 ? "0.95" : review < 0.80 ? "1" : review < 0.95 ? "1.05" : "1.1"
            return .with {
                $0.managerID = manager.id
                $0.month = month.description
                $0.assessment = assessment
                if compliance < 0.02 {
                    $0.compliance = "0.8"
                    $0.note = "monthly review: assessment \(assessment); compliance finding (generated)"
                } else {
                    $0.compliance = "1"
                    $0.note = "monthly review: assessment \(assessment) (generated)"
                }
            }
        }
    }

    /// A uniform draw in [0, 1).
    static func unit(_ random: inout WorldRandom) -> Double {
        Double(random.next() >> 11) / Double(1 << 53)
    }
}

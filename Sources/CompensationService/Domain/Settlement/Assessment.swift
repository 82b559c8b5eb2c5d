/// Where a manager sits in the organisation, for the roll-ups.
public struct ManagerPlacement: Sendable, Hashable, Codable {
    public var managerID: String
    public var teamID: String
    public var branchID: String
    /// The last working day of a manager who has left; nil while they work here.
    public var leftOn: CalendarDay?

    public init(managerID: String, teamID: String, branchID: String, leftOn: CalendarDay? = nil) {
        self.managerID = managerID
        self.teamID = teamID
        self.branchID = branchID
        self.leftOn = leftOn
    }
}

/// What counts as an effective account (from configuration): a customer under management at month
/// end with at least `minimumMonthEndAssetsFen` of assets that day and at least
/// `minimumTradesInMonth` trades in the month.
public struct EffectiveAccountDefinition: Sendable, Hashable, Codable {
    public var minimumMonthEndAssetsFen: Int64
    public var minimumTradesInMonth: Int

    public init(minimumMonthEndAssetsFen: Int64, minimumTradesInMonth: Int = 0) {
        self.minimumMonthEndAssetsFen = minimumMonthEndAssetsFen
        self.minimumTradesInMonth = minimumTradesInMonth
    }
}

/// A customer's total assets at the end of `day`; it holds until the customer's next point.
public struct CustomerAssets: Sendable, Hashable, Codable {
    public var customerID: String
    public var day: CalendarDay
    public var totalAssetsFen: Int64

    public init(customerID: String, day: CalendarDay, totalAssetsFen: Int64) {
        self.customerID = customerID
        self.day = day
        self.totalAssetsFen = totalAssetsFen
    }
}

/// Money moved in (positive) or out (negative) of a customer's accounts on `day`.
public struct AssetFlow: Sendable, Hashable, Codable {
    public var customerID: String
    public var day: CalendarDay
    public var amountFen: Int64

    public init(customerID: String, day: CalendarDay, amountFen: Int64) {
        self.customerID = customerID
        self.day = day
        self.amountFen = amountFen
    }
}

/// A customer's account opening.
public struct CustomerOpening: Sendable, Hashable, Codable {
    public var customerID: String
    public var openedOn: CalendarDay

    public init(customerID: String, openedOn: CalendarDay) {
        self.customerID = customerID
        self.openedOn = openedOn
    }
}

/// The figures a manager (or a unit) is assessed on for a month. All additive, so a unit's figures
/// are the sums of its managers'.
public struct AssessmentFigures: Sendable, Hashable, Codable {
    /// Customers in the manager's charge on the month's last day.
    public var customersAtMonthEnd: Int = 0
    /// Their total assets that day.
    public var monthEndAssetsFen: Int64 = 0
    /// The month's daily assets under management, averaged over the month's days (rounded once,
    /// half-up); nil when no daily assets were given.
    public var averageAssetsFen: Int64?
    /// Accounts opened in the month while in the manager's charge.
    public var newCustomers: Int = 0
    /// Customers at month end meeting the ``EffectiveAccountDefinition``.
    public var effectiveAccounts: Int = 0
    /// Inflows minus outflows in the month.
    public var netNewAssetsFen: Int64 = 0
    /// Product sale amounts in the month.
    public var productSalesFen: Int64 = 0
    /// Net commission of the month's trades.
    public var commissionContributedFen: Int64 = 0

    public init() {}

    /// The sum of two sets of figures (averages add when both are given).
    public static func + (lhs: AssessmentFigures, rhs: AssessmentFigures) -> AssessmentFigures {
        var sum = AssessmentFigures()
        sum.customersAtMonthEnd = lhs.customersAtMonthEnd + rhs.customersAtMonthEnd
        sum.monthEndAssetsFen = Fen.sum(lhs.monthEndAssetsFen, rhs.monthEndAssetsFen)
        switch (lhs.averageAssetsFen, rhs.averageAssetsFen) {
        case (nil, nil): sum.averageAssetsFen = nil
        case let (a, b): sum.averageAssetsFen = Fen.sum(a ?? 0, b ?? 0)
        }
        sum.newCustomers = lhs.newCustomers + rhs.newCustomers
        sum.effectiveAccounts = lhs.effectiveAccounts + rhs.effectiveAccounts
        sum.netNewAssetsFen = Fen.sum(lhs.netNewAssetsFen, rhs.netNewAssetsFen)
        sum.productSalesFen = Fen.sum(lhs.productSalesFen, rhs.productSalesFen)
        sum.commissionContributedFen = Fen.sum(lhs.commissionContributedFen, rhs.commissionContributedFen)
        return sum
    }
}

/// The level a set of figures is rolled up to.
public enum AssessmentScope: Sendable, Hashable, Codable, CustomStringConvertible {
    case manager(String)
    case team(String)
    case branch(String)
    case headOffice

    public var description: String {
        switch self {
        case .manager(let id): return "manager \(id)"
        case .team(let id): return "team \(id)"
        case .branch(let id): return "branch \(id)"
        case .headOffice: return "head office"
        }
    }
}

/// One manager's figures for the month.
public struct ManagerAssessment: Sendable, Hashable, Codable {
    public var placement: ManagerPlacement
    public var figures: AssessmentFigures

    public init(placement: ManagerPlacement, figures: AssessmentFigures) {
        self.placement = placement
        self.figures = figures
    }
}

/// A team's, branch's or the head office's figures: the sums over its managers.
public struct UnitAssessment: Sendable, Hashable, Codable {
    public var scope: AssessmentScope
    /// Sorted.
    public var managerIDs: [String]
    public var figures: AssessmentFigures

    public init(scope: AssessmentScope, managerIDs: [String], figures: AssessmentFigures) {
        self.scope = scope
        self.managerIDs = managerIDs
        self.figures = figures
    }
}

/// A month's assessment: per manager, rolled up per team, branch and head office; plus the flows,
/// sales, commission and openings that fell on days when the customer had no manager.
public struct AssessmentReport: Sendable, Hashable, Codable {
    public var month: CalendarMonth
    /// Every roster manager, by id.
    public var managers: [ManagerAssessment]
    /// By team id.
    public var teams: [UnitAssessment]
    /// By branch id.
    public var branches: [UnitAssessment]
    public var headOffice: UnitAssessment
    /// Activity on days with no manager in charge (not in any roll-up).
    public var unassigned: AssessmentFigures
}

/// Everything an assessment aggregates. All lists may hold other months; only the month's days
/// count (and earlier asset points, which carry into the month).
public struct AssessmentInputs: Sendable {
    public var month: CalendarMonth
    /// The roster: every manager who may have customers.
    public var managers: [ManagerPlacement]
    public var timeline: AssignmentTimeline
    public var items: [IncomeItem]
    /// Daily total assets; empty when not available (then averages are nil).
    public var assets: [CustomerAssets]
    public var flows: [AssetFlow]
    public var openings: [CustomerOpening]
    public var effectiveAccount: EffectiveAccountDefinition
    /// The other trade costs net commission deducts (as in the schemes).
    public var deductedCosts: Set<String>

    public init(month: CalendarMonth, managers: [ManagerPlacement], timeline: AssignmentTimeline, items: [IncomeItem] = [],
                assets: [CustomerAssets] = [], flows: [AssetFlow] = [], openings: [CustomerOpening] = [],
                effectiveAccount: EffectiveAccountDefinition, deductedCosts: Set<String> = []) {
        self.month = month
        self.managers = managers
        self.timeline = timeline
        self.items = items
        self.assets = assets
        self.flows = flows
        self.openings = openings
        self.effectiveAccount = effectiveAccount
        self.deductedCosts = deductedCosts
    }
}

/// Computes assessment figures: pure aggregation, attributing each day's activity to the manager
/// in charge of the customer that day.
public enum Assessment {
    /// The month's figures. Refuses a roster listing a manager twice or missing a manager who has
    /// customers in the month.
    public static func report(_ inputs: AssessmentInputs) throws(SettlementError) -> AssessmentReport {
        let month = inputs.month
        let timeline = inputs.timeline
        var violations: [SettlementViolation] = []
        var placements: [String: ManagerPlacement] = [:]
        for (index, placement) in inputs.managers.enumerated() {
            if placement.managerID.isEmpty {
                violations.append(SettlementViolation(field: "managers[\(index)].manager_id", description: "is required"))
            } else if placements[placement.managerID] != nil {
                violations.append(SettlementViolation(field: "managers[\(index)].manager_id", description: "\(placement.managerID) is listed twice"))
            } else {
                placements[placement.managerID] = placement
            }
        }
        guard violations.isEmpty else { throw .invalid(violations) }
        let roster = CreditRoster(managers: placements.values.map { ($0.managerID, $0.leftOn) })

        var figures: [String: AssessmentFigures] = [:]
        var unassigned = AssessmentFigures()
        func add(_ customerID: String, on day: CalendarDay, _ change: (inout AssessmentFigures) -> Void) {
            if let managerID = timeline.managerID(of: customerID, on: day) {
                change(&figures[managerID, default: AssessmentFigures()])
            } else {
                change(&unassigned)
            }
        }

        // Daily assets: each customer's points sorted, carried forward day by day.
        var points: [String: [CustomerAssets]] = [:]
        for point in inputs.assets where point.day <= month.lastDay { points[point.customerID, default: []].append(point) }
        // Two points on one day: the larger total wins, so the order of the inputs does not matter.
        for key in Array(points.keys) { points[key]?.sort { ($0.day, $0.totalAssetsFen) < ($1.day, $1.totalAssetsFen) } }
        func assets(of customerID: String, on day: CalendarDay) -> Int64 {
            points[customerID]?.last { $0.day <= day }?.totalAssetsFen ?? 0
        }

        var tradesInMonth: [String: Int] = [:]
        for item in inputs.items where month.contains(item.day) {
            switch item.kind {
            case .trade(let trade):
                tradesInMonth[item.customerID, default: 0] += 1
                add(item.customerID, on: item.day) {
                    $0.commissionContributedFen = Fen.sum($0.commissionContributedFen, trade.netCommissionFen(deducting: inputs.deductedCosts))
                }
            case .productSale(let sale):
                let change: (inout AssessmentFigures) -> Void = { $0.productSalesFen = Fen.sum($0.productSalesFen, sale.amountFen) }
                // A sale credited to a manager on the roster (and not gone by its day) counts for
                // that manager, as on statements.
                if let credited = roster.creditedManager(of: item) {
                    change(&figures[credited, default: AssessmentFigures()])
                } else {
                    add(item.customerID, on: item.day, change)
                }
            case .marginInterest, .advisoryFee:
                break
            }
        }
        for flow in inputs.flows where month.contains(flow.day) {
            add(flow.customerID, on: flow.day) { $0.netNewAssetsFen = Fen.sum($0.netNewAssetsFen, flow.amountFen) }
        }
        for opening in inputs.openings where month.contains(opening.openedOn) {
            add(opening.customerID, on: opening.openedOn) { $0.newCustomers += 1 }
        }

        let lastDay = month.lastDay
        for customerID in timeline.unorderedCustomerIDs {
            guard let managerID = timeline.managerID(of: customerID, on: lastDay) else { continue }
            let monthEnd = assets(of: customerID, on: lastDay)
            var entry = figures[managerID, default: AssessmentFigures()]
            entry.customersAtMonthEnd += 1
            entry.monthEndAssetsFen = Fen.sum(entry.monthEndAssetsFen, monthEnd)
            if monthEnd >= inputs.effectiveAccount.minimumMonthEndAssetsFen,
               tradesInMonth[customerID, default: 0] >= inputs.effectiveAccount.minimumTradesInMonth {
                entry.effectiveAccounts += 1
            }
            figures[managerID] = entry
        }

        if !inputs.assets.isEmpty {
            // Σ over the month's days of the assets of the customers in charge that day, per manager;
            // then one division by the day count, rounded once.
            var dailySums: [String: Int128] = [:]
            for customerID in timeline.unorderedCustomerIDs {
                let series = points[customerID] ?? []
                let assignments = timeline.assignments(of: customerID)
                var cursor = 0
                var current: Int64 = 0
                var day = month.firstDay
                while day <= lastDay {
                    while cursor < series.count, series[cursor].day <= day {
                        current = series[cursor].totalAssetsFen
                        cursor += 1
                    }
                    if let assignment = assignments.first(where: { $0.covers(day) }) {
                        dailySums[assignment.managerID, default: 0] += Int128(current)
                    }
                    day = day.adding(days: 1)
                }
            }
            for managerID in Set(placements.keys).union(figures.keys) {
                figures[managerID, default: AssessmentFigures()].averageAssetsFen =
                    FenArithmetic.rounded(dailySums[managerID] ?? 0, dividedBy: Int128(month.dayCount))
            }
        }

        let unknown = figures.keys.filter { placements[$0] == nil }.sorted()
        guard unknown.isEmpty else {
            throw .invalid(unknown.map { SettlementViolation(field: "managers", description: "manager \($0) has customers in \(month) but is not on the roster") })
        }

        let emptyFigures: AssessmentFigures = {
            var empty = AssessmentFigures()
            if !inputs.assets.isEmpty { empty.averageAssetsFen = 0 }
            return empty
        }()
        let managers = placements.values.sorted { $0.managerID < $1.managerID }.map {
            ManagerAssessment(placement: $0, figures: figures[$0.managerID] ?? emptyFigures)
        }
        func rollUp(_ scope: (ManagerPlacement) -> AssessmentScope) -> [UnitAssessment] {
            var units: [AssessmentScope: [ManagerAssessment]] = [:]
            for manager in managers { units[scope(manager.placement), default: []].append(manager) }
            return units.map { unit, members in
                UnitAssessment(scope: unit, managerIDs: members.map(\.placement.managerID),
                               figures: members.dropFirst().reduce(members[0].figures) { $0 + $1.figures })
            }.sorted { $0.scope.description < $1.scope.description }
        }
        let headOffice = UnitAssessment(
            scope: .headOffice, managerIDs: managers.map(\.placement.managerID),
            figures: managers.isEmpty ? emptyFigures : managers.dropFirst().reduce(managers[0].figures) { $0 + $1.figures }
        )
        return AssessmentReport(
            month: month, managers: managers,
            teams: rollUp { .team($0.teamID) },
            branches: rollUp { .branch($0.branchID) },
            headOffice: headOffice, unassigned: unassigned
        )
    }
}

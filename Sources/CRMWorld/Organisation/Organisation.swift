import CRMProtos

/// A branch office (营业部): where customers open accounts and client managers work.
public struct Branch: Sendable, Hashable {
    /// `B001` …
    public let id: String
    /// e.g. 上海世纪大道证券营业部.
    public let name: String
    public let city: String
    public let province: String
    /// Relative share of the firm's customers.
    public let weight: Double
}

/// A team of client managers within a branch.
public struct Team: Sendable, Hashable {
    /// `B001-T1` …
    public let id: String
    public let branchID: String
    public let name: String
}

/// A client manager as the compensation service records them, with when they left the firm.
public struct GeneratedManager: Sendable {
    /// The record for `UpsertManager` (current status: ACTIVE, SUSPENDED or LEFT).
    public let record: Crm_Compensation_V1_ClientManager
    /// Index into ``Organisation/branches``.
    public let branchIndex: Int
    /// The first day the manager no longer serves (LEFT managers only); their customers pass to a
    /// colleague on that day.
    public let leftOn: WorldDay?

    public var id: String { record.managerID }
}

/// Branches, teams and client managers, generated eagerly (small): about one branch per 20,000
/// customers (3 to 60), one manager per 200 customers (at least two per branch), teams of up to eight.
public struct Organisation: Sendable {
    public let branches: [Branch]
    public let teams: [Team]
    public let managers: [GeneratedManager]
    /// Each branch's managers (indices into ``managers``); the first never leaves.
    let managersByBranch: [[Int]]
    /// Running totals of the branches' weights, for drawing a customer's branch.
    let branchTotals: [Double]

    /// Compensation grades, junior first: M1 assistant, M2 junior, M3 manager, M4 senior, M5 principal.
    public static let grades = ["M1", "M2", "M3", "M4", "M5"]

    init(configuration: WorldConfiguration, calendar: WorldCalendar) {
        var random = WorldRandom(seed: configuration.seed, salt: 0x0A9_0001)
        let branchCount = min(60, max(3, configuration.customers / 20_000))
        var branches: [Branch] = []
        for index in 0..<branchCount {
            // One branch per city first, then second and third branches in the largest cities.
            let round = index / Names.cities.count
            let city = Names.cities[index % Names.cities.count]
            let street = Names.streets[(index * 7 + round * 3) % Names.streets.count]
            branches.append(Branch(
                id: "B" + Wire.padded(index + 1, width: 3),
                name: city.name + street + "证券营业部",
                city: city.name, province: city.province,
                weight: city.size / Double(round + 1) * random.uniform(0.8, 1.25)
            ))
        }
        let totalWeight = branches.reduce(0) { $0 + $1.weight }
        let managerCount = max(branchCount * 2, configuration.customers / 200)
        var perBranch = branches.map { max(2, Int((Double(managerCount) * $0.weight / totalWeight).rounded())) }
        // Rounding may leave a few too many or too few: adjust the largest branch.
        if let largest = perBranch.indices.max(by: { perBranch[$0] < perBranch[$1] }) {
            perBranch[largest] = max(2, perBranch[largest] + managerCount - perBranch.reduce(0, +))
        }

        var teams: [Team] = []
        var managers: [GeneratedManager] = []
        var byBranch: [[Int]] = []
        let teamNames = ["财富管理一组", "财富管理二组", "财富管理三组", "机构业务组", "高端客户组", "综合理财组", "网金服务组", "投顾服务组"]
        let firstLeaveDay = calendar.month(purchaseMonth: min(1, configuration.months - 1)).firstDay
        let lastLeaveDay = calendar.month(purchaseMonth: configuration.months - 1).lastDay
        for (branchIndex, branch) in branches.enumerated() {
            let count = perBranch[branchIndex]
            let teamCount = (count + 7) / 8
            for team in 0..<teamCount {
                teams.append(Team(id: "\(branch.id)-T\(team + 1)", branchID: branch.id, name: teamNames[team % teamNames.count] + (team >= teamNames.count ? "\(team / teamNames.count + 1)" : "")))
            }
            var indices: [Int] = []
            for slot in 0..<count {
                let index = managers.count
                var leftOn: WorldDay?
                var status = Crm_Compensation_V1_ManagerStatus.active
                if slot > 0 {
                    let roll = random.uniform()
                    if roll < 0.05 {
                        status = .left
                        let span = Int(lastLeaveDay - firstLeaveDay)
                        leftOn = firstLeaveDay + WorldDay(random.below(max(1, span)))
                    } else if roll < 0.07 {
                        status = .suspended
                    }
                }
                var record = Crm_Compensation_V1_ClientManager()
                record.managerID = "M" + Wire.padded(index + 1, width: 5)
                record.name = Names.person(&random)
                record.branchID = branch.id
                record.teamID = "\(branch.id)-T\(slot % teamCount + 1)"
                record.grade = Self.grades[random.weighted([0.15, 0.3, 0.3, 0.17, 0.08])]
                record.status = status
                managers.append(GeneratedManager(record: record, branchIndex: branchIndex, leftOn: leftOn))
                indices.append(index)
            }
            byBranch.append(indices)
        }
        self.branches = branches
        self.teams = teams
        self.managers = managers
        self.managersByBranch = byBranch
        self.branchTotals = runningTotals(branches.map(\.weight))
    }

    /// Whether manager `index` still serves on `day`.
    func serves(_ index: Int, on day: WorldDay) -> Bool {
        managers[index].leftOn.map { day < $0 } ?? true
    }

    /// A manager of `branch` serving on `day`, other than `excluded`, drawn uniformly; nil when none.
    func colleague(in branch: Int, on day: WorldDay, excluding excluded: Int?, _ random: inout WorldRandom) -> Int? {
        let candidates = managersByBranch[branch].filter { $0 != excluded && serves($0, on: day) }
        return candidates.isEmpty ? nil : random.pick(candidates)
    }
}

import CRMProtos
import CRMWorld
import CRMWorldLoader
import Testing

/// What the loader sends compensation for a generated world: the organisation, the assignments,
/// the schemes and the coefficients, checked against the world and the service's rules.
@Suite struct CompensationPlanTests {
    static let world = World(WorldConfiguration(customers: 1_200, seed: 31))
    let world = Self.world
    var plan: CompensationPlan { CompensationPlan(world: world) }

    // MARK: Organisation

    @Test func everyManagerSitsInARegisteredTeamOfARegisteredBranch() {
        let branches = Set(plan.branches.map(\.branchID))
        #expect(branches.count == world.organisation.branches.count)
        #expect(plan.branches.allSatisfy { !$0.name.isEmpty })
        let teams = Dictionary(uniqueKeysWithValues: plan.teams.map { ($0.teamID, $0.branchID) })
        #expect(teams.values.allSatisfy(branches.contains))
        for roster in [plan.startingRoster, plan.currentRoster] {
            #expect(roster.count == world.organisation.managers.count)
            #expect(Set(roster.map(\.managerID)).count == roster.count)
            for manager in roster {
                #expect(branches.contains(manager.branchID))
                #expect(teams[manager.teamID] == manager.branchID, "\(manager.managerID) in team \(manager.teamID)")
                #expect(Organisation.grades.contains(manager.grade))
                #expect(!manager.name.isEmpty)
            }
        }
    }

    @Test func leaversAreActiveUntilTheirAssignmentsAreInThenLeft() {
        // A firm large enough to have managers who left (about 5 % of them do).
        let world = World(WorldConfiguration(customers: 40_000, seed: 31))
        let plan = CompensationPlan(world: world)
        let leavers = world.organisation.managers.filter { $0.leftOn != nil }.map(\.id)
        #expect(!leavers.isEmpty, "a world of this size has managers who left")
        #expect(plan.startingRoster.allSatisfy { $0.status != .left })
        let current = Dictionary(uniqueKeysWithValues: plan.currentRoster.map { ($0.managerID, $0) })
        #expect(leavers.allSatisfy { current[$0]?.status == .left })
        // Nothing but the status and a leaver's last working day (the day before they stopped
        // serving) differs between the two rosters.
        let leftOn = Dictionary(uniqueKeysWithValues: world.organisation.managers.compactMap { manager in manager.leftOn.map { (manager.id, $0) } })
        for (start, now) in zip(plan.startingRoster, plan.currentRoster) {
            var start = start
            start.status = now.status
            if let left = leftOn[now.managerID], now.status == .left {
                #expect(now.leftOn == WorldDays.date(left - 1))
                start.leftOn = now.leftOn
            }
            #expect(start == now)
        }
    }

    // MARK: Assignments

    @Test func assignmentsAreTheGeneratedCustomersManagersOverTime() {
        for index in stride(from: 0, to: world.configuration.customers, by: 7) {
            let customer = world.customer(at: index)
            let expected = customer.assignments.map { assignment in
                Crm_Compensation_V1_Assignment.with {
                    $0.customerID = customer.id
                    $0.managerID = assignment.managerID
                    $0.effectiveFrom = WorldDays.date(assignment.effectiveFrom)
                    if let until = assignment.effectiveUntil { $0.effectiveUntil = WorldDays.date(until) }
                }
            }
            #expect(plan.assignments(ofCustomer: index) == expected, "customer \(customer.id)")
            // The manager today is the one whose period is still open.
            #expect(expected.last.map { $0.hasEffectiveUntil ? "" : $0.managerID } ?? "" == customer.record.managerID, "customer \(customer.id)")
        }
    }

    @Test func periodsStartAtTheOpenDateChainWithoutGapsAndEndWhenTheManagerLeft() {
        let managers = Dictionary(uniqueKeysWithValues: world.organisation.managers.map { ($0.id, $0) })
        var transfers = 0, withManager = 0
        for index in 0..<world.configuration.customers {
            let periods = world.managerAssignments(ofCustomer: index)
            guard let first = periods.first else { continue }
            withManager += 1
            let customer = world.customer(at: index)
            if customer.record.hasOpenDate {
                #expect(first.effectiveFrom == WorldDays.day(of: customer.record.openDate), "customer \(customer.id)")
            }
            for (earlier, later) in zip(periods, periods.dropFirst()) {
                #expect(earlier.effectiveUntil == later.effectiveFrom)
                #expect(earlier.managerID != later.managerID)
                transfers += 1
            }
            for period in periods {
                if let until = period.effectiveUntil { #expect(until > period.effectiveFrom) }
                if let left = managers[period.managerID]?.leftOn {
                    #expect(period.effectiveUntil.map { $0 <= left } == true, "\(period.managerID) left on \(left) but keeps \(customer.id)")
                }
            }
        }
        #expect(withManager > world.configuration.customers * 3 / 4)
        #expect(transfers > 0, "some customers change manager in a world of this size")
    }

    @Test func batchesHoldAtMostTheLimitAndNeverSplitACustomer() {
        let all = (0..<300).flatMap(plan.assignments(ofCustomer:))
        let batches = plan.assignmentBatches(0..<300, limit: 7)
        #expect(batches.allSatisfy { (1...7).contains($0.count) })
        #expect(batches.flatMap { $0 } == all)
        var seenIn: [String: Int] = [:]
        for (number, batch) in batches.enumerated() {
            for assignment in batch {
                #expect(seenIn.updateValue(number, forKey: assignment.customerID).map { $0 == number } ?? true,
                        "customer \(assignment.customerID) is split between batches")
            }
        }
        #expect(plan.assignmentBatches(0..<300).count == 1)
        #expect(plan.assignmentBatches(5..<5).isEmpty)
    }

    // MARK: Schemes

    @Test func everyGradeHasAMarginalSchemeFromTheFirstMonthWithIncome() throws {
        let schemes = plan.schemes
        #expect(schemes.map(\.grade) == Organisation.grades)
        let spanStart = world.calendar.months[0].firstDay
        for scheme in schemes {
            #expect(WorldDays.day(of: scheme.effectiveFrom) == spanStart)
            #expect(!scheme.hasEffectiveUntil)
            let tiers = scheme.commissionTiers
            #expect(tiers.first?.lowerFen == 0)
            #expect(tiers.last?.upperFen == 0, "the last tier is open")
            for (lower, upper) in zip(tiers, tiers.dropFirst()) {
                #expect(lower.upperFen == upper.lowerFen && lower.upperFen > lower.lowerFen)
                #expect(upper.rateBp > lower.rateBp, "marginal rates rise with the bands")
            }
            #expect(tiers.allSatisfy { (1...10_000).contains($0.rateBp) })
            #expect([scheme.rates.marginInterestBp, scheme.rates.productRebateBp, scheme.rates.advisoryFeeBp].allSatisfy { (1...10_000).contains($0) })
            #expect(scheme.deductedCosts.isEmpty, "the trades' fees hold the transfer fee already")
        }
        // A higher grade earns at least as much on every source and band.
        for (junior, senior) in zip(schemes, schemes.dropFirst()) {
            #expect(zip(junior.commissionTiers, senior.commissionTiers).allSatisfy { $0.rateBp < $1.rateBp })
            #expect(junior.rates.marginInterestBp < senior.rates.marginInterestBp)
            #expect(junior.rates.productRebateBp < senior.rates.productRebateBp)
            #expect(junior.rates.advisoryFeeBp < senior.rates.advisoryFeeBp)
        }
        // Every trade of the world falls on or after the schemes' start.
        let firstTrade = (0..<50).compactMap { world.customer(at: $0).events.trades.first }.map { WorldDays.day(ofMillis: $0.tradedAt.unixMillis) }.min()
        #expect(try #require(firstTrade) >= spanStart)
    }

    @Test func theMonthsSettledRunFromTheWarmUpThroughTheHeldOutMonth() {
        let months = plan.settlementMonths
        #expect(months.count == world.configuration.months + world.configuration.warmUpMonths)
        #expect(months.last == world.configuration.month(world.configuration.heldOutMonth))
        #expect(zip(months, months.dropFirst()).allSatisfy { $0.advanced(by: 1) == $1 })
    }

    // MARK: Coefficients

    @Test func coefficientsAreTheReviewsOfServingManagersAndRepeatable() {
        let month = world.configuration.month(world.configuration.heldOutMonth)
        let coefficients = plan.coefficients(month: month)
        #expect(coefficients == CompensationPlan(world: world).coefficients(month: month))
        let serving = world.organisation.managers.filter { manager in manager.leftOn.map { $0 > month.firstDay } ?? true }.map(\.id)
        #expect(coefficients.map(\.managerID) == serving)
        #expect(coefficients.allSatisfy { $0.month == month.description })
        #expect(coefficients.allSatisfy { ["0.9", "0.95", "1", "1.05", "1.1"].contains($0.assessment) })
        #expect(coefficients.allSatisfy { ["1", "0.8"].contains($0.compliance) && !$0.note.isEmpty })
        // Across the year, most reviews leave pay as it is.
        let year = plan.settlementMonths.flatMap { plan.coefficients(month: $0) }
        let unchanged = year.filter { $0.assessment == "1" }.count
        #expect(Double(unchanged) / Double(year.count) > 0.45)
        #expect(year.contains { $0.assessment != "1" })
    }
}

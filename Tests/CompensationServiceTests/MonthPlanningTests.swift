import CompensationSettlement
import CRMPrimitives
import Testing

/// The pure planning of a month's settlement: who gets a statement, which items go on it, what is
/// refused before anything is computed.
@Suite struct MonthPlanningTests {
    typealias F = Fixture

    /// M1 has C1 all of March; C2 passes from M1 to M2 on the 16th; C3 has nobody.
    static func index() -> AssignmentIndex {
        var builder = AssignmentIndex.Builder(managers: ["M1", "M2"])
        builder.add(customerID: "C1", managerID: "M1", from: F.day(2025, 1, 1).daysSince1970, until: nil)
        builder.add(customerID: "C2", managerID: "M1", from: F.day(2025, 1, 1).daysSince1970, until: F.day(2025, 3, 16).daysSince1970)
        builder.add(customerID: "C2", managerID: "M2", from: F.day(2025, 3, 16).daysSince1970, until: nil)
        return builder.build()
    }

    static func inputs(_ index: AssignmentIndex = index(), schemes: [CompensationScheme] = [F.schemeM1]) -> MonthInputs {
        MonthInputs(month: F.march, through: 1_000, book: SettlementBook(), assignments: index, catalog: F.catalog(schemes), coefficients: [:])
    }

    static func member(_ id: String, grade: String = "M1") -> SettlementMember {
        SettlementMember(managerID: id, grade: grade, branchID: "B1", teamID: "T1", settleWithoutIncome: true)
    }

    @Test func theIndexAnswersWhoHadACustomerOnADay() {
        let index = Self.index()
        #expect(index.slot(of: "C1", on: F.day(2025, 3, 31)) == 0)
        #expect(index.slot(of: "C2", on: F.day(2025, 3, 15)) == 0)
        #expect(index.slot(of: "C2", on: F.day(2025, 3, 16)) == 1)
        #expect(index.slot(of: "C1", on: F.day(2024, 12, 31)) == nil)
        #expect(index.slot(of: "C3", on: F.day(2025, 3, 16)) == nil)
        #expect(index.managerIDs == ["M1", "M2"])
    }

    @Test func itemsGoToTheManagerInChargeOnTheirDayInLoadOrderAndTheRestIsUnassigned() throws {
        let parts = [
            [F.trade("t1", customer: "C1", on: F.day(2025, 3, 3), commission: 1_000), F.trade("t2", customer: "C2", on: F.day(2025, 3, 10), commission: 2_000)],
            [F.trade("t3", customer: "C2", on: F.day(2025, 3, 20), commission: 3_000), F.trade("t4", customer: "C3", on: F.day(2025, 3, 21), commission: 4_000),
             F.trade("t5", customer: "C1", on: F.day(2025, 3, 25), commission: 5_000)],
        ]
        let plan = try MonthPlanning.plan(Self.inputs(), parts: parts, members: ["M1": Self.member("M1"), "M2": Self.member("M2")], strict: false)
        #expect(plan.tasks.map(\.member.managerID) == ["M1", "M2"])
        #expect(plan.tasks[0].items.map(\.sourceEventID) == ["t1", "t2", "t5"])
        #expect(plan.tasks[1].items.map(\.sourceEventID) == ["t3"])
        #expect(plan.unassigned.map(\.itemCount) == [1])
        #expect(plan.unassigned.first?.incomeFen == 4_000)
    }

    @Test func aManagerWithIncomeButNoRosterEntryOrSchemeIsRefusedBeforeAnythingIsComputed() {
        let parts = [[F.trade("t1", customer: "C1", on: F.day(2025, 3, 3), commission: 1_000), F.trade("t2", customer: "C2", on: F.day(2025, 3, 20), commission: 2_000)]]
        // M1 is on the roster with a grade that has no scheme; M2 has income and is not on the roster.
        let error = #expect(throws: Refusal.self) {
            try MonthPlanning.plan(Self.inputs(), parts: parts, members: ["M1": Self.member("M1", grade: "M9")], strict: false)
        }
        #expect(error?.kind == .failedPrecondition)
        #expect(error?.fields.map(\.field) == ["managers[M1].grade", "managers[M2].grade"])
        #expect(error?.fields.last?.description.contains("not on the roster") == true)
    }

    @Test func aRefusalListsAHundredManagersAndCountsTheRest() {
        var builder = AssignmentIndex.Builder(managers: [])
        var items: [IncomeItem] = []
        for n in 0..<130 {
            builder.add(customerID: "C\(n)", managerID: "X\(1_000 + n)", from: F.day(2025, 1, 1).daysSince1970, until: nil)
            items.append(F.trade("t\(n)", customer: "C\(n)", on: F.day(2025, 3, 3), commission: 100))
        }
        let error = #expect(throws: Refusal.self) {
            try MonthPlanning.plan(Self.inputs(builder.build()), parts: [items], members: [:], strict: false)
        }
        #expect(error?.fields.count == 101)
        #expect(error?.fields.last?.description == "and 30 more")
        #expect(error?.message.hasSuffix("; and 30 more") == true)
    }

    @Test func strictPlanningRequiresEveryMemberToBeSettled() throws {
        let members = ["M1": Self.member("M1"), "M3": Self.member("M3", grade: "M9")]
        let lenient = try MonthPlanning.plan(Self.inputs(), parts: [[]], members: members, strict: false)
        #expect(lenient.tasks.map(\.member.managerID) == ["M1"])
        #expect(throws: Refusal.self) {
            try MonthPlanning.plan(Self.inputs(), parts: [[]], members: members, strict: true)
        }
    }
}

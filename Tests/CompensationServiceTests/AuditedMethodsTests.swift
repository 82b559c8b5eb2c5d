import CRMAudit
import CRMProtos
import CRMRPC
import CRMTestSupport
import Testing
@testable import CompensationService

/// Every compensation method that returns customers (statement lines, assignments) or acts for a
/// customer (assigning a manager) leaves a record in the trail, holding who called, the method,
/// the customers and the status the caller got: one row per method, real calls over the wire.
@Suite struct AuditedMethodsTests {
    typealias H = CompensationHarness

    @Test func everyAuditedCompensationMethodRecordsWhatItShouldHold() async throws {
        try await withService(try await H.start()) { harness in
            try await harness.organisation()
            try await harness.putScheme()
            try await harness.customers(["C1", "C2", "C3", "C4"])
            try await harness.assign("C1", to: "M1", from: .day(2025, 1, 1))
            try await harness.assign("C2", to: "M2", from: .day(2025, 1, 1))
            try await harness.record([
                H.trade(1, customer: "C1", on: (2025, 3, 3), commission: 10_000, fees: 0, amount: 0),
                H.trade(2, customer: "C2", on: (2025, 3, 4), commission: 20_000, fees: 0, amount: 0),
            ])
            try await harness.settle("2025-03")
            typealias C = Crm_Compensation_V1_Compensation
            let cases: [AuditCase] = [
                AuditCase(C.assignCustomer.path, principal: "hr", customers: ["C3"]) {
                    // After the settled month: a settled month's assignments are fixed.
                    try await harness.assign("C3", to: "M3", from: .day(2025, 4, 1))
                },
                AuditCase(C.assignCustomers.path, principal: "hr", customers: ["C4"]) {
                    try await harness.call(C.assignCustomers, .with {
                        $0.assignments = [.with { $0.customerID = "C4"; $0.managerID = "M1"; $0.effectiveFrom = .day(2025, 4, 1) }]
                    })
                },
                AuditCase(C.listAssignments.path, principal: "manager:M1", customers: ["C1", "C4"]) {
                    try await harness.call(C.listAssignments, .init(), token: "m1")
                },
                AuditCase(C.getStatement.path, principal: "manager:M1", customers: ["C1"]) {
                    _ = try await harness.statement("M1", "2025-03", token: "m1")
                },
                // Refused by the handler (another manager's statement): recorded, no customer.
                AuditCase(C.getStatement.path, principal: "manager:M1", customers: [], status: .permissionDenied) {
                    _ = try await harness.statement("M2", "2025-03", token: "m1")
                },
            ]
            var router = Router()
            harness.service.service.register(into: &router)
            #expect(Set(cases.map(\.method)) == router.auditedMethods)
            for row in cases {
                let problems = try await row.mismatches(in: harness.service.auditTrail)
                #expect(problems.isEmpty, "\(row.method) \(row.status): \(problems)")
            }
        }
    }
}

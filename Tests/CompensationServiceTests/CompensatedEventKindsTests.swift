import CRMProtos
import Testing
@testable import CompensationService

/// Compensation keys only the profiles events it records (trades, margin interest, transfers), in
/// the shared identity form (CRMProtos' `ProfilesEventIdentity`, tested there).
@Suite struct CompensatedEventKindsTests {
    @Test func onlyTheKindsCompensationRecordsHaveAKey() {
        typealias I = ProfilesEventIdentity
        #expect(I.key(of: CompensationHarness.trade(9, customer: "C1", on: (2025, 3, 3), commission: 1, fees: 0, amount: 1), among: I.Kind.compensated) == "pe:trade:C1:T9")
        #expect(I.key(of: CompensationHarness.interest(9, customer: "C1", on: (2025, 3, 3), fen: 1), among: I.Kind.compensated) == "pe:margin_interest:C1:I9")
        let position = Crm_Profiles_V1_LoggedEvent.with {
            $0.eventID = 9
            $0.dailyPosition = .with { $0.idempotencyKey = "P9"; $0.customerID = "C1" }
        }
        #expect(I.key(of: position, among: I.Kind.compensated) == nil)
        let view = Crm_Profiles_V1_LoggedEvent.with { $0.productView = .with { $0.idempotencyKey = "V9"; $0.customerID = "C1" } }
        #expect(I.key(of: view, among: I.Kind.compensated) == nil)
    }
}

import CRMAudit
import CRMProtos
import CRMRPC
import CRMTestSupport
import Foundation
import ProfilesService
import Testing

/// Personal data by role: the masking forms, and the policy applied to real answers (profiles in
/// process), with unmasked reads flagged in the audit trail.
@Suite struct PersonalDataTests {
    @Test func maskingFormsKeepWhatTheRulesSay() {
        #expect(PersonalDataMasker.masked("310104198001012247", .idNumber) == "3101**********2247")
        #expect(PersonalDataMasker.masked("15412342651", .phone) == "154****2651")
        #expect(PersonalDataMasker.masked("王芳", .name) == "王*")
        #expect(PersonalDataMasker.masked("Wang Fang", .name) == "Wang *")
        #expect(PersonalDataMasker.masked("wang.fang@example.com", .email) == "w***@example.com")
        #expect(PersonalDataMasker.masked("浙江省杭州市西湖区文三路1号", .address) == "浙江省*")
        #expect(PersonalDataMasker.masked("Zhejiang", .address) == "Zhejiang")
        #expect(PersonalDataMasker.masked("123", .idNumber) == "***")
        // Masking what is masked changes nothing: the router may apply it twice.
        for (value, kind) in [("310104198001012247", PersonalDataKind.idNumber), ("15412342651", .phone), ("Wang Fang", .name),
                              ("w@x.cn", .email), ("浙江省杭州市", .address)] {
            let once = PersonalDataMasker.masked(value, kind)
            #expect(PersonalDataMasker.masked(once, kind) == once, "\(kind)")
        }
    }

    @Test func aCustomerIsMaskedByTheCallersRolesAndUnmaskedReadsAreFlagged() async throws {
        let file = TestFiles.sqlitePath("pii")
        let service = try await InProcessService<ProfilesService>.start(databasePath: file, tokens: TestPrincipals.entries)
        try await withService(service) { service in
            let ingest = service.client(token: "ingest"), office = service.client(token: "office")
            let m1 = service.client(token: "m1"), m2 = service.client(token: "m2")
            defer { Task { for client in [ingest, office, m1, m2] { await client.close() } } }
            let stored = try await ingest.unary(Crm_Profiles_V1_Profiles.upsertCustomer, .with {
                $0.customer = .with {
                    $0.customerID = "C0001318"
                    $0.kind = .individual
                    $0.name = "王芳"
                    $0.branchID = "B01"
                    $0.managerID = "M1"
                    $0.status = .normal
                    $0.openDate = .init(year: 2020, month: 1, day: 15)
                    $0.phone = "15412342651"
                    $0.email = "wang.fang@example.com"
                    $0.birthDate = .init(year: 1980, month: 1, day: 1)
                    $0.province = "浙江省杭州市"
                    $0.idDocumentType = "ID card"
                    $0.idDocumentNumber = "310104198001012247"
                }
            })
            // The feed that wrote it sees it whole.
            #expect(stored.customer.idDocumentNumber == "310104198001012247")

            let request = Crm_Profiles_V1_GetCustomerRequest.with { $0.customerID = "C0001318" }
            let seenByOffice = try await office.unary(Crm_Profiles_V1_Profiles.getCustomer, request).customer
            #expect(seenByOffice.name == "王*")
            #expect(seenByOffice.phone == "154****2651")
            #expect(seenByOffice.email == "w***@example.com")
            #expect(seenByOffice.birthDate.year == 1980 && seenByOffice.birthDate.month == 0 && seenByOffice.birthDate.day == 0)
            #expect(seenByOffice.province == "浙江省*")
            #expect(seenByOffice.idDocumentNumber == "3101**********2247")
            #expect(seenByOffice.idDocumentType == "ID card")

            // The customer's own manager's workbench: contact data whole, the ID number masked.
            let seenByManager = try await m1.unary(Crm_Profiles_V1_Profiles.getCustomer, request).customer
            #expect(seenByManager.name == "王芳")
            #expect(seenByManager.phone == "15412342651")
            #expect(seenByManager.idDocumentNumber == "3101**********2247")

            // Lists mask the same way.
            let listed = try await office.unary(Crm_Profiles_V1_Profiles.searchCustomers, .with { $0.rule = "" })
            #expect(listed.customers.map(\.name) == ["王*"])

            let records = try await service.auditTrail.records(matching: AuditFilter(customerID: "C0001318"), after: 0, limit: 10)
            #expect(records.map(\.call.principal) == ["trading-system", "head-office", "manager:M1", "head-office"])
            #expect(records.map(\.call.unmasked) == [true, false, true, false])
        }
    }
}

import CRMAudit
import CRMProtos
import CRMRPC
import CRMTestSupport
import Foundation
import GRDB
import ProfilesService
import Testing

/// Calls to audited methods that the runtime refuses before their handler runs — no, unknown or
/// expired token, no allowed role, the rate limit — are in the trail with their status, so
/// "who tried to read C0001318" finds them; a flood of them costs two records per window.
@Suite struct RefusalAuditTests {
    /// TestPrincipals, plus a token that expired (manager M9's) and head office limited to one call.
    private func start() async throws -> InProcessService<ProfilesService> {
        let file = TestFiles.sqlitePath("audit-refusals")
        let expired = TokenAuthenticator.Entry(sha256: TokenAuthenticator.hash(token: "expired"),
                                               principal: Principal(name: "manager:M9", roles: ["manager"], attributes: ["manager_id": "M9"]),
                                               notAfter: Date(timeIntervalSince1970: 1_700_000_000))
        return try await InProcessService<ProfilesService>.start(
            databasePath: file, tokens: TestPrincipals.entries + [expired],
            rateLimits: RateLimits(principals: ["head-office": .init(callsPerSecond: 0.0001, burst: 1)])
        )
    }

    private func seed(_ service: InProcessService<ProfilesService>, _ ids: [String]) async throws {
        let ingest = service.client(token: "ingest")
        defer { Task { await ingest.close() } }
        for id in ids {
            _ = try await ingest.unary(Crm_Profiles_V1_Profiles.upsertCustomer, .with {
                $0.customer = .with {
                    $0.customerID = id; $0.kind = .individual; $0.name = "Customer \(id)"; $0.branchID = "B01"; $0.managerID = "M1"
                    $0.status = .normal; $0.openDate = .init(year: 2020, month: 1, day: 15)
                }
            })
        }
    }

    /// Records with `status` stored now, read straight from the file (no flush of held counts).
    private func stored(_ service: InProcessService<ProfilesService>, status: StatusCode) async throws -> Int {
        try await service.database.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_record WHERE status = ?", arguments: [status.rawValue]) ?? 0
        }
    }

    private func getCustomer(_ id: String, token: String?, on service: InProcessService<ProfilesService>) async -> RPCError? {
        let client = service.client(token: token)
        defer { Task { await client.close() } }
        return await statusOf { _ = try await client.unary(Crm_Profiles_V1_Profiles.getCustomer, .with { $0.customerID = id }) }
    }

    @Test func eachKindOfRuntimeRefusalIsRecordedBeforeItsAnswer() async throws {
        let service = try await start()
        try await withService(service) { service in
            try await seed(service, ["C0001318"])
            #expect(await getCustomer("C0001318", token: nil, on: service)?.code == .unauthenticated)
            // The answer has arrived: its record is in the file.
            #expect(try await stored(service, status: .unauthenticated) == 1)
            let expired = await getCustomer("C0001318", token: "expired", on: service)
            #expect(expired?.code == .unauthenticated)
            #expect(expired?.message.contains("expired") ?? false)
            #expect(try await stored(service, status: .unauthenticated) == 2)
            #expect(await getCustomer("C0001318", token: "hr", on: service)?.code == .permissionDenied)
            #expect(try await stored(service, status: .permissionDenied) == 1)
            let office = service.client(token: "office")
            defer { Task { await office.close() } }
            _ = try await office.unary(Crm_Profiles_V1_Profiles.getCustomer, .with { $0.customerID = "C0001318" })
            let limited = await statusOf { _ = try await office.unary(Crm_Profiles_V1_Profiles.getCustomer, .with { $0.customerID = "C0001318" }) }
            #expect(limited?.code == .resourceExhausted)
            #expect(try await stored(service, status: .resourceExhausted) == 1)

            let compliance = service.client(token: "compliance")
            defer { Task { await compliance.close() } }
            let whoTried = try await compliance.unary(Crm_Audit_V1_Audit.queryAudit, .with { $0.customerID = "C0001318" })
            let rows = whoTried.records.map { record in
                [record.principal, record.roles, StatusCode(rawValue: Int(record.status))?.canonicalName ?? "?"].filter { !$0.isEmpty }.joined(separator: " ")
            }
            #expect(rows == [
                "trading-system ingest OK",
                "- UNAUTHENTICATED",
                "manager:M9 UNAUTHENTICATED",
                "hr hr PERMISSION_DENIED",
                "head-office head-office OK",
                "head-office head-office RESOURCE_EXHAUSTED",
            ])
            for record in whoTried.records.dropFirst() {
                #expect(record.method == "/crm.profiles.v1.Profiles/GetCustomer")
                #expect(record.customerIds == ["C0001318"])
                #expect(record.peer.contains("127.0.0.1"))
                #expect(!record.hasAggregateCount_p)
            }
            let verified = try await compliance.unary(Crm_Audit_V1_Audit.verifyAuditChain, .init())
            #expect(verified.intact, "\(verified.message)")
        }
    }

    /// 40 refused calls in a row from one caller: the first is written before its answer, the
    /// other 39 are held as a count and written as one record (with the customers they named)
    /// before the trail is read; the next refusal opens a new window and is written at once.
    @Test func aFloodOfRefusalsIsCoalescedIntoACountedRecord() async throws {
        let service = try await start()
        try await withService(service) { service in
            try await seed(service, ["C0001318", "C0002000"])
            let anonymous = service.client(token: nil)
            defer { Task { await anonymous.close() } }
            for index in 0..<40 {
                let id = index % 2 == 0 ? "C0001318" : "C0002000"
                let status = await statusOf { _ = try await anonymous.unary(Crm_Profiles_V1_Profiles.getCustomer, .with { $0.customerID = id }) }
                #expect(status?.code == .unauthenticated)
            }
            #expect(try await stored(service, status: .unauthenticated) == 1)

            let compliance = service.client(token: "compliance")
            defer { Task { await compliance.close() } }
            let found = try await compliance.unary(Crm_Audit_V1_Audit.queryAudit, .with { $0.customerID = "C0002000" })
            let coalesced = try #require(found.records.last)
            #expect(coalesced.principal == "-")
            #expect(coalesced.status == Int32(StatusCode.unauthenticated.rawValue))
            #expect(coalesced.aggregateRule == AuditTrail.repeatedRefusalRule)
            #expect(coalesced.hasAggregateCount_p && coalesced.aggregateCount == 39)
            #expect(coalesced.customerIds == ["C0002000", "C0001318"])
            #expect(try await stored(service, status: .unauthenticated) == 2)

            _ = await statusOf { _ = try await anonymous.unary(Crm_Profiles_V1_Profiles.getCustomer, .with { $0.customerID = "C0001318" }) }
            #expect(try await stored(service, status: .unauthenticated) == 3)
            let verified = try await compliance.unary(Crm_Audit_V1_Audit.verifyAuditChain, .init())
            #expect(verified.intact, "\(verified.message)")
        }
    }

    /// The window on the trail's own clock: repeats inside it are counted, the first refusal after
    /// it writes the count and then itself; counts held when the service stops are written then.
    @Test func aWindowClosesWithItsCountWhenTheNextOneOpens() async throws {
        let file = TestFiles.sqlitePath("audit-window")
        let pool = try DatabasePool(path: file)
        defer { try? pool.close() }
        let clock = TestClock()
        let trail = try AuditTrail(database: pool, now: { clock.millis })
        func refused(_ principal: String, _ customer: String) -> AuditedCall {
            AuditedCall(principal: principal, roles: "", peer: "127.0.0.1:9", certificateSubject: "", method: "/crm.profiles.v1.Profiles/GetCustomer",
                        requestID: "r", status: .permissionDenied, subjectIDs: [customer])
        }
        let first = try #require(trail.recordRefusal(refused("p", "C1")))
        try await first.value
        for customer in ["C2", "C3", "C2"] { #expect(trail.recordRefusal(refused("p", customer)) == nil) }
        // Another principal is another window.
        try await #require(trail.recordRefusal(refused("q", "C9"))).value
        clock.advance(by: AuditTrail.refusalWindowMillis)
        try await #require(trail.recordRefusal(refused("p", "C4"))).value
        try await #require(trail.recordRefusal(refused("q", "C9"))).value
        let records = try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT principal, aggregate_count FROM audit_record ORDER BY sequence").map { row -> String in
                let count: Int64? = row["aggregate_count"]
                return "\(row["principal"] as String) \(count.map(String.init) ?? "-")"
            }
        }
        #expect(records == ["p -", "q -", "p 3", "p -", "q -"])
        let all = try await trail.records(matching: AuditFilter(), after: 0, limit: 10)
        #expect(all.map(\.call.subjectIDs) == [["C1"], ["C9"], ["C2", "C3"], ["C4"], ["C9"]])
        #expect(try await trail.verify().isIntact)
    }
}

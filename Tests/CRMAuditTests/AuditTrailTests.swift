import CRMAudit
import CRMProtos
import CRMRPC
import CRMServiceHost
import CRMTestSupport
import Foundation
import GRDB
import ProfilesService
import Testing

/// The audit trail over profiles in process (a real store, real calls): what is recorded, for whom,
/// who may read it, and that tampering with the SQLite file is found at its position.
@Suite struct AuditTrailTests {
    private func start() async throws -> (InProcessService<ProfilesService>, String) {
        let file = TestFiles.sqlitePath("audit-profiles")
        return (try await InProcessService<ProfilesService>.start(databasePath: file, tokens: TestPrincipals.entries), file)
    }

    private func upsert(_ client: RPCClient, _ id: String, manager: String = "M1") async throws {
        _ = try await client.unary(Crm_Profiles_V1_Profiles.upsertCustomer, .with {
            $0.customer = .with {
                $0.customerID = id
                $0.kind = .individual
                $0.name = "Customer \(id)"
                $0.branchID = "B01"
                $0.managerID = manager
                $0.status = .normal
                $0.openDate = .init(year: 2020, month: 1, day: 15)
            }
        })
    }

    private func query(_ client: RPCClient, _ build: (inout Crm_Audit_V1_QueryAuditRequest) -> Void) async throws -> Crm_Audit_V1_QueryAuditResponse {
        var request = Crm_Audit_V1_QueryAuditRequest()
        build(&request)
        return try await client.unary(Crm_Audit_V1_Audit.queryAudit, request)
    }

    @Test func readsAndWritesAreRecordedWithPrincipalCustomerAndStatusBeforeTheAnswer() async throws {
        let (service, _) = try await start()
        try await withService(service) { service in
            let ingest = service.client(token: "ingest"), m1 = service.client(token: "m1"), m2 = service.client(token: "m2")
            let compliance = service.client(token: "compliance")
            defer { Task { for client in [ingest, m1, m2, compliance] { await client.close() } } }
            try await upsert(ingest, "C0001318")
            try await upsert(ingest, "C0002000", manager: "M2")
            _ = try await m1.unary(Crm_Profiles_V1_Profiles.getCustomer, .with { $0.customerID = "C0001318" })
            // The answer has arrived, so its record is committed: read the store directly.
            let afterRead = try await service.auditTrail.records(matching: AuditFilter(customerID: "C0001318"), after: 0, limit: 10)
            #expect(afterRead.map(\.call.principal) == ["trading-system", "manager:M1"])
            #expect(afterRead.last?.call.method == "/crm.profiles.v1.Profiles/GetCustomer")
            #expect(afterRead.last?.call.status == .ok)
            #expect(afterRead.last?.call.roles == "manager,workbench")
            #expect(afterRead.last?.call.peer.contains("127.0.0.1") ?? false)

            // Another manager's attempt on C0001318 is refused by the handler, and recorded as refused.
            let refused = await statusOf { _ = try await m2.unary(Crm_Profiles_V1_Profiles.getCustomer, .with { $0.customerID = "C0001318" }) }
            #expect(refused?.code == .permissionDenied)

            // A search is recorded with its rule, its count and the ids it returned.
            let office = service.client(token: "office")
            defer { Task { await office.close() } }
            let found = try await office.unary(Crm_Profiles_V1_Profiles.searchCustomers, .with { $0.rule = "" })
            #expect(found.customers.count == 2)

            let whoSaw = try await query(compliance) { $0.customerID = "C0001318" }
            #expect(whoSaw.records.map(\.principal) == ["trading-system", "manager:M1", "manager:M2", "head-office"])
            #expect(whoSaw.records.map(\.status) == [0, 0, Int32(StatusCode.permissionDenied.rawValue), 0])
            let search = try #require(whoSaw.records.last)
            #expect(search.method == "/crm.profiles.v1.Profiles/SearchCustomers")
            #expect(Set(search.customerIds) == ["C0001318", "C0002000"])
            #expect(search.hasAggregateCount_p)
            #expect(search.aggregateCount == 2)

            // By principal, and paged: the tokens walk every record once.
            var pages: [[UInt64]] = []
            var token = ""
            repeat {
                let page = try await query(compliance) {
                    $0.principal = "trading-system"
                    $0.page = .with { $0.pageSize = 1; $0.pageToken = token }
                }
                pages.append(page.records.map(\.sequence))
                token = page.page.nextPageToken
            } while !token.isEmpty
            #expect(pages == [[1], [2]])

            // A time range before the first record holds nothing; one around now holds everything.
            let before = try await query(compliance) { $0.to = .with { $0.unixMillis = 1 } }
            #expect(before.records.isEmpty)
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let around = try await query(compliance) {
                $0.from = .with { $0.unixMillis = now - 3_600_000 }
                $0.to = .with { $0.unixMillis = now + 3_600_000 }
            }
            #expect(around.records.count == 5)
        }
    }

    @Test func onlyComplianceReadsTheTrailNotEvenAdmin() async throws {
        let (service, _) = try await start()
        try await withService(service) { service in
            for token in ["office", "ops", "m1", "ingest"] {
                let client = service.client(token: token)
                let status = await statusOf { _ = try await client.unary(Crm_Audit_V1_Audit.queryAudit, .init()) }
                let verify = await statusOf { _ = try await client.unary(Crm_Audit_V1_Audit.verifyAuditChain, .init()) }
                await client.close()
                #expect(status?.code == .permissionDenied, "\(token)")
                #expect(verify?.code == .permissionDenied, "\(token)")
            }
        }
    }

    /// Builds a trail of a few records (indexed by customer through `indexedThrough`: a query by
    /// customer then, more records after), then tampers with the file as someone with the disk would.
    private func tampered(_ sql: String, indexedThrough: Int = 5, records: Int = 5) async throws -> Crm_Audit_V1_VerifyAuditChainResponse {
        let (service, file) = try await start()
        return try await withService(service) { service in
            let ingest = service.client(token: "ingest"), compliance = service.client(token: "compliance")
            defer { Task { await ingest.close(); await compliance.close() } }
            for index in 1...records {
                try await upsert(ingest, "C000\(index)")
                if index == indexedThrough {
                    let found = try await query(compliance) { $0.customerID = "C0001" }
                    #expect(found.records.map(\.sequence) == [1])
                }
            }
            let intact = try await compliance.unary(Crm_Audit_V1_Audit.verifyAuditChain, .init())
            #expect(intact.intact, "\(intact.message)")
            #expect(intact.recordsChecked == UInt64(records))
            #expect(intact.headSequence == UInt64(records))

            let outside = try DatabaseQueue(path: file)
            try await outside.write { db in try db.execute(sql: sql) }
            try outside.close()
            return try await compliance.unary(Crm_Audit_V1_Audit.verifyAuditChain, .init())
        }
    }

    @Test func verifyReportsAChangedRecordAtItsPosition() async throws {
        let result = try await tampered("UPDATE audit_record SET principal = 'someone-else' WHERE sequence = 3")
        #expect(!result.intact)
        #expect(result.problem == .recordChanged)
        #expect(result.position == 3)
        #expect(result.recordsChecked == 2)
    }

    @Test func verifyReportsADeletedRecordAtItsPosition() async throws {
        let result = try await tampered("DELETE FROM audit_record WHERE sequence = 2")
        #expect(!result.intact)
        #expect(result.problem == .recordMissing)
        #expect(result.position == 2)
    }

    @Test func verifyReportsRecordsRemovedFromTheEnd() async throws {
        let result = try await tampered("DELETE FROM audit_record WHERE sequence >= 4")
        #expect(result.problem == .recordsTruncated)
        #expect(result.position == 4)
    }

    @Test func verifyReportsAnInsertedRecord() async throws {
        let result = try await tampered("""
            INSERT INTO audit_record SELECT sequence + 1, time_ms, principal, roles, peer, certificate_subject, method, request_id, status,
                customers, aggregate_rule, aggregate_count, unmasked, hash FROM audit_record WHERE sequence = 5
            """)
        #expect(result.problem == .recordInserted)
        #expect(result.position == 6)
    }

    @Test func verifyReportsADeletedCustomerIndexRow() async throws {
        let result = try await tampered("DELETE FROM audit_customer WHERE customer_id = 'C0003'")
        #expect(result.problem == .indexChanged)
        #expect(result.position == 3)
        #expect(result.recordsChecked == 2)
    }

    /// The same number of rows, one customer id changed: a query for C0003 would no longer find
    /// record 3, and one for C0009 would invent it.
    @Test func verifyReportsAChangedCustomerIdInTheIndex() async throws {
        let result = try await tampered("UPDATE audit_customer SET customer_id = 'C0009' WHERE customer_id = 'C0003'")
        #expect(!result.intact)
        #expect(result.problem == .indexChanged)
        #expect(result.position == 3)
        #expect(result.recordsChecked == 2)
        #expect(result.message.contains("C0009") && result.message.contains("C0003"), "\(result.message)")
    }

    @Test func verifyReportsARowAddedToTheIndex() async throws {
        let result = try await tampered("INSERT INTO audit_customer (customer_id, sequence) VALUES ('C0001', 4)")
        #expect(result.problem == .indexChanged)
        #expect(result.position == 4)
        #expect(result.recordsChecked == 3)
    }

    @Test func verifyReportsAnIndexRowNamingNoStoredRecord() async throws {
        let result = try await tampered("INSERT INTO audit_customer (customer_id, sequence) VALUES ('C0001', 9)")
        #expect(result.problem == .indexChanged)
        #expect(result.position == 9)
        #expect(result.recordsChecked == 5)
    }

    /// The index is written lazily: claiming records it never indexed (a raised mark) leaves
    /// them unfindable by customer, so the verifier reports the first one.
    @Test func verifyReportsAnIndexClaimingRecordsItDoesNotHold() async throws {
        let result = try await tampered("UPDATE audit_index SET through_sequence = 7", indexedThrough: 3, records: 7)
        #expect(result.problem == .indexChanged)
        #expect(result.position == 4)
        #expect(result.recordsChecked == 3)
        #expect(result.message.contains("lacks C0004"), "\(result.message)")
    }

    @Test func verifyReportsIndexRowsForARecordNotYetIndexed() async throws {
        let result = try await tampered("INSERT INTO audit_customer (customer_id, sequence) VALUES ('C0001', 5)", indexedThrough: 3, records: 7)
        #expect(result.problem == .indexChanged)
        #expect(result.position == 5)
        #expect(result.message.contains("not reached"), "\(result.message)")
    }

    @Test func verifyReportsAnIndexMarkPastTheLastRecord() async throws {
        let result = try await tampered("UPDATE audit_index SET through_sequence = 9")
        #expect(result.problem == .indexChanged)
        #expect(result.position == 6)
        #expect(result.recordsChecked == 5)
    }

    /// A bulk write is one record (rule, count, every customer once) and writes no index row; a
    /// query by customer indexes what was committed before it and finds the batch exactly, for
    /// each of its customers and no other, and the chain (index included) verifies.
    @Test func anIngestionBatchIsOneRecordFoundByEachOfItsCustomers() async throws {
        let (service, _) = try await start()
        try await withService(service) { service in
            let ingest = service.client(token: "ingest"), compliance = service.client(token: "compliance")
            defer { Task { await ingest.close(); await compliance.close() } }
            for index in 1...4 { try await upsert(ingest, "C000\(index)") }
            let customers = ["C0001", "C0002", "C0003", "C0002", "C0001", "C0003"]
            let response = try await ingest.unary(Crm_Profiles_V1_Profiles.ingestServiceContacts, .with {
                $0.events = customers.enumerated().map { index, customer in
                    .with {
                        $0.idempotencyKey = "K\(index)"
                        $0.customerID = customer
                        $0.channel = .call
                        $0.outcome = .reached
                        $0.staffID = "M1"
                        $0.contactedAt = .with { $0.unixMillis = 1_780_000_000_000 + Int64(index) }
                    }
                }
            })
            #expect(response.accepted == 6)
            let unindexed = try await service.database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_customer") }
            #expect(unindexed == 0)

            for customer in ["C0001", "C0002", "C0003"] {
                let found = try await query(compliance) { $0.customerID = customer }
                let batch = try #require(found.records.last, "\(customer)")
                #expect(batch.method == "/crm.profiles.v1.Profiles/IngestServiceContacts")
                #expect(batch.customerIds == ["C0001", "C0002", "C0003"])
                #expect(batch.aggregateRule == "batch of events")
                #expect(batch.hasAggregateCount_p && batch.aggregateCount == 6)
                #expect(found.records.count == 2, "\(customer)")
            }
            let other = try await query(compliance) { $0.customerID = "C0004" }
            #expect(other.records.map(\.method) == ["/crm.profiles.v1.Profiles/UpsertCustomer"])
            let rows = try await service.database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_customer") }
            #expect(rows == 7)
            let verified = try await compliance.unary(Crm_Audit_V1_Audit.verifyAuditChain, .init())
            #expect(verified.intact, "\(verified.message)")
            #expect(verified.recordsChecked == 5)
        }
    }

    /// An ingestion batch's record is appended inside the batch's own transaction while other
    /// calls' records go through the group writer: one record per call (the runtime does not write
    /// the batch's again), a refused batch leaves only its refusal, and the chain holds.
    @Test func batchRecordsInTheBatchTransactionChainWithTheOthers() async throws {
        let (service, _) = try await start()
        try await withService(service) { service in
            let ingest = service.client(token: "ingest"), office = service.client(token: "office"), compliance = service.client(token: "compliance")
            defer { Task { for client in [ingest, office, compliance] { await client.close() } } }
            for index in 1...4 { try await upsert(ingest, "C000\(index)") }
            @Sendable func batch(_ number: Int, customers: [String]) -> Crm_Profiles_V1_IngestServiceContactsRequest {
                .with {
                    $0.events = customers.enumerated().map { index, customer in
                        .with {
                            $0.idempotencyKey = "B\(number)-\(index)"
                            $0.customerID = customer
                            $0.channel = .call
                            $0.outcome = .reached
                            $0.staffID = "M1"
                            $0.contactedAt = .with { $0.unixMillis = 1_780_000_000_000 + Int64(number * 10 + index) }
                        }
                    }
                }
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for number in 0..<10 {
                    group.addTask { _ = try await ingest.unary(Crm_Profiles_V1_Profiles.ingestServiceContacts, batch(number, customers: ["C0001", "C0002", "C0003"])) }
                    group.addTask { _ = try await office.unary(Crm_Profiles_V1_Profiles.getCustomer, .with { $0.customerID = "C0004" }) }
                }
                try await group.waitForAll()
            }
            let refused = await statusOf { _ = try await ingest.unary(Crm_Profiles_V1_Profiles.ingestServiceContacts, batch(99, customers: ["C0001", "C0999"])) }
            #expect(refused?.code == .notFound)

            let ingested = try await service.auditTrail.records(matching: AuditFilter(principal: "trading-system"), after: 0, limit: 100)
            let batches = ingested.filter { $0.call.method == "/crm.profiles.v1.Profiles/IngestServiceContacts" }
            #expect(batches.map(\.call.status) == Array(repeating: .ok, count: 10) + [.notFound])
            #expect(batches.last?.call.subjectIDs == ["C0001", "C0999"])
            #expect(ingested.count == 15)
            #expect(service.auditTrail.head.sequence == 25)
            let verified = try await compliance.unary(Crm_Audit_V1_Audit.verifyAuditChain, .init())
            #expect(verified.intact, "\(verified.message)")
            #expect(verified.recordsChecked == 25)
            let byCustomer = try await compliance.unary(Crm_Audit_V1_Audit.queryAudit, .with { $0.customerID = "C0002" })
            #expect(byCustomer.records.count == 11)
        }
    }

    /// A store whose trail was made before the tables were migrations (the trail created them
    /// itself): it opens, gets the migrations recorded, keeps its records, and its chain verifies.
    @Test func aStoreFromBeforeTheAuditMigrationsOpensWithItsChain() async throws {
        let (first, file) = try await start()
        try await withService(first) { service in
            let ingest = service.client(token: "ingest")
            defer { Task { await ingest.close() } }
            for index in 1...3 { try await upsert(ingest, "C000\(index)") }
            // Then every record was indexed as it was written.
            try await service.auditTrail.indexCustomers()
        }
        let outside = try DatabaseQueue(path: file)
        try await outside.write { db in
            try db.execute(sql: """
                DELETE FROM grdb_migrations WHERE identifier LIKE 'audit-%'; DROP INDEX audit_customer_by_sequence; DROP TABLE audit_index
                """)
        }
        try outside.close()

        let second = try await InProcessService<ProfilesService>.start(databasePath: file, tokens: TestPrincipals.entries)
        try await withService(second) { service in
            let applied = try await service.database.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations WHERE identifier LIKE 'audit-%'") }
            #expect(applied.sorted() == ["audit-v1-trail", "audit-v2-customer-by-sequence", "audit-v3-customer-index-through"])
            #expect(service.auditTrail.head.sequence == 3)
            let ingest = service.client(token: "ingest"), compliance = service.client(token: "compliance")
            defer { Task { await ingest.close(); await compliance.close() } }
            try await upsert(ingest, "C0004")
            let result = try await compliance.unary(Crm_Audit_V1_Audit.verifyAuditChain, .init())
            #expect(result.intact, "\(result.message)")
            #expect(result.recordsChecked == 4)
        }
    }

    /// Every method registered with an audit rule leaves a record naming the method, the caller and
    /// the status the caller got — whatever that status is (here most refuse an empty request).
    @Test func everyAuditedProfilesMethodWritesARecord() async throws {
        let (service, _) = try await start()
        try await withService(service) { service in
            var router = Router()
            service.service.register(into: &router)
            #expect(router.auditedMethods.contains("/crm.profiles.v1.Profiles/GetCustomer360"))
            let ops = service.client(token: "ops")
            defer { Task { await ops.close() } }
            for method in router.auditedMethods.sorted() {
                let streaming = router.descriptors.first { $0.name == method }?.serverStreaming ?? false
                let status = await statusOf {
                    if streaming {
                        for try await _ in try await ops.serverStreamingRaw(method, payload: Data()) {}
                    } else {
                        _ = try await ops.unaryRaw(method, payload: Data())
                    }
                }
                let recorded = try await service.auditTrail.records(matching: AuditFilter(principal: "ops"), after: 0, limit: 1_000)
                let record = try #require(recorded.last, "\(method)")
                #expect(record.call.method == method)
                #expect(record.call.status == (status?.code ?? .ok), "\(method)")
                #expect(record.call.roles == "admin")
            }
        }
    }

    @Test func concurrentCallsShareTransactionsAndTheChainHolds() async throws {
        let file = TestFiles.sqlitePath("audit")
        let pool = try DatabasePool(path: file)
        let trail = try AuditTrail(database: pool)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                group.addTask {
                    try await trail.record(AuditedCall(principal: "p\(index % 7)", roles: "manager", peer: "127.0.0.1:1", certificateSubject: "",
                                                       method: "/m", requestID: "r\(index)", status: .ok, subjectIDs: ["C\(index)", "C\(index + 1)"]))
                }
            }
            try await group.waitForAll()
        }
        #expect(trail.writeCounts.records == 200)
        let result = try await trail.verify()
        #expect(result.isIntact, "\(result.message)")
        #expect(result.recordsChecked == 200)
        // A record reopened in a new process chains on from the stored head.
        let reopened = try AuditTrail(database: pool)
        #expect(reopened.head.sequence == 200)
        #expect(reopened.head.hash == trail.head.hash)
        try pool.close()
    }
}

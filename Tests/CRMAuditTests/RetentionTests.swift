import CRMAudit
import CRMRPC
import CRMTestSupport
import Foundation
import GRDB
import Synchronization
import Testing

/// Retention removes only what is older than it and already exported, and an export carries the
/// anchor its first record chains from, so an archive verifies on its own.
@Suite struct RetentionTests {
    private static let day: Int64 = 86_400_000

    private func call(_ index: Int) -> AuditedCall {
        AuditedCall(principal: "manager:M1", roles: "manager", peer: "127.0.0.1:5000", certificateSubject: "", method: "/crm.profiles.v1.Profiles/GetCustomer",
                    requestID: "r\(index)", status: .ok, subjectIDs: ["C\(index)"])
    }

    /// Records the export of `after...` and checks its chain from the anchor alone.
    private func export(_ trail: AuditTrail, after: Int64) async throws -> (anchor: (Int64, Data), records: [AuditRecordValue]) {
        var anchor: (Int64, Data)?
        var records: [AuditRecordValue] = []
        try await trail.export(after: after, through: nil) { sequence, hash in
            anchor = (sequence, hash)
        } record: { value in
            records.append(value)
        }
        let start = try #require(anchor)
        var previous = start.1
        for record in records {
            let hash = AuditRecordCoding.hash(previous: previous, sequence: record.sequence, timeMillis: record.timeMillis, call: record.call)
            #expect(hash == record.hash, "record \(record.sequence) of the archive does not chain")
            previous = hash
        }
        return (start, records)
    }

    @Test func removesOnlyExportedRecordsOlderThanTheRetentionAndMovesTheAnchor() async throws {
        let file = TestFiles.sqlitePath("audit-retention")
        let pool = try DatabasePool(path: file)
        defer { try? pool.close() }
        let clock = TestClock()
        let trail = try AuditTrail(database: pool, settings: AuditSettings(retentionDays: 1), now: { clock.millis })
        for index in 1...3 { try await trail.record(call(index)) }
        clock.advance(by: 2 * Self.day)
        for index in 4...5 { try await trail.record(call(index)) }

        // Nothing exported yet: nothing goes, whatever the caller says it archived.
        #expect(try await trail.purge(exportedThrough: 5).removed == 0)

        let full = try await export(trail, after: 0)
        #expect(full.anchor.0 == 0)
        #expect(full.records.map(\.sequence) == [1, 2, 3, 4, 5])

        // Only the three older than a day go, even though all five were exported.
        let purged = try await trail.purge(exportedThrough: 5)
        #expect(purged.removed == 3)
        #expect(purged.anchor.0 == 3)
        #expect(purged.anchor.1 == full.records[2].hash)

        let verified = try await trail.verify()
        #expect(verified.isIntact, "\(verified.message)")
        #expect(verified.recordsChecked == 2)
        #expect(verified.anchor.sequence == 3)

        // An export from the new anchor chains on from it.
        let rest = try await export(trail, after: 3)
        #expect(rest.anchor.1 == full.records[2].hash)
        #expect(rest.records.map(\.sequence) == [4, 5])
        let stillThere = try await trail.records(matching: AuditFilter(customerID: "C2"), after: 0, limit: 10)
        #expect(stillThere.isEmpty)
    }

    @Test func purgeStopsAtWhatTheCallerArchived() async throws {
        let file = TestFiles.sqlitePath("audit-retention")
        let pool = try DatabasePool(path: file)
        defer { try? pool.close() }
        let clock = TestClock()
        let trail = try AuditTrail(database: pool, settings: AuditSettings(retentionDays: 1), now: { clock.millis })
        for index in 1...4 { try await trail.record(call(index)) }
        clock.advance(by: 2 * Self.day)
        _ = try await export(trail, after: 0)
        #expect(try await trail.purge(exportedThrough: 2).removed == 2)
        #expect(try await trail.verify().isIntact)
    }
}

/// A clock the test moves: records are stamped with it, retention measures age by it.
final class TestClock: Sendable {
    private let value = Atomic<Int64>(1_700_000_000_000)
    var millis: Int64 { value.load(ordering: .relaxed) }
    func advance(by millis: Int64) { _ = value.wrappingAdd(millis, ordering: .relaxed) }
}

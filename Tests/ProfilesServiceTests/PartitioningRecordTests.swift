import CRMProtos
import CRMRPC
import CRMServiceHost
import CRMTestSupport
import Foundation
import GRDB
@testable import ProfilesService
import Testing

/// The firm's partition count is recorded at the first start and a restart with another is refused
/// (docs/partitioning.md §1): customers would otherwise be looked for in the wrong partitions.
@Suite struct PartitioningRecordTests {
    static func temporaryPath() -> String {
        TestFiles.sqlitePath("profiles")
    }

    static func recordedCount(_ path: String) throws -> Int? {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in try Int.fetchOne(db, sql: "SELECT count FROM partitioning WHERE id = 1") }
    }

    @Test func theFirstStartRecordsTheCountAndAnotherIsRefused() async throws {
        let path = Self.temporaryPath()
        let first = try await ProfilesHarness.start(path: path, settings: ["partitions.count": "8"])
        try await first.upsert("C0000001")
        try await first.stop()
        #expect(try Self.recordedCount(path) == 8)

        await #expect {
            _ = try await ProfilesHarness.start(path: path, settings: ["partitions.count": "16"])
        } throws: { error in
            let text = "\(error)"
            return error is ConfigurationError && text.contains("partitions.count is 16") && text.contains("created with 8")
        }
        // Leaving the setting out means the default, 64: also another count.
        await #expect(throws: ConfigurationError.self) { _ = try await ProfilesHarness.start(path: path) }
        #expect(try Self.recordedCount(path) == 8)

        let again = try await ProfilesHarness.start(path: path, settings: ["partitions.count": "8"])
        let customer = try await again.office.unary(Crm_Profiles_V1_Profiles.getCustomer, Crm_Profiles_V1_GetCustomerRequest.with { $0.customerID = "C0000001" })
        #expect(customer.customer.customerID == "C0000001")
        try await again.stop()
    }

    @Test func aNewStoreRecordsTheDefault() async throws {
        let path = Self.temporaryPath()
        let harness = try await ProfilesHarness.start(path: path)
        try await harness.stop()
        #expect(try Self.recordedCount(path) == 64)
    }

    @Test(arguments: ["0", "4097", "many"])
    func aCountOutOfRangeIsRefusedNamingTheSetting(_ value: String) async throws {
        await #expect {
            _ = try await ProfilesHarness.start(settings: ["partitions.count": value])
        } throws: { error in
            error is ConfigurationError && "\(error)".contains("partitions.count")
        }
    }
}

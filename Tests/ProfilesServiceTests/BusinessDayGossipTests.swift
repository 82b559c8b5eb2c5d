import CRMPartitions
import CRMProtos
import CRMRPC
import CRMServiceHost
import CRMTestSupport
@testable import CustomerDimensions
import Foundation
@testable import ProfilesService
import Testing

/// The firm-wide business day across profiles processes (docs/partitioning.md §2): two owners
/// splitting 8 partitions in process (127.0.0.1, port 0, their own SQLite files), beside one
/// process holding everything as the reference. Every day is a fixed June 2026 date, never the
/// clock's, so the test holds at any hour (Beijing midnight included).
@Suite(.serialized) struct BusinessDayGossipTests {
    static let count = 8

    /// Two owners (profiles-0: 0-3, profiles-1: 4-7) asking each other every 20 ms, and the reference.
    struct Firm: StoppableService {
        let owners: [InProcessService<ProfilesService>]
        let reference: InProcessService<ProfilesService>
        let directory: URL

        /// `ownerSettings[i]` is added to profiles-i's settings (e.g. to make their classification differ).
        static func start(ownerSettings: [[String: String]] = [[:], [:]]) async throws -> Firm {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("crm-day-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let topology = directory.appendingPathComponent("topology.json")
            try write(topology, endpoints: [])
            var owners: [InProcessService<ProfilesService>] = []
            for ordinal in 0..<2 {
                owners.append(try await InProcessService<ProfilesService>.start(
                    databasePath: directory.appendingPathComponent("profiles-\(ordinal).sqlite").path, tokens: TestPrincipals.entries,
                    settings: [
                        "partitions.count": "\(count)", "partitions.topology": topology.path, "partitions.owner": "profiles-\(ordinal)",
                        "partitions.business_day_interval_ms": "20",
                    ].merging(ownerSettings[ordinal]) { _, extra in extra },
                    runBackground: true, peerToken: "peer"))
            }
            try write(topology, endpoints: owners.map { "127.0.0.1:\($0.port)" })
            let reference = try await InProcessService<ProfilesService>.start(
                databasePath: directory.appendingPathComponent("single.sqlite").path, tokens: TestPrincipals.entries,
                settings: ["partitions.count": "\(count)"], runBackground: true)
            return Firm(owners: owners, reference: reference, directory: directory)
        }

        static func write(_ topology: URL, endpoints: [String]) throws {
            let list = endpoints.map { "\"\($0)\"" }.joined(separator: ", ")
            try Data(#"{"profiles": [\#(list)], "partitions": {"count": \#(count), "epoch": 1, "owners": {"profiles-0": "0-3", "profiles-1": "4-7"}}}"#.utf8)
                .write(to: topology, options: .atomic)
        }

        func stop() async throws {
            for service in owners + [reference] { try await service.stop() }
            try? FileManager.default.removeItem(at: directory)
        }
    }

    /// A customer id in the partitions of `owner` (0: 0-3, 1: 4-7).
    static func customer(of owner: Int, _ tag: String) throws -> String {
        let partitioning = try Partitioning(count: count)
        return try #require((0..<1_000).lazy.map { "D\(tag)\($0)" }.first { (partitioning.partition(of: $0) >= 4 ? 1 : 0) == owner })
    }

    static func upsert(_ client: RPCClient, _ id: String) async throws {
        _ = try await client.unary(Crm_Profiles_V1_Profiles.upsertCustomer, Crm_Profiles_V1_UpsertCustomerRequest.with {
            $0.customer = .with {
                $0.customerID = id; $0.kind = .individual; $0.name = "Customer \(id)"; $0.branchID = "B01"; $0.managerID = "M1"
                $0.status = .normal; $0.openDate = .init(year: 2020, month: 1, day: 15)
            }
        })
    }

    static func ingest(_ client: RPCClient, _ trades: [Crm_Profiles_V1_TradeEvent]) async throws {
        let answer = try await client.unary(Crm_Profiles_V1_Profiles.ingestTrades, Crm_Profiles_V1_IngestTradesRequest.with { $0.events = trades })
        #expect(answer.accepted == UInt32(trades.count))
    }

    /// Calls `service` as head office with a client closed afterwards.
    static func asOffice<T>(_ service: InProcessService<ProfilesService>, _ body: (RPCClient) async throws -> T) async throws -> T {
        let client = service.client(token: "office")
        do {
            let result = try await body(client)
            await client.close()
            return result
        } catch {
            await client.close()
            throw error
        }
    }

    static func health(_ service: InProcessService<ProfilesService>) async throws -> [String: String] {
        try await asOffice(service) { try await $0.unary(Crm_Rpc_V1_Health.check, Crm_Rpc_V1_HealthCheckRequest()).details }
    }

    static func view(_ service: InProcessService<ProfilesService>, _ id: String) async throws -> Crm_Profiles_V1_CustomerDimensions {
        try await asOffice(service) { try await $0.unary(Crm_Profiles_V1_Profiles.getCustomer360, .with { $0.customerID = id }).view.dimensions }
    }

    /// Waits until `service` reports `day` as its business day with nothing left to fold or roll over.
    static func settled(_ service: InProcessService<ProfilesService>, on day: String) async throws -> [String: String] {
        var details: [String: String] = [:]
        try await waitUntil {
            details = try await health(service)
            return details["business_day"] == day && details["dimensions_pending"] == "0"
        }
        return details
    }

    @Test func anOwnerWithAnOlderNewestDayAdoptsThePeersDayAndRecomputesItsWindows() async throws {
        try await withService(try await Firm.start()) { firm in
            let early = try Self.customer(of: 0, "a"), late = try Self.customer(of: 1, "b")
            // Every write goes through profiles-0, which forwards profiles-1's customers.
            let ingest = firm.owners[0].client(token: "ingest"), reference = firm.reference.client(token: "ingest")
            for id in [early, late] {
                try await Self.upsert(ingest, id)
                try await Self.upsert(reference, id)
            }

            // profiles-0's customer trades on 1 and 20 June: its own newest day is 20 June, and its
            // 30-day windows hold both trades. profiles-1 has no event yet, so there is nothing to adopt.
            let earlyTrades = [ProfilesHarness.trade("e1", customer: early, day: 1), ProfilesHarness.trade("e2", customer: early, day: 20)]
            try await Self.ingest(ingest, earlyTrades)
            try await Self.ingest(reference, earlyTrades)
            let own = try await Self.settled(firm.owners[0], on: "2026-06-20")
            #expect(own["business_day_source"] == "own events")
            let before = try await Self.view(firm.owners[0], early)
            #expect(before.asOf == .init(year: 2026, month: 6, day: 20))

            // profiles-1's customer trades on 3 July (sent through profiles-0, which forwards it): the
            // firm's business day is now 3 July, which profiles-0 has no event of.
            let lateTrades = [ProfilesHarness.trade("l1", customer: late, day: 30)].map { trade in
                var trade = trade
                trade.tradedAt.unixMillis += 3 * Days.millisPerDay  // 3 July, 10:30 Beijing time
                return trade
            }
            try await Self.ingest(ingest, lateTrades)
            try await Self.ingest(reference, lateTrades)
            let firmDay = "2026-07-03"
            let peer = try await Self.settled(firm.owners[1], on: firmDay)
            #expect(peer["business_day_source"] == "own events")

            // profiles-0 adopts it from profiles-1, says so, and recomputes its customer's windows for it.
            let adopted = try await Self.settled(firm.owners[0], on: firmDay)
            #expect(adopted["business_day_source"] == "adopted from profiles-1")
            #expect(adopted["business_day.profiles-1"] == firmDay)
            #expect(adopted["settings.profiles-1"] == "same")
            _ = try await Self.settled(firm.reference, on: firmDay)
            let after = try await Self.view(firm.owners[0], early)
            #expect(after.asOf == .init(year: 2026, month: 7, day: 3))
            #expect(after != before, "the windows moved on with the day")
            // Exactly the single process's dimensions for the same customer and events.
            #expect(after == (try await Self.view(firm.reference, early)))
            #expect((try await Self.view(firm.owners[1], late)) == (try await Self.view(firm.reference, late)))

            // Both owners publish the firm's day; it is never lowered by an older answer.
            for owner in firm.owners {
                let map = try await Self.asOffice(owner) { try await $0.unary(Crm_Profiles_V1_Profiles.getPartitionMap, Crm_Profiles_V1_GetPartitionMapRequest()) }
                #expect(map.businessDay == .init(year: 2026, month: 7, day: 3))
            }
            #expect(try await firm.owners[0].service.cores.all[0].updater.adopt(Days.day(year: 2026, month: 6, day: 25), from: "profiles-1") == false)

            // A newer day of profiles-0's own events makes the day its own again.
            try await Self.ingest(ingest, [ProfilesHarness.trade("e3", customer: early, day: 30)].map { trade in
                var trade = trade
                trade.tradedAt.unixMillis += 4 * Days.millisPerDay  // 4 July
                return trade
            })
            let regained = try await Self.settled(firm.owners[0], on: "2026-07-04")
            #expect(regained["business_day_source"] == "own events")
            _ = try await Self.settled(firm.owners[1], on: "2026-07-04")
            await ingest.close()
            await reference.close()
        }
    }

    @Test func theIntervalSettingIsValidated() async throws {
        let settings = ["partitions.business_day_interval_ms": "0"]
        #expect(throws: ConfigurationError.self) { _ = try ProfilesSettings(settings) }
        #expect(try ProfilesSettings([:]).businessDayInterval == .milliseconds(5_000))
        #expect(try ProfilesSettings(["partitions.business_day_interval_ms": "250"]).businessDayInterval == .milliseconds(250))
    }
}

import CRMProtos
import CRMRPC
import CRMTestSupport
import CRMWorld
import CRMWorldLoader
import Foundation
import GRDB
import Synchronization
import Testing
@testable import MatchingService

/// A matching replica newer than its profiles (a rolling upgrade) still gets every month-end it
/// asks for: a profiles from before `as_of_days` answers only `as_of`, and the fetch then asks for
/// each other day alone, storing the same rows the one-pass, positional answer gives.
@Suite(.serialized) struct SnapshotFallbackTests {
    /// The StreamDimensionsAsOf calls the older profiles received: how many days each asked for.
    final class Calls: Sendable {
        let days = Mutex<[Int]>([])
    }

    /// A profiles from before `as_of_days` and `positional`: the real profiles behind a server
    /// that drops the two fields from each request, as an older schema skips fields it does not
    /// know, so each call answers `as_of` alone, in the name-keyed form.
    static func olderProfiles(_ profiles: RPCClient, calls: Calls) async throws -> (server: RPCServer, port: Int) {
        var router = Router()
        router.serverStreaming(Crm_Profiles_V1_Profiles.streamDimensionsAsOf, policy: .roles("service")) { request, writer, _ in
            calls.days.withLock { $0.append(request.asOfDays.count) }
            var older = request
            older.asOfDays = []
            older.positional = false
            for try await message in try await profiles.serverStreaming(Crm_Profiles_V1_Profiles.streamDimensionsAsOf, older) {
                try await writer.write(message)
            }
        }
        router.unary(Crm_Profiles_V1_Profiles.listDimensions, policy: .roles("service")) { request, _ in
            try await profiles.unary(Crm_Profiles_V1_Profiles.listDimensions, request)
        }
        let server = RPCServer(serviceName: "older-profiles", configuration: RPCServerConfiguration(), router: router,
                               authenticator: TestPrincipals.authenticator)
        let port = try #require(try await server.start().port)
        return (server, port)
    }

    /// Each day's stored rows, in customer order, as (customer, stored bytes).
    static func stored(_ database: DatabasePool, days: [Int32]) async throws -> [[String: Data]] {
        try await database.read { db in
            try days.map { day in
                Dictionary(uniqueKeysWithValues: try SnapshotStore.rows(db, asOf: day).map { ($0.customerID, $0.encoded()) })
            }
        }
    }

    /// A generated world of `customers` loaded through the RPCs (catalogue, customers, their
    /// events and orders); returns three of its month-ends, early, middle and late.
    static func loadWorld(_ harness: MatchingHarness, customers: Int) async throws -> [Int32] {
        let world = World(WorldConfiguration(customers: customers, seed: 20_261_206))
        let loader = WorldLoader(world: world, clients: .init(
            profiles: harness.profiles.client(token: "office"), products: harness.products.client(token: "office")
        ))
        try await loader.loadCatalogue()
        _ = try await loader.loadCustomers(0..<customers)
        let configuration = world.configuration
        return [1, 4, configuration.months - 2].map { Int32(configuration.month($0).lastDay) }
    }

    @Test func aProfilesThatIgnoresAsOfDaysIsAskedDayByDayForTheSameRows() async throws {
        try await withService(await MatchingHarness.start()) { harness in
            let customers = 60
            let days = try await SnapshotFallbackTests.loadWorld(harness, customers: customers)
            let database = harness.replicas[0].database
            let calls = Calls()
            let older = try await Self.olderProfiles(harness.profiles.client(token: "service"), calls: calls)
            let throughOlder = RPCClient(configuration: ClientConfiguration(endpoints: [Endpoint(host: "127.0.0.1", port: older.port)], token: "service",
                                                                            defaultDeadline: nil))
            let direct = harness.profiles.client(token: "service")
            do {
                // Pages of 25: three pages of the one-pass call, each answering its first day
                // only, then each other day alone (three pages each).
                let fromOlder = try await SnapshotStore.fetch(days: days, from: throughOlder, into: database, page: 25)
                #expect(fromOlder == Dictionary(uniqueKeysWithValues: days.map { ($0, customers) }))
                let asked = calls.days.withLock { $0 }
                #expect(asked == [3, 3, 3, 0, 0, 0, 0, 0, 0], "one-pass pages, then the two other days alone: \(asked)")
                let rowsFromOlder = try await Self.stored(database, days: days)

                // The same days from the current profiles: one pass, positional.
                let fromCurrent = try await SnapshotStore.fetch(days: days, from: direct, into: database, page: 25)
                #expect(fromCurrent == fromOlder)
                let rowsFromCurrent = try await Self.stored(database, days: days)
                #expect(rowsFromCurrent == rowsFromOlder)
                #expect(rowsFromCurrent.allSatisfy { $0.count == customers })
                // Each day's rows are that day's: the customers' later months change them.
                let changed = rowsFromCurrent[0].keys.filter { rowsFromCurrent[0][$0] != rowsFromCurrent[2][$0] }.count
                #expect(changed >= customers / 2, "\(changed) of \(customers) customers' rows differ between the first and last day")
            } catch {
                await throughOlder.close(); await direct.close(); await older.server.shutdown()
                throw error
            }
            await throughOlder.close(); await direct.close(); await older.server.shutdown()
        }
    }
}

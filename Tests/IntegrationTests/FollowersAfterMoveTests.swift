import CRMPartitions
import CRMProtos
import CRMRPC
import CRMTestSupport
import Foundation
import Testing

/// Compensation's and matching's followers after partitions move (docs/partitioning.md §8): a
/// node emptied by moves and then stopped must not stop their feeds. Each follows every
/// partition's change feed and event log with a cursor named by the partition, read from the
/// process owning it; a move changes that process, and the followers find the new one by reading
/// the map again — here the old owner is gone, so reading through it (it forwards) is no way out.
@Suite(.serialized) struct FollowersAfterMoveTests {
    static let count = 4
    static let files = ["--setting", "partitions.storage=file-per-partition"]

    @Test func followersReadMovedPartitionsFromTheirNewOwnerOnceTheOldOneIsStopped() async throws {
        let workDir = FileManager.default.temporaryDirectory.appendingPathComponent("crm-follow-move-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: workDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: workDir) }
        let topology = try OwnersTopology(in: workDir, count: Self.count)
        let owners = try await topology.startOwners(in: workDir, extra: Self.files)
        let compensation = ServiceProcess(service: "compensation", workDir: workDir)
        let matching = ServiceProcess(service: "matching", workDir: workDir)
        defer { for process in owners + [compensation, matching] { _ = process.terminate() } }
        let clients = owners.map { $0.adminClient() }

        let partitioning = try Partitioning(count: Self.count)
        let first = (0..<24).map { "FOLLOW-\($0)" }
        try #require(Set(first.map(partitioning.partition(of:))).count == Self.count, "every partition holds a customer")
        try await Self.add(first, through: clients[0], round: 1)

        // Both follow through either process, as a topology's peer list gives them.
        let profilesPeer = "profiles=127.0.0.1:\(owners[0].port),127.0.0.1:\(owners[1].port)"
        try await compensation.start(arguments: ["--peer", profilesPeer, "--setting", "feeds.poll_interval_ms=20", "--setting", "feeds.max_backoff_ms=200"])
        try await matching.start(arguments: ["--peer", profilesPeer, "--setting", "feed.interval_ms=20"])
        let compensationClient = compensation.adminClient(), matchingClient = matching.adminClient()
        try await Self.waitApplied(compensationClient, matchingClient, owners: [0: clients[0], 1: clients[0], 2: clients[1], 3: clients[1]])

        // profiles-0 gives both its partitions to profiles-1, and is stopped.
        for partition in 0..<2 {
            let move = try CommandProcess(ServiceProcess.binaryDir.appendingPathComponent("crmctl"), [
                "partitions", "move", "\(partition)", "--to", "profiles-1", "--topology", topology.url.path, "--data-dir", workDir.path,
            ], workDir: workDir, name: "move-\(partition)")
            #expect(await move.exit() == 0, "\(move.standardOutput)\(move.standardError)")
        }
        #expect(try await clients[1].unary(Crm_Profiles_V1_Profiles.getPartitionMap, .init()).owners.map(\.name) == ["profiles-1"])
        await clients[0].close()
        #expect(owners[0].terminate() == 0)

        // New customers, trades, views and contacts in every partition, now all at profiles-1.
        let second = (24..<48).map { "FOLLOW-\($0)" }
        try await Self.add(second, through: clients[1], round: 2)
        try await Self.waitApplied(compensationClient, matchingClient, owners: [0: clients[1], 1: clients[1], 2: clients[1], 3: clients[1]])

        for client in [compensationClient, matchingClient] {
            let details = try await client.unary(Crm_Rpc_V1_Health.check, Crm_Rpc_V1_HealthCheckRequest()).details
            #expect(details["feed.profiles.partition_map_epoch"] == "3", "both moves' map: \(details)")
        }
        let status = try await matchingClient.unary(Crm_Matching_V1_Matching.getReplicaStatus, .init()).status
        #expect(status.customers == UInt64(first.count + second.count))
        for client in [clients[1], compensationClient, matchingClient] { await client.close() }
    }

    /// Each customer with an assessment, one trade, and the views and contacts of `round`.
    private static func add(_ customers: [String], through profiles: RPCClient, round: Int) async throws {
        for (index, id) in customers.enumerated() {
            let (upsert, assess) = PartitionedMatchingTests.customer(id, index: index)
            _ = try await profiles.unary(Crm_Profiles_V1_Profiles.upsertCustomer, upsert)
            _ = try await profiles.unary(Crm_Profiles_V1_Profiles.recordAssessment, assess)
        }
        _ = try await profiles.unary(Crm_Profiles_V1_Profiles.ingestTrades, .with {
            $0.events = customers.map { customer in
                .with {
                    $0.idempotencyKey = "T\(round)-\(customer)"; $0.customerID = customer; $0.account = .cash; $0.side = .buy
                    $0.instrument = "600519"; $0.instrumentType = .stock; $0.quantity = 100; $0.price = "10.00"
                    $0.amount = .with { $0.minorUnits = 100_000 }; $0.commission = .with { $0.minorUnits = 25 }
                    $0.tradedAt = .with { $0.unixMillis = 1_764_000_000_000 + Int64(round) * 86_400_000 }
                }
            }
        })
        let (views, contacts) = PartitionedMatchingTests.behaviour(customers, round: round, now: Int64(Date().timeIntervalSince1970 * 1_000))
        _ = try await profiles.unary(Crm_Profiles_V1_Profiles.ingestProductViews, views)
        _ = try await profiles.unary(Crm_Profiles_V1_Profiles.ingestServiceContacts, contacts)
    }

    /// Waits until compensation and matching have applied every partition's change feed and event
    /// log up to its end at its owner (`owners`: partition → a client of its owner), or past it:
    /// profiles' dimension updater folds the events in the background and appends the changes it
    /// derives after the calls that brought them have answered, so a feed may grow after its end
    /// is read here.
    private static func waitApplied(_ compensation: RPCClient, _ matching: RPCClient, owners: [Int: RPCClient]) async throws {
        var compensationExpects: [String: UInt64] = [:]
        var matchingExpects: [String: UInt64] = [:]
        for (partition, owner) in owners {
            let selector = Crm_Profiles_V1_PartitionSelector.with { $0.number = UInt32(partition) }
            let changes = try await owner.serverStreaming(Crm_Profiles_V1_Profiles.streamChanges, .with { $0.partition = selector }).collect()
            let trades = try await owner.serverStreaming(Crm_Profiles_V1_Profiles.streamEvents, .with { $0.partition = selector; $0.types = [.trade] }).collect()
            let behaviour = try await owner.serverStreaming(Crm_Profiles_V1_Profiles.streamEvents, .with {
                $0.partition = selector; $0.types = [.productView, .serviceContact]
            }).collect()
            let name = Partitioning.name(of: partition)
            compensationExpects["feed.profiles_customers.\(name).position"] = changes.last?.sequence ?? 0
            compensationExpects["feed.profiles_events.\(name).position"] = trades.last?.eventID ?? 0
            matchingExpects["profiles_sequence.\(name)"] = changes.last?.sequence ?? 0
            matchingExpects["events_sequence.\(name)"] = behaviour.last?.eventID ?? 0
        }
        for (client, expected) in [(compensation, compensationExpects), (matching, matchingExpects)] {
            try await waitUntil(every: .milliseconds(20)) {
                guard let details = try? await client.unary(Crm_Rpc_V1_Health.check, Crm_Rpc_V1_HealthCheckRequest()).details else { return false }
                return expected.allSatisfy { key, end in details[key].flatMap { UInt64($0) }.map { $0 >= end } ?? false }
            }
        }
    }
}

import CRMPartitions
import CRMProtos
import CRMRPC
import CRMTestSupport
import Foundation
import Synchronization
import Testing

/// kill -9 of one profiles owner while writers run through the other (docs/partitioning.md, issue
/// 16's proof): calls for the killed owner's partitions fail UNAVAILABLE and every other call
/// succeeds; after its restart every acknowledged trade is in the owner's event log, the trades
/// whose answer was lost are sent again and stored once, and no trade is stored twice — counted
/// trade by trade, not sampled.
@Suite(.serialized) struct PartitionOwnerKilledUnderLoadTests {
    static let count = 8
    static let writers = 4
    /// Each writer's bound on calls, so a run that never meets its conditions ends (and fails).
    static let callsPerWriter = 20_000

    /// What the writers saw, trade by trade.
    private struct Ledger {
        var acknowledged: [String: String] = [:]  // trade key → customer
        var failed: [(key: String, customer: String, code: StatusCode)] = []
        /// Set once the owner was killed: how many trades each side had acknowledged then.
        var killed: (kept: Int, lost: Int)?
        var keptAcknowledged = 0
        var lostAcknowledged = 0
        var finishedWriters = 0
        var stop = false
    }

    /// The ledger, shared by the writers' tasks.
    private final class SharedLedger: Sendable {
        let state = Mutex(Ledger())
        func withLock<Result>(_ body: (inout Ledger) -> Result) -> Result { state.withLock { body(&$0) } }
    }

    @Test func aKilledOwnerUnderLoadLosesNothingAcknowledgedAndStoresNothingTwice() async throws {
        let workDir = FileManager.default.temporaryDirectory.appendingPathComponent("crm-kill-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: workDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: workDir) }
        let topology = try OwnersTopology(in: workDir, count: Self.count)
        let owners = try await topology.startOwners(in: workDir, extra: OwnersTopology.oneFile)
        defer { for process in owners { process.terminate() } }

        // Customers of both owners, created through profiles-0 (which forwards profiles-1's).
        let entry = owners[0].adminClient()
        let partitioning = try Partitioning(count: Self.count)
        let customers = (0..<16).map { "KILL-\($0)" }
        let lost = Set(customers.filter { partitioning.partition(of: $0) >= Self.count / 2 })
        try #require(!lost.isEmpty && lost.count < customers.count, "both owners hold customers")
        for id in customers {
            _ = try await entry.unary(Crm_Profiles_V1_Profiles.upsertCustomer, .with {
                $0.customer = .with {
                    $0.customerID = id; $0.kind = .individual; $0.name = "Kill \(id)"; $0.branchID = "B01"; $0.status = .normal
                    $0.openDate = .init(year: 2020, month: 1, day: 2)
                }
            })
        }

        // Writers: one trade a call, each with its own key, round-robin over the customers.
        let ledger = SharedLedger()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<Self.writers {
                group.addTask {
                    defer { ledger.withLock { $0.finishedWriters += 1 } }
                    for call in 0..<Self.callsPerWriter {
                        if ledger.withLock({ $0.stop }) { return }
                        let customer = customers[(writer + call * Self.writers) % customers.count]
                        let key = "kill-\(writer)-\(call)"
                        do {
                            let answer = try await entry.unary(Crm_Profiles_V1_Profiles.ingestTrades, .with { $0.events = [Self.trade(key, customer)] })
                            #expect(answer.accepted == 1 && answer.duplicates == 0, "\(key)")
                            ledger.withLock { ledger in
                                ledger.acknowledged[key] = customer
                                if lost.contains(customer) { ledger.lostAcknowledged += 1 } else { ledger.keptAcknowledged += 1 }
                            }
                        } catch let error as RPCError {
                            ledger.withLock { $0.failed.append((key, customer, error.code)) }
                        }
                    }
                }
            }
            // Both owners take trades; then profiles-1 dies under the load; the writers go on until
            // profiles-0's customers have had 200 more trades and profiles-1's 20 more refusals.
            func progressed(_ condition: (Ledger) -> Bool) async throws {
                try await waitUntil {
                    let (met, writersLeft) = ledger.withLock { (condition($0), $0.finishedWriters < Self.writers) }
                    if !met && !writersLeft { throw RPCError(.internal, "the writers stopped before the condition held") }
                    return met
                }
            }
            try await progressed { $0.keptAcknowledged >= 100 && $0.lostAcknowledged >= 100 }
            owners[1].kill9()
            ledger.withLock { $0.killed = ($0.keptAcknowledged, $0.lostAcknowledged) }
            try await progressed { ledger in
                guard let killed = ledger.killed else { return false }
                return ledger.keptAcknowledged >= killed.kept + 200 && ledger.failed.count >= 20
            }
            ledger.withLock { $0.stop = true }
            try await group.waitForAll()
        }
        let seen = ledger.withLock { $0 }

        // Only the killed owner's customers failed, each UNAVAILABLE (retryable).
        #expect(seen.failed.allSatisfy { lost.contains($0.customer) }, "\(seen.failed.filter { !lost.contains($0.customer) }.prefix(5))")
        #expect(seen.failed.allSatisfy { $0.code == .unavailable }, "\(seen.failed.filter { $0.code != .unavailable }.prefix(5))")
        #expect(seen.failed.count >= 20)

        // profiles-1 back on its port and store; the trades whose answers were lost sent again:
        // each is stored now, or was stored before the kill and is recognised as a duplicate.
        try await owners[1].start(port: owners[1].port, arguments: topology.ownerArguments(1))
        try await waitUntil(every: .milliseconds(50)) {
            await statusOf {
                _ = try await entry.unary(Crm_Profiles_V1_Profiles.getCustomer, .with { $0.customerID = lost.sorted()[0] })
            } == nil
        }
        var storedBeforeTheKill = 0
        for failure in seen.failed {
            let answer = try await entry.unary(Crm_Profiles_V1_Profiles.ingestTrades, .with { $0.events = [Self.trade(failure.key, failure.customer)] })
            #expect(answer.accepted + answer.duplicates == 1, "\(failure.key)")
            storedBeforeTheKill += Int(answer.duplicates)
        }

        // Each owner's event log, read whole: every trade sent is there exactly once, in the log of
        // the owner of its customer's partition.
        var stored: [String: [String]] = [:]  // trade key → owners holding it
        for (ordinal, process) in owners.enumerated() {
            let client = process.adminClient()
            let events = try await client.serverStreaming(Crm_Profiles_V1_Profiles.streamEvents, .with { $0.types = [.trade] }).collect()
            await client.close()
            for event in events {
                stored[event.trade.idempotencyKey, default: []].append("profiles-\(ordinal)")
                let owner = partitioning.partition(of: event.trade.customerID) < Self.count / 2 ? 0 : 1
                #expect(owner == ordinal, "\(event.trade.idempotencyKey) of \(event.trade.customerID) stored by profiles-\(ordinal)")
            }
        }
        let sent = Set(seen.acknowledged.keys).union(seen.failed.map(\.key))
        #expect(Set(stored.keys) == sent, "missing \(sent.subtracting(stored.keys).sorted().prefix(5)), unexpected \(Set(stored.keys).subtracting(sent).sorted().prefix(5))")
        #expect(stored.values.allSatisfy { $0.count == 1 }, "stored twice: \(stored.filter { $0.value.count > 1 }.keys.sorted().prefix(5))")
        #expect(Set(seen.acknowledged.keys).isSubset(of: stored.keys), "acknowledged and lost")
        // At most the calls in flight at the kill can have been stored without their answer.
        #expect(storedBeforeTheKill <= Self.writers, "\(storedBeforeTheKill)")
        await entry.close()
    }

    private static func trade(_ key: String, _ customer: String) -> Crm_Profiles_V1_TradeEvent {
        .with {
            $0.idempotencyKey = key; $0.customerID = customer; $0.account = .cash; $0.side = .buy; $0.instrument = "600519"
            $0.instrumentType = .stock; $0.quantity = 100; $0.price = "10.00"; $0.amount = .with { $0.minorUnits = 100_000 }
            $0.tradedAt = .with { $0.unixMillis = 1_764_000_000_000 }
        }
    }
}

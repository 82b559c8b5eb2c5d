import CRMPartitions
import CRMProtos
import CRMRPC
import CRMTestSupport
import Foundation
import Synchronization
import Testing

/// Moving a partition between two real profiles executables keeping a file per partition
/// (docs/partitioning.md §8, issue 16's proof): `crmctl partitions move` while writers run; every
/// acknowledged trade is stored exactly once, in the partition's log at its new owner; the calls
/// refused during the move are UNAVAILABLE and succeed when retried; a follower's cursor for the
/// partition stays valid. And the move's states across restarts: a drain outlives one, a staged
/// copy the map does not give is dropped, a map that takes an undrained partition is refused.
@Suite(.serialized) struct PartitionMoveTests {
    static let count = 4
    static let writers = 4
    /// Each writer's bound on trades, so a run that never meets its conditions ends (and fails).
    static let tradesPerWriter = 5_000
    /// The partition moved: profiles-0's second.
    static let moving = 1

    private struct Ledger {
        var acknowledged: [String: String] = [:]  // trade key → customer
        var movingAcknowledged = 0
        /// UNAVAILABLE answers, by whether the customer is in the moving partition.
        var refusedMoving = 0
        var refusedOthers = 0
        var duplicates = 0
        var otherFailures: [String] = []
        var finishedWriters = 0
        var stop = false
    }

    private final class SharedLedger: Sendable {
        let state = Mutex(Ledger())
        func withLock<Result>(_ body: (inout Ledger) -> Result) -> Result { state.withLock { body(&$0) } }
    }

    @Test func aPartitionMovedWhileWritersRunLosesNothingAndStoresNothingTwice() async throws {
        try await Self.withTwoOwners { workDir, topology, owners in
            let clients = owners.map { $0.adminClient() }
            let partitioning = try Partitioning(count: Self.count)
            let customers = (0..<24).map { "MOVE-\($0)" }
            let moving = Set(customers.filter { partitioning.partition(of: $0) == Self.moving })
            try #require(moving.count >= 2 && customers.contains { partitioning.partition(of: $0) == 0 }
                         && customers.contains { partitioning.partition(of: $0) >= 2 }, "every kind of customer is there")
            for id in customers { try await Self.upsert(id, through: clients[0]) }
            // A follower of the moving partition's event log, as matching and compensation are: its
            // cursor before the move.
            let before = try await clients[0].serverStreaming(Crm_Profiles_V1_Profiles.streamEvents, .with {
                $0.partition = .with { $0.number = UInt32(Self.moving) }
            }).collect()

            // Writers through both processes, one trade a call, each retried with its key until
            // acknowledged, as a trading system's feed would.
            let ledger = SharedLedger()
            var moveOutput = ""
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<Self.writers {
                    let client = clients[writer % clients.count]
                    group.addTask {
                        defer { ledger.withLock { $0.finishedWriters += 1 } }
                        for call in 0..<Self.tradesPerWriter {
                            if ledger.withLock({ $0.stop }) { return }
                            let customer = customers[(writer + call * Self.writers) % customers.count]
                            let key = "move-\(writer)-\(call)"
                            var attempts = 0
                            while true {
                                attempts += 1
                                do {
                                    let answer = try await client.unary(Crm_Profiles_V1_Profiles.ingestTrades, .with { $0.events = [Self.trade(key, customer)] })
                                    ledger.withLock { ledger in
                                        ledger.acknowledged[key] = customer
                                        ledger.duplicates += Int(answer.duplicates)
                                        if moving.contains(customer) { ledger.movingAcknowledged += 1 }
                                    }
                                    break
                                } catch let error as RPCError where error.code == .unavailable && attempts < 2_000 {
                                    ledger.withLock { ledger in
                                        if moving.contains(customer) { ledger.refusedMoving += 1 } else { ledger.refusedOthers += 1 }
                                    }
                                    try await Task.sleep(for: .milliseconds(5))
                                } catch {
                                    ledger.withLock { $0.otherFailures.append("\(key): \(error)") }
                                    return
                                }
                            }
                        }
                    }
                }
                func progressed(_ condition: (Ledger) -> Bool) async throws {
                    try await waitUntil {
                        let (met, writersLeft) = ledger.withLock { (condition($0), $0.finishedWriters < Self.writers) }
                        if !met && !writersLeft { throw RPCError(.internal, "the writers stopped before the condition held") }
                        return met
                    }
                }
                try await progressed { $0.movingAcknowledged >= 100 }
                let move = try CommandProcess(ServiceProcess.binaryDir.appendingPathComponent("crmctl"), [
                    "partitions", "move", "\(Self.moving)", "--to", "profiles-1", "--topology", topology.url.path, "--data-dir", workDir.path,
                ], workDir: workDir, name: "move")
                let status = await move.exit()
                moveOutput = move.standardOutput + move.standardError
                #expect(status == 0, "\(moveOutput)")
                let atMove = ledger.withLock { $0.movingAcknowledged }
                try await progressed { $0.movingAcknowledged >= atMove + 200 }
                ledger.withLock { $0.stop = true }
                try await group.waitForAll()
            }
            let seen = ledger.withLock { $0 }
            #expect(seen.otherFailures.isEmpty, "\(seen.otherFailures.prefix(5))")
            #expect(seen.duplicates == 0, "a refused call was stored: \(seen.duplicates) duplicates on retry")
            // Only the moving partition's calls were refused.
            #expect(seen.refusedOthers == 0, "\(seen.refusedOthers) calls for partitions that did not move were refused")

            // Both processes route by the new map.
            for client in clients {
                let map = try await client.unary(Crm_Profiles_V1_Profiles.getPartitionMap, .init())
                #expect(map.epoch == 2)
                #expect(Dictionary(uniqueKeysWithValues: map.owners.map { ($0.name, $0.partitions) }) == ["profiles-0": "0", "profiles-1": "1-3"])
            }
            #expect(!FileManager.default.fileExists(atPath: workDir.appendingPathComponent("profiles-0.partitions/p0001.sqlite").path),
                    "the old owner deleted its copy")

            // Every partition's log, read from its owner now: every acknowledged trade exactly once,
            // in its customer's partition; none that was not acknowledged.
            var stored: [String: Int] = [:]
            for partition in 0..<Self.count {
                let owner = partition == 0 ? clients[0] : clients[1]
                let events = try await owner.serverStreaming(Crm_Profiles_V1_Profiles.streamEvents, .with {
                    $0.types = [.trade]
                    $0.partition = .with { $0.number = UInt32(partition) }
                }).collect()
                for event in events {
                    stored[event.trade.idempotencyKey, default: 0] += 1
                    #expect(partitioning.partition(of: event.trade.customerID) == partition, "\(event.trade.idempotencyKey) in partition \(partition)")
                }
            }
            #expect(Set(stored.keys) == Set(seen.acknowledged.keys),
                    "missing \(Set(seen.acknowledged.keys).subtracting(stored.keys).sorted().prefix(5)), unexpected \(Set(stored.keys).subtracting(seen.acknowledged.keys).sorted().prefix(5))")
            #expect(stored.values.allSatisfy { $0 == 1 }, "stored twice: \(stored.filter { $0.value > 1 }.keys.sorted().prefix(5))")

            // The follower resumes after its cursor, through the old owner (which forwards the moved
            // partition's log): the events it had, then the rest, ids increasing, none repeated.
            let cursor = before.last?.eventID ?? 0
            let after = try await clients[0].serverStreaming(Crm_Profiles_V1_Profiles.streamEvents, .with {
                $0.afterEventID = cursor
                $0.partition = .with { $0.number = UInt32(Self.moving) }
            }).collect()
            let whole = try await clients[1].serverStreaming(Crm_Profiles_V1_Profiles.streamEvents, .with {
                $0.partition = .with { $0.number = UInt32(Self.moving) }
            }).collect()
            #expect((before + after).map(\.eventID) == whole.map(\.eventID))
            #expect(zip(whole, whole.dropFirst()).allSatisfy { $0.eventID < $1.eventID })
            #expect(whole.filter { $0.type == .trade }.count == seen.acknowledged.values.filter { moving.contains($0) }.count)
            #expect(moveOutput.contains("map epoch 2"), "\(moveOutput)")
            // The file's main part was copied while the partition served; after the drain, only the writes since.
            #expect(moveOutput.contains("main part copied to profiles-1") && moveOutput.contains("written since the pin"), "\(moveOutput)")

            // The compliance officer's view: who drained the partition, to where, how many customers.
            let compliance = RPCClient(configuration: ClientConfiguration(endpoints: [owners[0].endpoint], security: owners[0].clientSecurity,
                                                                          token: "dev-compliance-token"))
            var drains: [Crm_Audit_V1_AuditRecord] = []
            var query = Crm_Audit_V1_QueryAuditRequest.with { $0.principal = "ops"; $0.page.pageSize = 1_000 }
            repeat {
                let page = try await compliance.unary(Crm_Audit_V1_Audit.queryAudit, query)
                drains += page.records.filter { $0.method == Crm_Profiles_V1_Profiles.drainPartition.path }
                query.page.pageToken = page.page.nextPageToken
            } while !query.page.pageToken.isEmpty
            #expect(drains.map(\.aggregateRule) == ["partition 1 drained for a move to profiles-1"], "\(drains)")
            #expect(drains.first?.aggregateCount == UInt64(moving.count))
            await compliance.close()
            for client in clients { await client.close() }
        }
    }

    @Test func aDrainOutlivesARestartAStagedCopyIsDroppedAndAnUndrainedPartitionCannotBeTaken() async throws {
        try await Self.withTwoOwners { workDir, topology, owners in
            var clients = owners.map { $0.adminClient() }
            let customer = try Self.customerOfTheMovingPartition("STAY")
            try await Self.upsert(customer, through: clients[1])
            _ = try await clients[1].unary(Crm_Profiles_V1_Profiles.ingestTrades, .with { $0.events = [Self.trade("stay-1", customer)] })

            // A map that takes the partition from profiles-0 before it was drained: refused, the map in force stays.
            try writeMap(try topologyMap(topology).moving(Self.moving, to: "profiles-1"), into: topology)
            let refused = await statusOf { _ = try await clients[1].unary(Crm_Profiles_V1_Profiles.reloadPartitionMap, .init()) }
            #expect(refused?.code == .failedPrecondition, "\(String(describing: refused))")
            let refusedAtOwner = await statusOf { _ = try await clients[0].unary(Crm_Profiles_V1_Profiles.reloadPartitionMap, .init()) }
            #expect(refusedAtOwner?.code == .failedPrecondition && refusedAtOwner?.message.contains("has not drained") == true,
                    "\(String(describing: refusedAtOwner))")
            #expect(try await clients[0].unary(Crm_Profiles_V1_Profiles.getPartitionMap, .init()).epoch == 1)
            try topology.write(endpoints: owners.map { "127.0.0.1:\($0.port)" })  // the map of epoch 1 again

            // Drained and copied, then both restarted before the map changed: the owner keeps the
            // partition drained (refused, UNAVAILABLE), the other drops its staged copy.
            let (drained, adopted) = try await Self.drainAndAdopt(clients)
            #expect(adopted.sizeBytes == drained.sizeBytes && drained.sizeBytes > 0)
            let staged = workDir.appendingPathComponent("profiles-1.partitions/p0001.sqlite.incoming")
            #expect(FileManager.default.fileExists(atPath: staged.path))
            let whileDrained = await statusOf { _ = try await clients[1].unary(Crm_Profiles_V1_Profiles.getCustomer, .with { $0.customerID = customer }) }
            #expect(whileDrained?.code == .unavailable, "\(String(describing: whileDrained))")
            // A copy that does not match what the drain answered is refused.
            let corrupt = await statusOf {
                _ = try await clients[1].unary(Crm_Profiles_V1_Profiles.adoptPartition, .with {
                    $0.partition = UInt32(Self.moving); $0.fromOwner = "profiles-0"; $0.sizeBytes = drained.sizeBytes
                    $0.sha256 = String(repeating: "0", count: 64)
                })
            }
            #expect(corrupt?.code == .dataLoss, "\(String(describing: corrupt))")

            for client in clients { await client.close() }
            for process in owners { _ = process.terminate() }
            for (ordinal, process) in owners.enumerated() {
                try await process.start(arguments: topology.ownerArguments(ordinal) + Self.files)
            }
            try topology.write(endpoints: owners.map { "127.0.0.1:\($0.port)" })
            clients = owners.map { $0.adminClient() }
            #expect(!FileManager.default.fileExists(atPath: staged.path), "a staged copy the map does not give is dropped at start")
            // Through profiles-1, which may first try profiles-0's old port (its peers' endpoints were
            // written after both restarted): UNAVAILABLE either way, until profiles-0 answers that the
            // partition is being moved.
            try await waitUntil(every: .milliseconds(20)) {
                let afterRestart = await statusOf { _ = try await clients[1].unary(Crm_Profiles_V1_Profiles.getCustomer, .with { $0.customerID = customer }) }
                try #require(afterRestart?.code == .unavailable, "\(String(describing: afterRestart))")
                return afterRestart?.message.contains("being moved") == true
            }
            let health = try await clients[0].unary(Crm_Rpc_V1_Health.check, HealthCheckRequest())
            #expect(health.details["partitions_drained"] == "1 to profiles-1")

            // Cancelled: served again, everything there.
            let resume = try CommandProcess(ServiceProcess.binaryDir.appendingPathComponent("crmctl"), [
                "partitions", "resume", "\(Self.moving)", "--topology", topology.url.path, "--data-dir", workDir.path,
            ], workDir: workDir, name: "resume")
            #expect(await resume.exit() == 0, "\(resume.standardOutput)\(resume.standardError)")
            try await waitUntil(every: .milliseconds(20)) {
                await statusOf { _ = try await clients[1].unary(Crm_Profiles_V1_Profiles.getCustomer, .with { $0.customerID = customer }) } == nil
            }
            let events = try await clients[0].serverStreaming(Crm_Profiles_V1_Profiles.streamEvents, .with {
                $0.partition = .with { $0.number = UInt32(Self.moving) }
            }).collect()
            #expect(events.map(\.trade.idempotencyKey) == ["stay-1"])
            #expect(try await clients[0].unary(Crm_Rpc_V1_Health.check, HealthCheckRequest()).details["partitions_drained"] == nil)
            for client in clients { await client.close() }
        }
    }

    /// A move prepared (the main part pinned and copied while serving) across restarts and a
    /// cancel: a pin ends with ResumePartition; a new owner restarted since its copy of the main
    /// part refuses the tail; an old owner restarted since the pin drains the file whole.
    @Test func aPreparedMoveEndsWithResumeAndFallsBackToTheWholeFileAfterARestart() async throws {
        try await Self.withTwoOwners { workDir, topology, owners in
            var clients = owners.map { $0.adminClient() }
            let customer = try Self.customerOfTheMovingPartition("PIN")
            try await Self.upsert(customer, through: clients[1])
            let partition = UInt32(Self.moving)
            func prepareAndCopy() async throws -> Crm_Profiles_V1_PreparePartitionMoveResponse {
                let pin = try await clients[0].unary(Crm_Profiles_V1_Profiles.preparePartitionMove, .with { $0.partition = partition; $0.toOwner = "profiles-1" })
                _ = try await clients[1].unary(Crm_Profiles_V1_Profiles.adoptPartition, .with {
                    $0.partition = partition; $0.fromOwner = "profiles-0"; $0.part = .prepared; $0.sizeBytes = pin.sizeBytes; $0.sha256 = pin.sha256
                })
                return pin
            }
            func restart(_ ordinal: Int) async throws {
                await clients[ordinal].close()
                _ = owners[ordinal].terminate()
                try await owners[ordinal].start(arguments: topology.ownerArguments(ordinal) + Self.files)
                try topology.write(endpoints: owners.map { "127.0.0.1:\($0.port)" })
                clients[ordinal] = owners[ordinal].adminClient()
            }
            func health(_ ordinal: Int) async throws -> [String: String] {
                try await clients[ordinal].unary(Crm_Rpc_V1_Health.check, HealthCheckRequest()).details
            }
            let prepared = workDir.appendingPathComponent("profiles-1.partitions/p0001.sqlite.prepared")

            // Pinned and copied while serving; the customer's calls still answer; resume ends the pin.
            _ = try await prepareAndCopy()
            #expect(try await health(0)["partitions_prepared"] == "1 to profiles-1")
            #expect(FileManager.default.fileExists(atPath: prepared.path))
            _ = try await clients[1].unary(Crm_Profiles_V1_Profiles.getCustomer, .with { $0.customerID = customer })
            _ = try await clients[0].unary(Crm_Profiles_V1_Profiles.resumePartition, .with { $0.partition = partition })
            #expect(try await health(0)["partitions_prepared"] == nil)
            let unpinned = await statusOf {
                _ = try await clients[1].unary(Crm_Profiles_V1_Profiles.adoptPartition, .with {
                    $0.partition = partition; $0.fromOwner = "profiles-0"; $0.part = .prepared; $0.sizeBytes = 1; $0.sha256 = String(repeating: "0", count: 64)
                })
            }
            #expect(unpinned?.code == .failedPrecondition && unpinned?.message.contains("not pinned") == true, "\(String(describing: unpinned))")

            // The new owner restarts after copying the main part: its copy is dropped, the tail refused.
            _ = try await prepareAndCopy()
            try await restart(1)
            #expect(!FileManager.default.fileExists(atPath: prepared.path), "a prepared copy is dropped at start")
            let drained = try await clients[0].unary(Crm_Profiles_V1_Profiles.drainPartition, .with {
                $0.partition = partition; $0.toOwner = "profiles-1"; $0.tailSincePrepare = true
            })
            #expect(drained.part == .tail)
            let noCopy = await statusOf {
                _ = try await clients[1].unary(Crm_Profiles_V1_Profiles.adoptPartition, .with {
                    $0.partition = partition; $0.fromOwner = "profiles-0"; $0.part = .tail; $0.sizeBytes = drained.sizeBytes; $0.sha256 = drained.sha256
                    $0.preparedSizeBytes = drained.preparedSizeBytes; $0.preparedSha256 = drained.preparedSha256
                })
            }
            #expect(noCopy?.code == .failedPrecondition && noCopy?.fieldViolations.first?.field == "prepared_sha256", "\(String(describing: noCopy))")
            let tail = workDir.appendingPathComponent("profiles-0.partitions/p0001.sqlite.tail")
            #expect(FileManager.default.fileExists(atPath: tail.path))
            _ = try await clients[0].unary(Crm_Profiles_V1_Profiles.resumePartition, .with { $0.partition = partition })
            #expect(!FileManager.default.fileExists(atPath: tail.path), "a resumed partition's tail is deleted")

            // The old owner restarts after the pin: the drain answers the whole file, which moves.
            _ = try await clients[0].unary(Crm_Profiles_V1_Profiles.preparePartitionMove, .with { $0.partition = partition; $0.toOwner = "profiles-1" })
            try await Self.upsert(customer + "-2", through: clients[1])
            try await restart(0)
            let whole = try await clients[0].unary(Crm_Profiles_V1_Profiles.drainPartition, .with {
                $0.partition = partition; $0.toOwner = "profiles-1"; $0.tailSincePrepare = true
            })
            #expect(whole.part == .whole && whole.preparedSha256.isEmpty)
            // profiles-1 first tries profiles-0's old port, then reads the topology again.
            try await waitUntil(every: .milliseconds(20)) {
                let copied = await statusOf {
                    _ = try await clients[1].unary(Crm_Profiles_V1_Profiles.adoptPartition, .with {
                        $0.partition = partition; $0.fromOwner = "profiles-0"; $0.sizeBytes = whole.sizeBytes; $0.sha256 = whole.sha256
                    })
                }
                try #require(copied == nil || copied?.code == .unavailable, "\(String(describing: copied))")
                return copied == nil
            }
            try writeMap(try topologyMap(topology).moving(Self.moving, to: "profiles-1"), into: topology)
            for client in [clients[1], clients[0]] { _ = try await client.unary(Crm_Profiles_V1_Profiles.reloadPartitionMap, .init()) }
            for id in [customer, customer + "-2"] {
                _ = try await clients[0].unary(Crm_Profiles_V1_Profiles.getCustomer, .with { $0.customerID = id })
            }
            for client in clients { await client.close() }
        }
    }

    @Test func aMoveCompletedBySIGHUPServesThePartitionAtItsNewOwner() async throws {
        try await Self.withTwoOwners { workDir, topology, owners in
            let clients = owners.map { $0.adminClient() }
            let customer = try Self.customerOfTheMovingPartition("HUP")
            try await Self.upsert(customer, through: clients[0])
            _ = try await clients[0].unary(Crm_Profiles_V1_Profiles.ingestTrades, .with { $0.events = [Self.trade("hup-1", customer)] })
            _ = try await Self.drainAndAdopt(clients)
            try writeMap(try topologyMap(topology).moving(Self.moving, to: "profiles-1"), into: topology)
            // The new owner first, as crmctl does: the old one then forwards to a process that serves it.
            for (place, process) in owners.enumerated().reversed() {
                process.hangUp()
                try await waitUntil(every: .milliseconds(20)) {
                    try await clients[place].unary(Crm_Profiles_V1_Profiles.getPartitionMap, .init()).epoch == 2
                }
            }
            let answer = try await clients[0].unary(Crm_Profiles_V1_Profiles.getCustomer, .with { $0.customerID = customer })
            #expect(answer.customer.customerID == customer)
            let events = try await clients[1].serverStreaming(Crm_Profiles_V1_Profiles.streamEvents, .with {
                $0.partition = .with { $0.number = UInt32(Self.moving) }
            }).collect()
            #expect(events.map(\.trade.idempotencyKey) == ["hup-1"])
            // The old owner routes by the new map first and deletes the moved file just after,
            // once it has asked the new owner (``PartitionMoves``): wait for that, with a ceiling.
            let oldFile = workDir.appendingPathComponent("profiles-0.partitions/p0001.sqlite").path
            let clock = ContinuousClock(), ceiling = clock.now + .seconds(60)
            try await waitUntil(every: .milliseconds(20)) { !FileManager.default.fileExists(atPath: oldFile) || clock.now > ceiling }
            #expect(!FileManager.default.fileExists(atPath: oldFile))
            #expect(FileManager.default.fileExists(atPath: workDir.appendingPathComponent("profiles-1.partitions/p0001.sqlite").path))
            for client in clients { await client.close() }
        }
    }

    /// The old owner deletes a moved partition's file only once the new owner serves it: a new
    /// owner restarted between the copy and the map's change has dropped its staged copy, and
    /// the move is finished by copying the kept file again (`crmctl partitions move --from`).
    @Test func aNewOwnerThatLostItsCopyIsGivenTheKeptFileAgain() async throws {
        try await Self.withTwoOwners { workDir, topology, owners in
            var clients = owners.map { $0.adminClient() }
            let customer = try Self.customerOfTheMovingPartition("LOST")
            try await Self.upsert(customer, through: clients[0])
            _ = try await clients[0].unary(Crm_Profiles_V1_Profiles.ingestTrades, .with { $0.events = [Self.trade("lost-1", customer)] })
            _ = try await Self.drainAndAdopt(clients)

            // The new owner restarts before the map changes: its staged copy is dropped.
            await clients[1].close()
            _ = owners[1].terminate()
            try await owners[1].start(arguments: topology.ownerArguments(1) + Self.files)
            try topology.write(endpoints: owners.map { "127.0.0.1:\($0.port)" })
            clients[1] = owners[1].adminClient()
            try writeMap(try topologyMap(topology).moving(Self.moving, to: "profiles-1"), into: topology)

            let refused = await statusOf { _ = try await clients[1].unary(Crm_Profiles_V1_Profiles.reloadPartitionMap, .init()) }
            #expect(refused?.code == .failedPrecondition && refused?.message.contains("holds no copy") == true, "\(String(describing: refused))")
            let oldOwner = try await clients[0].unary(Crm_Profiles_V1_Profiles.reloadPartitionMap, .init())
            #expect(oldOwner.epoch == 2 && oldOwner.released.isEmpty, "\(oldOwner)")
            let kept = workDir.appendingPathComponent("profiles-0.partitions/p0001.sqlite")
            #expect(FileManager.default.fileExists(atPath: kept.path), "the only copy is kept")
            #expect(try await clients[0].unary(Crm_Rpc_V1_Health.check, HealthCheckRequest()).details["partitions_moved_kept"] == "1 to profiles-1")

            let finish = try CommandProcess(ServiceProcess.binaryDir.appendingPathComponent("crmctl"), [
                "partitions", "move", "\(Self.moving)", "--to", "profiles-1", "--from", "profiles-0", "--topology", topology.url.path, "--data-dir", workDir.path,
            ], workDir: workDir, name: "finish")
            #expect(await finish.exit() == 0, "\(finish.standardOutput)\(finish.standardError)")
            #expect(!FileManager.default.fileExists(atPath: kept.path), "released once the new owner serves it")
            let events = try await clients[1].serverStreaming(Crm_Profiles_V1_Profiles.streamEvents, .with {
                $0.partition = .with { $0.number = UInt32(Self.moving) }
            }).collect()
            #expect(events.map(\.trade.idempotencyKey) == ["lost-1"])
            #expect(try await clients[0].unary(Crm_Profiles_V1_Profiles.getCustomer, .with { $0.customerID = customer }).customer.customerID == customer)
            for client in clients { await client.close() }
        }
    }

    /// A move finished by pushing the new map (`crmctl partitions reload --push`) while the
    /// processes' own topology file still holds the old one, as a pod's copy of a ConfigMap lags:
    /// both route by the pushed map at once; a pushed map that names a process the file does not
    /// list, or that is malformed, is refused naming the field; both processes restarted before the
    /// file changes still route by the pushed map (kept in each store), and the moved customer is
    /// served at the new owner; once the file holds the map, a reload from it changes nothing.
    @Test func aPushedMapIsServedAtOnceAndOutlivesARestartBeforeTheFileHoldsIt() async throws {
        try await Self.withTwoOwners { workDir, topology, owners in
            var clients = owners.map { $0.adminClient() }
            let customer = try Self.customerOfTheMovingPartition("PUSH")
            try await Self.upsert(customer, through: clients[0])
            _ = try await clients[0].unary(Crm_Profiles_V1_Profiles.ingestTrades, .with { $0.events = [Self.trade("push-1", customer)] })
            _ = try await Self.drainAndAdopt(clients)
            let moved = try topologyMap(topology).moving(Self.moving, to: "profiles-1")

            // Refused before anything changes: an owner the file does not list; a partition owned twice.
            func pushing(_ owners: [(String, String)], epoch: UInt64 = 2) -> Crm_Profiles_V1_ReloadPartitionMapRequest {
                .with { $0.map = .with { map in
                    map.count = UInt32(Self.count); map.epoch = epoch
                    map.owners = owners.map { owner in .with { $0.name = owner.0; $0.partitions = owner.1 } }
                } }
            }
            let unknown = await statusOf {
                _ = try await clients[1].unary(Crm_Profiles_V1_Profiles.reloadPartitionMap, pushing([("profiles-0", "0"), ("profiles-7", "1-3")]))
            }
            #expect(unknown?.code == .failedPrecondition && unknown?.fieldViolations.map(\.field) == ["map.owners"]
                    && unknown?.message.contains("profiles-7") == true, "\(String(describing: unknown))")
            let twice = await statusOf {
                _ = try await clients[1].unary(Crm_Profiles_V1_Profiles.reloadPartitionMap, pushing([("profiles-0", "0-1"), ("profiles-1", "1-3")]))
            }
            #expect(twice?.code == .invalidArgument && twice?.fieldViolations.map(\.field) == ["map.owners"], "\(String(describing: twice))")
            for client in clients {
                #expect(try await client.unary(Crm_Profiles_V1_Profiles.getPartitionMap, .init()).epoch == 1)
            }

            // The operator's copy of the topology holds the new map; the processes' file does not.
            let operatorTopology = workDir.appendingPathComponent("operator-topology.json")
            try FileManager.default.copyItem(at: topology.url, to: operatorTopology)
            try writeMap(moved, into: operatorTopology)
            let push = try CommandProcess(ServiceProcess.binaryDir.appendingPathComponent("crmctl"), [
                "partitions", "reload", "--epoch", "2", "--push", "--wait-seconds", "0", "--topology", operatorTopology.path, "--data-dir", workDir.path,
            ], workDir: workDir, name: "push")
            #expect(await push.exit() == 0, "\(push.standardOutput)\(push.standardError)")
            #expect(try topologyMap(topology).epoch == 1)
            for client in clients {
                #expect(try await client.unary(Crm_Profiles_V1_Profiles.getPartitionMap, .init()).epoch == 2)
            }
            #expect(try await clients[0].unary(Crm_Profiles_V1_Profiles.getCustomer, .with { $0.customerID = customer }).customer.customerID == customer)

            // Both restarted while the file still says epoch 1: each routes by the map it was pushed.
            // (Each on its port: the other's clients, and the file, keep naming it there.)
            for place in owners.indices {
                await clients[place].close()
                let port = owners[place].port
                _ = owners[place].terminate()
                try await owners[place].start(port: port, arguments: topology.ownerArguments(place) + Self.files)
                clients[place] = owners[place].adminClient()
            }
            for client in clients {
                #expect(try await client.unary(Crm_Profiles_V1_Profiles.getPartitionMap, .init()).epoch == 2)
            }
            _ = try await clients[0].unary(Crm_Profiles_V1_Profiles.ingestTrades, .with { $0.events = [Self.trade("push-2", customer)] })
            let events = try await clients[1].serverStreaming(Crm_Profiles_V1_Profiles.streamEvents, .with {
                $0.partition = .with { $0.number = UInt32(Self.moving) }
            }).collect()
            #expect(events.map(\.trade.idempotencyKey) == ["push-1", "push-2"])

            // The file catches up: reading it changes nothing.
            try writeMap(moved, into: topology.url)
            for client in clients {
                let answer = try await client.unary(Crm_Profiles_V1_Profiles.reloadPartitionMap, .init())
                #expect(answer.epoch == 2 && answer.opened.isEmpty, "\(answer)")
            }
            for client in clients { await client.close() }
        }
    }

    /// The setting that makes a profiles process keep a file per partition (what moves need).
    static let files = ["--setting", "partitions.storage=file-per-partition"]

    /// Two profiles executables (profiles-0 owns 0-1, profiles-1 owns 2-3), each a file per
    /// partition, in a work folder removed afterwards; `body` may restart them.
    private static func withTwoOwners(_ body: (URL, OwnersTopology, [ServiceProcess]) async throws -> Void) async throws {
        let workDir = FileManager.default.temporaryDirectory.appendingPathComponent("crm-move-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: workDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: workDir) }
        let topology = try OwnersTopology(in: workDir, count: count)
        let owners = try await topology.startOwners(in: workDir, extra: files)
        defer { for process in owners { process.terminate() } }
        try await body(workDir, topology, owners)
    }

    private static func customerOfTheMovingPartition(_ prefix: String) throws -> String {
        let partitioning = try Partitioning(count: count)
        return try #require((0..<100).map { "\(prefix)-\($0)" }.first { partitioning.partition(of: $0) == moving })
    }

    private static func upsert(_ id: String, through client: RPCClient) async throws {
        _ = try await client.unary(Crm_Profiles_V1_Profiles.upsertCustomer, .with {
            $0.customer = .with {
                $0.customerID = id; $0.kind = .individual; $0.name = "Customer \(id)"; $0.branchID = "B01"; $0.status = .normal
                $0.openDate = .init(year: 2020, month: 1, day: 2)
            }
        })
    }

    /// The first two steps of a move from profiles-0 to profiles-1, by their RPCs.
    private static func drainAndAdopt(_ clients: [RPCClient]) async throws
        -> (Crm_Profiles_V1_DrainPartitionResponse, Crm_Profiles_V1_AdoptPartitionResponse) {
        let drained = try await clients[0].unary(Crm_Profiles_V1_Profiles.drainPartition, .with {
            $0.partition = UInt32(moving); $0.toOwner = "profiles-1"
        })
        let adopted = try await clients[1].unary(Crm_Profiles_V1_Profiles.adoptPartition, .with {
            $0.partition = UInt32(moving); $0.fromOwner = "profiles-0"; $0.sizeBytes = drained.sizeBytes; $0.sha256 = drained.sha256
        })
        return (drained, adopted)
    }

    private func topologyMap(_ topology: OwnersTopology) throws -> PartitionMap {
        try #require(try PartitionTopology(json: Data(contentsOf: topology.url)).map)
    }

    private func writeMap(_ map: PartitionMap, into topology: OwnersTopology) throws {
        try writeMap(map, into: topology.url)
    }

    private func writeMap(_ map: PartitionMap, into url: URL) throws {
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        object["partitions"] = try JSONSerialization.jsonObject(with: map.json)
        try JSONSerialization.data(withJSONObject: object).write(to: url, options: .atomic)
    }

    private static func trade(_ key: String, _ customer: String) -> Crm_Profiles_V1_TradeEvent {
        .with {
            $0.idempotencyKey = key; $0.customerID = customer; $0.account = .cash; $0.side = .buy; $0.instrument = "600519"
            $0.instrumentType = .stock; $0.quantity = 100; $0.price = "10.00"; $0.amount = .with { $0.minorUnits = 100_000 }
            $0.tradedAt = .with { $0.unixMillis = 1_764_000_000_000 }
        }
    }
}

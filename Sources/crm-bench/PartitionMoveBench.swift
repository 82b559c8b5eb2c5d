import ArgumentParser
import CRMPartitions
import CRMProtos
import CRMRPC
import Foundation
import Synchronization

/// What a move of one partition between two running profiles executables costs (docs/partitioning.md
/// §8): the steps `crmctl partitions move` takes — with the main part copied while the partition
/// serves and only the tail after the drain, or (`whole`) the file copied whole after it —, each
/// timed, while one prober reads a customer of the moving partition and another a customer of a
/// partition that stays, back to back through the first owner, and a writer ingests service
/// contacts of the moving customer one at a time through it (each retried with its key while
/// refused), so what is written during the copy is the tail's. The window in which the moving partition's calls are refused is the time between
/// the prober's first and last UNAVAILABLE; the other prober must see none.
struct PartitionMoveMeasure {
    let partition: Int
    /// The owners' clients by name, and every profiles process's client (to reload).
    let owners: [String: RPCClient]
    let entry: RPCClient
    let movingCustomer: String
    let stayingCustomer: String
    let topology: URL
    let endpoints: [String]

    struct Figures {
        var bytes: UInt64 = 0
        /// The pin and the main part's copy while the partition serves (none when whole).
        var copyWhileServing: Duration = .zero
        /// What the drain answered: the tail's bytes, or the whole file's.
        var drainedBytes: UInt64 = 0
        var drain: Duration = .zero
        var copy: Duration = .zero
        var commit: Duration = .zero
        var refusedWindow: Duration = .zero
        var refused = 0
        var refusedElsewhere = 0
        var probes = 0
        /// Service contacts acknowledged during the move, and refusals the writer retried.
        var written = 0
        var writesRefused = 0
        /// The keys of the contacts acknowledged (sent to the reference too, afterwards).
        var writtenKeys: [String] = []
    }

    /// Moves the partition from `from` to `to` under `map`; returns the figures and the new map.
    func move(from: String, to: String, map: PartitionMap, whole: Bool) async throws -> (Figures, PartitionMap) {
        guard let source = owners[from], let target = owners[to] else { throw ValidationError("no client for \(from) or \(to)") }
        let next = try map.moving(partition, to: to)
        let clock = ContinuousClock()
        let stop = StopFlag()
        let entry = self.entry
        // Each prober: the instants it was refused, and how many calls it made.
        func probe(_ customer: String) -> Task<(refusals: [ContinuousClock.Instant], probes: Int), any Error> {
            Task { [entry, stop, clock] in
                var refusals: [ContinuousClock.Instant] = []
                var probes = 0
                while !stop.isSet {
                    probes += 1
                    do {
                        _ = try await entry.unary(Crm_Profiles_V1_Profiles.getCustomer, .with { $0.customerID = customer })
                    } catch let error as RPCError where error.code == .unavailable {
                        refusals.append(clock.now)
                    }
                }
                return (refusals, probes)
            }
        }
        // The writer: one contact at a time, each retried with its key until acknowledged.
        let customer = movingCustomer
        let round = UUID().uuidString.prefix(8)
        let writer = Task { [entry, stop] in
            var written: [String] = [], refused = 0
            while !stop.isSet {
                let key = "move-\(round)-\(written.count)"
                do {
                    _ = try await entry.unary(Crm_Profiles_V1_Profiles.ingestServiceContacts, .with { $0.events = [Self.contact(key, customer)] })
                    written.append(key)
                } catch let error as RPCError where error.code == .unavailable {
                    refused += 1
                }
            }
            return (written: written, refused: refused)
        }
        let moving = probe(movingCustomer), staying = probe(stayingCustomer)
        var figures = Figures()
        do {
            let beforePin = clock.now
            if !whole {
                let pin = try await source.unary(Crm_Profiles_V1_Profiles.preparePartitionMove, .with {
                    $0.partition = UInt32(partition); $0.toOwner = to
                })
                _ = try await target.unary(Crm_Profiles_V1_Profiles.adoptPartition, .with {
                    $0.partition = UInt32(partition); $0.fromOwner = from; $0.part = .prepared; $0.sizeBytes = pin.sizeBytes; $0.sha256 = pin.sha256
                })
                figures.bytes = pin.sizeBytes
            }
            let start = clock.now
            figures.copyWhileServing = start - beforePin
            let drained = try await source.unary(Crm_Profiles_V1_Profiles.drainPartition, .with {
                $0.partition = UInt32(partition); $0.toOwner = to; $0.tailSincePrepare = !whole
            })
            let afterDrain = clock.now
            guard whole || drained.part == .tail else { throw ValidationError("the drain after a pin answered the whole file, not its tail") }
            _ = try await target.unary(Crm_Profiles_V1_Profiles.adoptPartition, .with {
                $0.partition = UInt32(partition); $0.fromOwner = from; $0.part = drained.part; $0.sizeBytes = drained.sizeBytes
                $0.sha256 = drained.sha256; $0.preparedSizeBytes = drained.preparedSizeBytes; $0.preparedSha256 = drained.preparedSha256
            })
            let afterCopy = clock.now
            try next.writeTopology(endpoints: endpoints, to: topology)
            for client in [target, source] + owners.filter({ $0.key != from && $0.key != to }).map(\.value) {
                let answer = try await client.unary(Crm_Profiles_V1_Profiles.reloadPartitionMap, .init())
                guard answer.epoch == next.epoch else { throw ValidationError("a process answered epoch \(answer.epoch) after the reload, not \(next.epoch)") }
            }
            let done = clock.now
            if whole { figures.bytes = drained.sizeBytes }
            figures.drainedBytes = drained.sizeBytes
            figures.drain = afterDrain - start
            figures.copy = afterCopy - afterDrain
            figures.commit = done - afterCopy
        } catch {
            stop.set()
            _ = try? await moving.value
            _ = try? await staying.value
            _ = try? await writer.value
            throw error
        }
        // A few more probes after the move, so the window's end is seen.
        try await Task.sleep(for: .milliseconds(200))
        stop.set()
        let movingResult = try await moving.value, stayingResult = try await staying.value
        let writes = try await writer.value
        figures.written = writes.written.count
        figures.writtenKeys = writes.written
        figures.writesRefused = writes.refused
        if let first = movingResult.refusals.first, let last = movingResult.refusals.last { figures.refusedWindow = last - first }
        figures.refused = movingResult.refusals.count
        figures.refusedElsewhere = stayingResult.refusals.count
        figures.probes = movingResult.probes + stayingResult.probes
        return (figures, next)
    }

    /// The writer's service contact with `key` for `customer`.
    static func contact(_ key: String, _ customer: String) -> Crm_Profiles_V1_ServiceContactEvent {
        .with {
            $0.idempotencyKey = key; $0.customerID = customer; $0.channel = .call; $0.outcome = .reached
            $0.staffID = "S1"; $0.topic = "a call during a move"; $0.contactedAt = .with { $0.unixMillis = 1_764_000_000_000 }
        }
    }

}

extension PartitionMap {
    /// Writes a topology holding only the profiles processes' `endpoints` and this map (what the
    /// partition benches' processes read, before and after each move).
    func writeTopology(endpoints: [String], to url: URL) throws {
        let list = endpoints.map { "\"\($0)\"" }.joined(separator: ", ")
        let text = #"{"profiles": [\#(list)], "partitions": \#(String(decoding: json, as: UTF8.self))}"#
        try Data(text.utf8).write(to: url, options: .atomic)
    }
}

/// Tells the probers to stop.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .relaxed) }
    func set() { flag.store(true, ordering: .relaxed) }
}

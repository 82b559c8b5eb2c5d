import CRMPartitions
import CRMProtos
import CRMRPC
import Foundation
import ServiceLifecycle
import SwiftProtobuf

/// How a process keeping a file per partition answers its own part of a call: each file's core
/// has a router with the single-store methods (``ProfilesCore/register(into:_:)``), and the
/// process's router takes every method from them. ``PartitionForwarding`` stands in front of the
/// calls that name customers or span them (a customer's call goes to its partition's core, a
/// batch is split by partition, a call across customers asks every core and merges, as it does
/// across processes); what is left is dispatched here:
/// - the feeds (StreamChanges, StreamSnapshot, StreamEvents) by their `partition` field: each
///   file has its own change feed and event log, each with its own sequence;
/// - RebuildDimensions on every file, the counts added;
/// - the rest (the data dictionary, the schemes, saved segments: firm-wide) by the first core.
///
/// With one file (``ProfilesCores/isSplit`` false) nothing is registered here: the core's
/// methods are the process's, as before partitioning.
struct LocalPartitions: Sendable {
    let cores: ProfilesCores
    /// A router with the single-store methods (the first core's, or one made for the purpose):
    /// which methods there are, and how each is audited and guarded.
    let template: Router
    /// What forwards a feed request for a partition another process owns (it moved away).
    let routing: PartitionRouting

    typealias Profiles = Crm_Profiles_V1_Profiles

    func register(into router: inout Router) {
        let first = template
        let cores = self.cores
        for descriptor in first.descriptors {
            let path = descriptor.name
            switch path {
            case Profiles.streamChanges.path:
                byPartition(path, of: first, into: &router, feed: "change feed") { (request: Crm_Profiles_V1_StreamChangesRequest) in
                    request.hasPartition ? request.partition : nil
                }
            case Profiles.streamSnapshot.path:
                byPartition(path, of: first, into: &router, feed: "change feed's snapshot") { (request: Crm_Profiles_V1_StreamSnapshotRequest) in
                    request.hasPartition ? request.partition : nil
                }
            case Profiles.streamEvents.path:
                byPartition(path, of: first, into: &router, feed: "event log") { (request: Crm_Profiles_V1_StreamEventsRequest) in
                    request.hasPartition ? request.partition : nil
                }
            case Profiles.rebuildDimensions.path:
                router.dispatch(path, of: first) { payload, context, sink in
                    try await cores.usingEvery { taken in
                        var total = Crm_Profiles_V1_RebuildDimensionsResponse()
                        for (_, core) in taken {
                            let part = try Crm_Profiles_V1_RebuildDimensionsResponse(
                                serializedBytes: try await core.invoke(path, payload: payload, context: context, sink: sink))
                            total.customers += part.customers
                            total.mismatches += part.mismatches
                        }
                        return try total.serializedData()
                    }
                }
            default:
                // Firm-wide methods (the data dictionary, the schemes, saved segments): the
                // template answers them, whichever partitions the process keeps now.
                router.dispatch(path, of: first) { payload, context, sink in
                    try await first.invoke(path, payload: payload, context: context, sink: sink)
                }
            }
        }
    }

    /// Dispatches a feed method to the core of the partition its request names (`selector`). A
    /// partition that moved to another process is read from there (its feed's sequence moved with
    /// its file, so a follower's cursor stays valid wherever it asks).
    private func byPartition<Request: SwiftProtobuf.Message>(
        _ path: String, of first: Router, into router: inout Router, feed: String,
        selector: @escaping @Sendable (Request) -> Crm_Profiles_V1_PartitionSelector?
    ) {
        let cores = self.cores
        let routing = self.routing
        router.dispatch(path, of: first) { payload, context, sink in
            let request = try Self.decode(Request.self, payload, path)
            guard let selector = selector(request) else {
                throw RPCError(.failedPrecondition, "this process keeps a file per partition, each with its own \(feed): name the partition",
                               fieldViolations: [FieldViolation(field: "partition", description: "required: one of \(cores.ownedDescription)")])
            }
            let partition = Int(selector.number)
            let map = routing.map
            guard partition < map.partitioning.count else {
                // As a partition kept elsewhere would be (proto/README.md §17): not one of this process's.
                throw RPCError(.failedPrecondition, "partition \(partition) is not kept by this process (partitions are 0-\(map.partitioning.count - 1))",
                               fieldViolations: [FieldViolation(field: "partition.number", description: "one of \(cores.ownedDescription)")])
            }
            let owner = map.owner(of: partition)
            if owner != routing.ownName {
                guard context.forwardedBy == nil else {
                    throw RPCError(.unavailable, "partition \(partition) is not served by \(routing.ownName) under map epoch \(map.epoch), "
                        + "which gives it to \(owner): the forwarding process's map differs; retry shortly")
                }
                let stream = try await routing.stream(owner, method: path, payload: payload, context: context, localOnly: false,
                                                      what: "the \(feed) of partition \(partition)")
                for try await message in stream { try await sink.send(message) }
                return Data()
            }
            return try await cores.using(partition) { _, core in
                try await core.invoke(path, payload: payload, context: context, sink: sink)
            }
        }
    }

    private static func decode<Request: SwiftProtobuf.Message>(_ type: Request.Type, _ payload: Data, _ path: String) throws -> Request {
        do {
            return try Request(serializedBytes: payload)
        } catch {
            throw RPCError.invalidArgument(field: "payload", "does not decode as \(Request.protoMessageName), the request of \(path): \(error)")
        }
    }

    // MARK: The local part of a routed call

    /// This process's part of a call ``PartitionForwarding`` routes: with one file, the method as
    /// registered (the interceptor's `next`); with a file per partition, the core of each partition.
    struct Dispatch: Sendable {
        let cores: ProfilesCores

        /// What a unary method is given as its sink (it never streams).
        static let unaryOnly = ResponseSink { _ in throw RPCError(.internal, "a unary handler cannot stream") }

        /// Whether calls must be routed among several files of this process.
        var isSplit: Bool { cores.isSplit }

        /// The part for the customers of `partition` (owned here).
        func unary(_ path: String, partition: Int, payload: Data, context: CallContext,
                   next: @Sendable (Data, CallContext) async throws -> Data) async throws -> Data {
            guard isSplit else { return try await next(payload, context) }
            return try await cores.using(partition) { _, router in
                try await router.invoke(path, payload: payload, context: context, sink: Self.unaryOnly)
            }
        }

        /// Checks each file's part of a batch against that file's customers before any part is
        /// written (``EventStore/checkCustomers(_:_:requireTradingStatus:)``): `parts` are
        /// (partition, the events' places in the batch, their customers). A refusal names every
        /// failing event by its place in the whole batch, as one store's would.
        func checkCustomers(_ parts: [(partition: Int, positions: [Int], customerIDs: [String])], trades: Bool) async throws {
            var missing: [(Int, FieldViolation)] = []
            var refused: [(Int, FieldViolation)] = []
            for part in parts {
                do {
                    try await cores.using(part.partition) { core, _ in
                        try await core.database.read { db in
                            try EventStore.checkCustomers(db, part.customerIDs, requireTradingStatus: trades)
                        }
                    }
                } catch let error as RPCError where error.code == .notFound || error.code == .failedPrecondition {
                    let renumbered = PartitionForwarding.renumbered(error, positions: part.positions).fieldViolations.map { violation in
                        (Self.place(violation.field), violation)
                    }
                    if error.code == .notFound { missing += renumbered } else { refused += renumbered }
                }
            }
            if !missing.isEmpty {
                let violations = missing.sorted { $0.0 < $1.0 }.prefix(50).map(\.1)
                throw RPCError(.notFound, violations.map { "\($0.field): \($0.description)" }.joined(separator: "; "), fieldViolations: Array(violations))
            }
            if !refused.isEmpty {
                let violations = refused.sorted { $0.0 < $1.0 }.prefix(50).map(\.1)
                throw RPCError(.failedPrecondition, violations.prefix(20).map { "\($0.field): \($0.description)" }.joined(separator: "; "),
                               fieldViolations: Array(violations))
            }
        }

        /// The event's place in `events[i].customer_id` (for ordering refusals as one store lists them).
        private static func place(_ field: String) -> Int {
            guard field.hasPrefix("events["), let close = field.firstIndex(of: "]") else { return .max }
            return Int(field[field.index(field.startIndex, offsetBy: 7)..<close]) ?? .max
        }

        /// Every file's answer (one: the method as registered, with one file), in partition order;
        /// `once` asks only the first file (firm-wide records every core shares).
        func unaryAll(_ path: String, payload: Data, context: CallContext, once: Bool = false,
                      next: @escaping @Sendable (Data, CallContext) async throws -> Data) async throws -> [Data] {
            guard isSplit, !once else { return [try await next(payload, context)] }
            return try await cores.usingEvery { taken in
                try await withThrowingTaskGroup(of: (Int, Data).self) { group in
                    for (place, part) in taken.enumerated() {
                        let router = part.router
                        group.addTask { (place, try await router.invoke(path, payload: payload, context: context, sink: Self.unaryOnly)) }
                    }
                    var answers = [Data](repeating: Data(), count: taken.count)
                    for try await (place, answer) in group { answers[place] = answer }
                    return answers
                }
            }
        }

        /// Runs `body` with every file's stream of a server-streaming method (one: the method as
        /// registered), the files counted in flight until their streams have ended; `only` (a
        /// call naming partitions) leaves out the files of the others.
        func withStreams<T>(_ path: String, payload: Data, context: CallContext, only: Set<Int>? = nil,
                            next: @escaping @Sendable (Data, CallContext, ResponseSink) async throws -> Void,
                            _ body: ([AsyncThrowingStream<Data, any Error>]) async throws -> T) async throws -> T {
            guard isSplit else {
                let (stream, producer) = PartitionForwarding.localStream(payload, context, next)
                defer { producer.cancel() }
                return try await body([stream])
            }
            return try await cores.usingEvery(only: only) { taken in
                let started = taken.map { part in
                    let router = part.router
                    return PartitionForwarding.localStream(payload, context) { payload, context, sink in
                        _ = try await router.invoke(path, payload: payload, context: context, sink: sink)
                    }
                }
                let result: Result<T, any Error>
                do { result = .success(try await body(started.map(\.stream))) } catch { result = .failure(error) }
                // A stream the body stopped reading early is still reading its file: it ends
                // before the files stop being counted in flight.
                for (_, producer) in started {
                    producer.cancel()
                    await producer.value
                }
                return try result.get()
            }
        }
    }
}

extension ProfilesCores {
    /// The partitions kept here, as a map writes them ("0-3,8").
    var ownedDescription: String {
        PartitionSet(all.compactMap(\.partition)).description
    }
}

/// Closes the partition files after the server has drained (a handler dependency: it stops after
/// the server, and the updaters, background work, have stopped before it).
struct PartitionFiles: Service {
    let cores: ProfilesCores

    func run() async throws {
        try? await gracefulShutdown()
        for core in cores.all where core.partition != nil {
            try? core.database.close()
        }
    }
}

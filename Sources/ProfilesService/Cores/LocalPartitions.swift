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
    /// The cores' routers, in the order of `cores.all`; empty with one file.
    let routers: [Router]

    typealias Profiles = Crm_Profiles_V1_Profiles

    func register(into router: inout Router) {
        guard let first = routers.first else { return }
        let routers = self.routers
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
                    var total = Crm_Profiles_V1_RebuildDimensionsResponse()
                    for core in routers {
                        let part = try Crm_Profiles_V1_RebuildDimensionsResponse(
                            serializedBytes: try await core.invoke(path, payload: payload, context: context, sink: sink))
                        total.customers += part.customers
                        total.mismatches += part.mismatches
                    }
                    return try total.serializedData()
                }
            default:
                router.dispatch(path, of: first) { payload, context, sink in
                    try await first.invoke(path, payload: payload, context: context, sink: sink)
                }
            }
        }
    }

    /// Dispatches a feed method to the core of the partition its request names (`selector`).
    private func byPartition<Request: SwiftProtobuf.Message>(
        _ path: String, of first: Router, into router: inout Router, feed: String,
        selector: @escaping @Sendable (Request) -> Crm_Profiles_V1_PartitionSelector?
    ) {
        let routers = self.routers
        let cores = self.cores
        router.dispatch(path, of: first) { payload, context, sink in
            let request = try Self.decode(Request.self, payload, path)
            let core = try Self.index(of: selector(request), in: cores, feed: feed)
            return try await routers[core].invoke(path, payload: payload, context: context, sink: sink)
        }
    }

    private static func decode<Request: SwiftProtobuf.Message>(_ type: Request.Type, _ payload: Data, _ path: String) throws -> Request {
        do {
            return try Request(serializedBytes: payload)
        } catch {
            throw RPCError.invalidArgument(field: "payload", "does not decode as \(Request.protoMessageName), the request of \(path): \(error)")
        }
    }

    /// The core whose feed a request asks for: the partition must be named, and be one this process owns.
    private static func index(of selector: Crm_Profiles_V1_PartitionSelector?, in cores: ProfilesCores, feed: String) throws -> Int {
        guard let selector else {
            throw RPCError(.failedPrecondition, "this process keeps a file per partition, each with its own \(feed): name the partition",
                           fieldViolations: [FieldViolation(field: "partition", description: "required: one of \(cores.ownedDescription)")])
        }
        guard let index = cores.index(of: Int(selector.number)) else {
            throw RPCError(.failedPrecondition, "partition \(selector.number) is not kept by this process",
                           fieldViolations: [FieldViolation(field: "partition.number", description: "one of \(cores.ownedDescription)")])
        }
        return index
    }

    // MARK: The local part of a routed call

    /// This process's part of a call ``PartitionForwarding`` routes: with one file, the method as
    /// registered (the interceptor's `next`); with a file per partition, the core of each partition.
    struct Dispatch: Sendable {
        let cores: ProfilesCores
        let routers: [Router]

        /// What a unary method is given as its sink (it never streams).
        static let unaryOnly = ResponseSink { _ in throw RPCError(.internal, "a unary handler cannot stream") }

        /// Whether calls must be routed among several files of this process.
        var isSplit: Bool { !routers.isEmpty }

        /// The part for the customers of `partition` (owned here).
        func unary(_ path: String, partition: Int, payload: Data, context: CallContext,
                   next: @Sendable (Data, CallContext) async throws -> Data) async throws -> Data {
            guard isSplit else { return try await next(payload, context) }
            guard let index = cores.index(of: partition) else {
                throw RPCError(.internal, "partition \(partition) is owned by this process but has no file open")
            }
            return try await routers[index].invoke(path, payload: payload, context: context, sink: Self.unaryOnly)
        }

        /// Checks each file's part of a batch against that file's customers before any part is
        /// written (``EventStore/checkCustomers(_:_:requireTradingStatus:)``): `parts` are
        /// (partition, the events' places in the batch, their customers). A refusal names every
        /// failing event by its place in the whole batch, as one store's would.
        func checkCustomers(_ parts: [(partition: Int, positions: [Int], customerIDs: [String])], trades: Bool) async throws {
            var missing: [(Int, FieldViolation)] = []
            var refused: [(Int, FieldViolation)] = []
            for part in parts {
                guard let index = cores.index(of: part.partition) else { continue }
                do {
                    try await cores.all[index].database.read { db in
                        try EventStore.checkCustomers(db, part.customerIDs, requireTradingStatus: trades)
                    }
                } catch let error as RPCError {
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
            guard isSplit else { return [try await next(payload, context)] }
            let targets = once ? Array(routers.prefix(1)) : routers
            return try await withThrowingTaskGroup(of: (Int, Data).self) { group in
                for (place, router) in targets.enumerated() {
                    group.addTask { (place, try await router.invoke(path, payload: payload, context: context, sink: Self.unaryOnly)) }
                }
                var answers = [Data](repeating: Data(), count: targets.count)
                for try await (place, answer) in group { answers[place] = answer }
                return answers
            }
        }

        /// Every file's stream of a server-streaming method (one: the method as registered).
        func streams(_ path: String, payload: Data, context: CallContext,
                     next: @escaping @Sendable (Data, CallContext, ResponseSink) async throws -> Void) -> [AsyncThrowingStream<Data, any Error>] {
            guard isSplit else { return [PartitionForwarding.localStream(payload, context, next)] }
            return routers.map { router in
                PartitionForwarding.localStream(payload, context) { payload, context, sink in
                    _ = try await router.invoke(path, payload: payload, context: context, sink: sink)
                }
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

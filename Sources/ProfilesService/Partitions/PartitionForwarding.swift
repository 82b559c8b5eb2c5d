import CRMPartitions
import CRMProtos
import CRMRPC
import Foundation
import SwiftProtobuf

/// Any profiles process accepts any call (docs/partitioning.md §6): a customer's call for a
/// partition another process owns is forwarded to that owner, a batch is split by owner, and a
/// call across customers asks every owner for its part and merges the answers into the
/// one-process answer.
///
/// It sits in front of the registered methods (``Router/intercept(_:_:)``), so the handlers stay
/// those of one process serving its own partitions; a process owning every partition registers
/// nothing here and pays nothing.
struct PartitionForwarding: Sendable {
    let routing: PartitionRouting
    /// This process's own part of each call: its one store, or its file per partition.
    let local: LocalPartitions.Dispatch

    func register(into router: inout Router) {
        guard !routing.ownsEverything || local.isSplit else { return }
        typealias Profiles = Crm_Profiles_V1_Profiles
        customerKeyed(Profiles.upsertCustomer, into: &router) { $0.customer.customerID }
        customerKeyed(Profiles.getCustomer, into: &router) { $0.customerID }
        customerKeyed(Profiles.changeAccountStatus, into: &router) { $0.customerID }
        customerKeyed(Profiles.recordAssessment, into: &router) { $0.customerID }
        customerKeyed(Profiles.getCustomer360, into: &router) { $0.customerID }

        batch(Profiles.ingestTrades, into: &router, trades: true) { _ = try EventConversion.trades($0) }
        batch(Profiles.ingestFundTransfers, into: &router) { _ = try EventConversion.transfers($0) }
        batch(Profiles.ingestDailyPositions, into: &router) { _ = try EventConversion.positions($0) }
        batch(Profiles.ingestMarginAccounts, into: &router) { _ = try EventConversion.marginAccounts($0) }
        batch(Profiles.ingestMarginInterest, into: &router) { _ = try EventConversion.marginInterest($0) }
        batch(Profiles.ingestServiceContacts, into: &router) { _ = try EventConversion.contacts($0) }
        batch(Profiles.ingestProductViews, into: &router) { _ = try EventConversion.views($0) }

        fanOut(Profiles.countSegment, into: &router) { _, parts in
            let (count, population) = try Self.totals(parts.map(\.count), parts.map(\.population), of: "counts")
            return .with {
                $0.count = count
                $0.population = population
            }
        }
        fanOut(Profiles.searchCustomers, into: &router) { request, parts in
            if request.orderBy.isEmpty {
                let merged = Self.mergeByCustomer(parts.map { ($0.customers, $0.page) }, size: Self.pageSize(request.page))
                return .with {
                    $0.customers = merged.customers
                    $0.page = merged.page
                }
            }
            return try Self.mergeSorted(parts, size: Self.pageSize(request.page), descending: request.descending)
        }
        fanOutStream(Profiles.streamCustomers, into: &router, limit: { Int($0.limit) }) { message in
            try Crm_Profiles_V1_Customer(serializedBytes: message).customerID
        }
        fanOutStream(Profiles.streamDimensionsAsOf, into: &router, limit: { Int($0.limit) }, partitions: { $0.partitions }) { message in
            try Crm_Profiles_V1_CustomerDimensions(serializedBytes: message).customerID
        }
        fanOut(Profiles.listSegmentMembers, into: &router) { request, parts in
            let merged = Self.mergeByCustomer(parts.map { ($0.customers, $0.page) }, size: Self.pageSize(request.page))
            return .with {
                $0.customers = merged.customers
                $0.page = merged.page
            }
        }
        fanOut(Profiles.getManagerBook, into: &router) { request, parts in
            let merged = Self.mergeByCustomer(parts.map { ($0.customers, $0.page) }, size: Self.pageSize(request.page))
            return .with {
                $0.customers = merged.customers
                $0.page = merged.page
                $0.customerCount = parts.reduce(0) { $0 + $1.customerCount }
                $0.totalAssets = .fen(parts.reduce(0) { $0 + $1.totalAssets.minorUnits })
            }
        }
        fanOut(Profiles.getBranchFigures, into: &router) { _, parts in
            var branches: [String: Crm_Profiles_V1_BranchFigures] = [:]
            var firm = Crm_Profiles_V1_BranchFigures()
            for part in parts {
                for branch in part.branches {
                    branches[branch.branchID] = Self.adding(branch, to: branches[branch.branchID] ?? .with { $0.branchID = branch.branchID })
                }
                firm = Self.adding(part.headOffice, to: firm)
            }
            return .with {
                $0.branches = branches.values.sorted { $0.branchID < $1.branchID }
                $0.headOffice = firm
            }
        }
        fanOut(Profiles.getClassDistribution, into: &router) { request, parts in
            .with {
                $0.scheme = parts.first?.scheme ?? request.scheme
                for part in parts {
                    for (value, count) in part.customersByClass { $0.customersByClass[value, default: 0] += count }
                }
            }
        }
        // Saved segments are firm-wide: every owner keeps a copy, so a segment's members and
        // counts are answered the same by all of them.
        fanOut(Profiles.saveSegment, into: &router, firmWide: true) { _, parts in
            parts[0]
        }
        // An operator's rebuild is the firm's: every owner rebuilds its partitions (each file, for
        // an owner keeping a file per partition) and the counts add, so one call through any
        // process checks every customer, as with one process.
        fanOut(Profiles.rebuildDimensions, into: &router) { _, parts in
            let (customers, mismatches) = try Self.totals(parts.map(\.customers), parts.map(\.mismatches), of: "rebuild counts")
            return .with {
                $0.customers = customers
                $0.mismatches = mismatches
            }
        }
    }

    /// Two counts summed over the owners' answers; a sum past 2^64 is refused, naming `what`.
    private static func totals(_ first: [UInt64], _ second: [UInt64], of what: String) throws -> (UInt64, UInt64) {
        guard let one = PartitionMerge.total(first), let other = PartitionMerge.total(second) else {
            throw RPCError(.internal, "the owners' \(what) add up to more than 2^64")
        }
        return (one, other)
    }

    // MARK: Customer-keyed calls

    /// A call naming one customer: served here when this process owns the customer's partition,
    /// else forwarded to the owner as it came.
    private func customerKeyed<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: UnaryMethod<Request, Response>, into router: inout Router, customer: @escaping @Sendable (Request) -> String
    ) {
        let routing = self.routing
        let local = self.local
        let path = method.path
        router.intercept(path) { payload, context, next in
            try routing.admit(context)
            // What does not decode, or names no customer, the method itself refuses with its field.
            guard let request = try? Request(serializedBytes: payload) else { return try await next(payload, context) }
            let id = customer(request)
            guard !id.isEmpty else { return try await next(payload, context) }
            let partition = routing.partition(of: id)
            let map = routing.map
            let owner = map.owner(of: partition)
            if owner == routing.ownName {
                return try await local.unary(path, partition: partition, payload: payload, context: context, next: next)
            }
            // Forwarded once only: a peer whose map differs from ours must not start a loop.
            guard context.forwardedBy == nil else {
                throw RPCError(.unavailable, "partition \(partition) (customer \(id)) is not served by \(routing.ownName) under map epoch "
                    + "\(map.epoch), which gives it to \(owner): the forwarding process's map differs; retry shortly")
            }
            return try await routing.call(owner, method: path, payload: payload, context: context, what: "partition \(partition) (customer \(id))")
        }
    }

    // MARK: Batches

    /// A batch split by owner, and by partition file within this process: every event's fields
    /// are checked first (a bad one refuses the whole batch naming `events[i]` and nothing is
    /// written, as in one store), and with a file per partition every file's customers are
    /// checked (existing; NORMAL for trades) before any of its files is written, while the other
    /// owners' parts are already on their way (each owner checks its own); then each part is
    /// stored; the answer adds the parts' counts. A part that fails fails the call, with the other
    /// parts stored: the client's retry stores the rest and counts those as duplicates
    /// (docs/partitioning.md §4). Within one process that is left only to a customer whose status
    /// changes between the check and the write.
    private func batch<Request: IngestRequest>(
        _ method: UnaryMethod<Request, Crm_Profiles_V1_IngestResponse>, into router: inout Router, trades: Bool = false,
        validate: @escaping @Sendable (Request) throws -> Void
    ) {
        let routing = self.routing
        let local = self.local
        let path = method.path
        router.intercept(path) { payload, context, next in
            try routing.admit(context)
            let map = routing.map
            // All of it this process's, in its one store (a map-aware client's part, a forwarded
            // part): to the handler as it came, decoded once there (``BatchCustomerIDs``).
            let own = routing.ownName
            let scanned = BatchCustomerIDs.scan(payload)
            if !local.isSplit, let scanned, scanned.ids.allSatisfy({ map.owner(ofCustomer: $0) == own }) {
                return try await next(payload, context)
            }
            guard let request = try? Request(serializedBytes: payload) else { return try await next(payload, context) }
            // Each part is cut from the batch's bytes rather than encoded again, when they read as the decoder read them.
            let cuttable = scanned.map { $0.ids.count == request.events.count } ?? false
            let positions = map.positionsByOwner(request.events.lazy.map(\.customerID))
            let onlyOwn = positions.isEmpty || (positions.count == 1 && positions[routing.ownName] != nil)
            if onlyOwn && !local.isSplit { return try await next(payload, context) }
            if !onlyOwn {
                guard context.forwardedBy == nil else {
                    throw RPCError(.unavailable, "this batch names customers \(routing.ownName) does not own under map epoch \(map.epoch): "
                        + "the forwarding process's map differs; retry shortly")
                }
            }
            try validate(request)
            var parts: [(owner: String, partition: Int?, positions: [Int])] = []
            for (owner, part) in positions.sorted(by: { $0.key < $1.key }) {
                if owner == routing.ownName && local.isSplit {
                    var byPartition: [Int: [Int]] = [:]
                    for position in part { byPartition[routing.partition(of: request.events[position].customerID), default: []].append(position) }
                    for (partition, positions) in byPartition.sorted(by: { $0.key < $1.key }) { parts.append((owner, partition, positions)) }
                } else {
                    parts.append((owner, nil, part))
                }
            }
            let localParts = parts.compactMap { part in part.partition.map { ($0, part.positions) } }
            let total = try await withThrowingTaskGroup(of: Crm_Profiles_V1_IngestResponse.self) { group in
                // Other owners' parts go first: each owner checks and stores its part while this
                // process checks its own files' customers (which only this process's parts wait
                // for; an owner's part never depended on them — a part that fails fails the call
                // with the other parts stored, docs/partitioning.md §4). Waiting for the check
                // before forwarding left the other owner idle for it: the forwarding hop's cost.
                let ordered = parts.filter { $0.owner != routing.ownName } + parts.filter { $0.owner == routing.ownName }
                var checked = localParts.isEmpty
                for (owner, partition, part) in ordered {
                    if owner == routing.ownName && !checked {
                        try await local.checkCustomers(localParts.map { partition, positions in
                            (partition, positions, positions.map { request.events[$0].customerID })
                        }, trades: trades)
                        checked = true
                    }
                    let partPayload: Data
                    if part.count == request.events.count {
                        partPayload = payload
                    } else if cuttable, let scanned {
                        partPayload = BatchCustomerIDs.part(of: payload, scanned, positions: part)
                    } else {
                        var subset = request
                        subset.events = part.map { request.events[$0] }
                        partPayload = try subset.serializedData()
                    }
                    let partitions = PartitionSet(part.map { routing.partition(of: request.events[$0].customerID) })
                    group.addTask {
                        do {
                            let answer: Data
                            if let partition {
                                answer = try await local.unary(path, partition: partition, payload: partPayload, context: context, next: next)
                            } else if owner == routing.ownName {
                                answer = try await next(partPayload, context)
                            } else {
                                answer = try await routing.call(owner, method: path, payload: partPayload, context: context,
                                                                what: "partitions \(partitions) (\(part.count) events of the batch)")
                            }
                            return try Crm_Profiles_V1_IngestResponse(serializedBytes: answer)
                        } catch let error as RPCError {
                            throw Self.renumbered(error, positions: part)
                        }
                    }
                }
                var total = Crm_Profiles_V1_IngestResponse()
                for try await answer in group {
                    total.accepted += answer.accepted
                    total.duplicates += answer.duplicates
                }
                return total
            }
            return try total.serializedData()
        }
    }

    /// A part's refusal names its events by their place in the part; the caller sent the whole batch.
    static func renumbered(_ error: RPCError, positions: [Int]) -> RPCError {
        var error = error
        error.fieldViolations = error.fieldViolations.map { violation in
            let field = violation.field
            guard field.hasPrefix("events["), let close = field.firstIndex(of: "]"),
                  let index = Int(field[field.index(field.startIndex, offsetBy: 7)..<close]), positions.indices.contains(index) else {
                return violation
            }
            return FieldViolation(field: "events[\(positions[index])" + field[close...], description: violation.description)
        }
        return error
    }

    // MARK: Calls across customers

    /// A call across customers: this process's part (each of its files' with a file per
    /// partition) and every other owner's, in parallel, merged. A part asked by another process's
    /// fan-out is answered from this process's partitions only. `firmWide` calls (saving a
    /// segment: every process keeps a copy) ask one file of this process, not each.
    private func fanOut<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: UnaryMethod<Request, Response>, into router: inout Router, firmWide: Bool = false,
        merge: @escaping @Sendable (Request, [Response]) throws -> Response
    ) {
        let routing = self.routing
        let local = self.local
        let path = method.path
        router.intercept(path) { payload, context, next in
            try routing.admit(context)
            guard let request = try? Request(serializedBytes: payload) else { return try await next(payload, context) }
            let map = routing.map
            let others = routing.answersLocally(context) ? [] : routing.otherOwners(in: map)
            async let own = local.unaryAll(path, payload: payload, context: context, once: firmWide, next: next)
            let answers = try await withThrowingTaskGroup(of: (Int, Data).self) { group in
                for (place, owner) in others.enumerated() {
                    group.addTask {
                        let what = "partitions \(map.partitions(ownedBy: owner))"
                        return (place, try await routing.call(owner, method: path, payload: payload, context: context, localOnly: true, what: what))
                    }
                }
                var answers = [Data](repeating: Data(), count: others.count)
                for try await (place, answer) in group { answers[place] = answer }
                return answers
            }
            let ownAnswers = try await own
            // One answer needs no merge: it is passed as it came.
            if answers.isEmpty, ownAnswers.count == 1 { return ownAnswers[0] }
            // This process's answers first (its files in partition order), then the others' by
            // name: a merge is deterministic.
            let parts = try (ownAnswers + answers).map { try Response(serializedBytes: $0) }
            return try merge(request, parts).serializedData()
        }
    }

    /// A stream in customer id order across customers (StreamCustomers, StreamDimensionsAsOf): this
    /// process's stream and every other owner's (each from the same `after_customer_id`, each at
    /// most `limit` customers), merged by customer id as they arrive, stopping after `limit`
    /// customers — the one-process stream. A customer's several messages (one per day of
    /// `as_of_days`) come from its one owner in a row and stay together.
    ///
    /// A request naming partitions (`partitions`: the request's own list, empty for every customer)
    /// asks only the files and owners holding them: a page of one partition's customers reads that
    /// partition's file alone, where asking every file would scan each one's whole event log
    /// (StreamDimensionsAsOf pages by customer id and no file has an index by customer).
    private func fanOutStream<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: ServerStreamingMethod<Request, Response>, into router: inout Router,
        limit: @escaping @Sendable (Request) -> Int, partitions: @escaping @Sendable (Request) -> [UInt32] = { _ in [] },
        customerID: @escaping @Sendable (Data) throws -> String
    ) {
        let routing = self.routing
        let path = method.path
        let local = self.local
        router.intercept(streaming: path) { payload, context, sink, next in
            try routing.admit(context)
            if routing.answersLocally(context) && !local.isSplit { return try await next(payload, context, sink) }
            guard let request = try? Request(serializedBytes: payload) else { return try await next(payload, context, sink) }
            let map = routing.map
            let wanted = try Self.partitionsAsked(partitions(request), count: map.partitioning.count)
            try await local.withStreams(path, payload: payload, context: context, only: wanted, next: next) { own in
                var sources = own
                let owners = routing.answersLocally(context) ? [] : routing.otherOwners(in: map).filter { owner in
                    wanted.map { !$0.isDisjoint(with: map.partitions(ownedBy: owner).partitions) } ?? true
                }
                for owner in owners {
                    sources.append(try await routing.stream(owner, method: path, payload: payload, context: context, localOnly: true,
                                                            what: "partitions \(map.partitions(ownedBy: owner))"))
                }
                try await Self.mergeByCustomer(sources, limit: limit(request), customerID: customerID, into: sink)
            }
        }
    }

    /// The partitions a call across customers names (nil: it names none, so every customer),
    /// refused as the handler refuses them when one is outside the firm's P: the call may reach no
    /// handler at all once only the files and owners holding them are asked.
    static func partitionsAsked(_ partitions: [UInt32], count: Int) throws -> Set<Int>? {
        guard !partitions.isEmpty else { return nil }
        for (position, partition) in partitions.enumerated() where Int(partition) >= count {
            throw RPCError.invalidArgument(field: "partitions[\(position)]", "\(partition) is outside 0-\(count - 1)")
        }
        return Set(partitions.map(Int.init))
    }

    /// This process's part of a fanned-out stream, as a sequence: the method as registered, run by
    /// a task of its own (returned, so a caller can wait for it to end), its messages handed over
    /// as they are written. Ending the sequence early (the merge reached its limit) cancels the task.
    static func localStream(
        _ payload: Data, _ context: CallContext, _ next: @escaping @Sendable (Data, CallContext, ResponseSink) async throws -> Void
    ) -> (stream: AsyncThrowingStream<Data, any Error>, producer: Task<Void, Never>) {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: Data.self, throwing: (any Error).self)
        let producer = Task {
            do {
                let sink = ResponseSink { message in
                    try Task.checkCancellation()
                    continuation.yield(message)
                } sendAll: { messages in
                    try Task.checkCancellation()
                    for message in messages { continuation.yield(message) }
                }
                try await next(payload, context, sink)
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in producer.cancel() }
        return (stream, producer)
    }

    /// Merges streams each in customer id order into one, sending at most `limit` customers (0: all)
    /// in batches (one trip to the event loop per batch).
    static func mergeByCustomer(
        _ sources: [AsyncThrowingStream<Data, any Error>], limit: Int,
        customerID: @Sendable (Data) throws -> String, into sink: ResponseSink
    ) async throws {
        var iterators = sources.map { $0.makeAsyncIterator() }
        func advance(_ index: Int) async throws -> (id: String, message: Data)? {
            guard let message = try await iterators[index].next() else { return nil }
            do {
                return (try customerID(message), message)
            } catch {
                throw RPCError(.internal, "an owner's stream held a message that does not decode: \(error)")
            }
        }
        var heads: [(id: String, message: Data)?] = []
        for index in iterators.indices { heads.append(try await advance(index)) }
        var pending: [Data] = []
        var customers = 0
        var current: String?
        while true {
            var smallest: Int?
            for index in heads.indices {
                guard let head = heads[index] else { continue }
                if let best = smallest, let bestHead = heads[best], bestHead.id <= head.id { continue }
                smallest = index
            }
            guard let index = smallest, let head = heads[index] else { break }
            if head.id != current {
                if limit > 0 && customers == limit { break }
                customers += 1
                current = head.id
            }
            pending.append(head.message)
            if pending.count == 64 {
                try await sink.sendAll(pending)
                pending.removeAll(keepingCapacity: true)
            }
            heads[index] = try await advance(index)
        }
        if !pending.isEmpty { try await sink.sendAll(pending) }
    }

    static func pageSize(_ page: Crm_Common_V1_PageRequest) -> Int {
        page.pageSize == 0 ? QueryHandlers.defaultPage : Int(page.pageSize)
    }

    /// Pages in customer id order merged into the one-process page: the first `size` rows of all,
    /// more when any part had more, the next token the last row's id (the one-process token), the
    /// total the parts' totals added.
    static func mergeByCustomer(
        _ parts: [([Crm_Profiles_V1_CustomerSummary], Crm_Common_V1_PageInfo)], size: Int
    ) -> (customers: [Crm_Profiles_V1_CustomerSummary], page: Crm_Common_V1_PageInfo) {
        let merged = PartitionMerge.merge(parts.map(\.0), limit: size) { $0.customerID < $1.customerID }
        let more = merged.more || parts.contains { !$0.1.nextPageToken.isEmpty }
        var page = Crm_Common_V1_PageInfo()
        page.totalCount = parts.reduce(0) { $0 + $1.1.totalCount }
        if more, let last = merged.rows.last { page.nextPageToken = last.customerID }
        return (merged.rows, page)
    }

    /// Pages sorted by a dimension merged into the one-process page: every owner continued from the
    /// same keyset cursor (``SortedPageCursor``), so the first `size` rows of all, in the order of
    /// their sort values and then customer ids, are the one-process page; the next token is the
    /// last row's cursor, as one process would make it.
    static func mergeSorted(
        _ parts: [Crm_Profiles_V1_SearchCustomersResponse], size: Int, descending: Bool
    ) throws -> Crm_Profiles_V1_SearchCustomersResponse {
        typealias Row = (customer: Crm_Profiles_V1_CustomerSummary, key: Double)
        let pages: [[Row]] = try parts.map { part in
            guard part.sortValues.count == part.customers.count else {
                throw RPCError(.internal, "an owner answered a sorted search with \(part.sortValues.count) sort values for "
                    + "\(part.customers.count) customers: it runs a version that cannot be merged; upgrade every profiles process")
            }
            return Array(zip(part.customers, part.sortValues).map { (customer: $0.0, key: $0.1) })
        }
        let merged = PartitionMerge.merge(pages, limit: size) { lhs, rhs in
            SortedPageCursor.precedes(lhs.key, lhs.customer.customerID, rhs.key, rhs.customer.customerID, descending: descending)
        }
        return .with {
            $0.customers = merged.rows.map(\.customer)
            $0.sortValues = merged.rows.map(\.key)
            $0.page.totalCount = parts.reduce(0) { $0 + $1.page.totalCount }
            if merged.more || parts.contains(where: { !$0.page.nextPageToken.isEmpty }), let last = merged.rows.last {
                $0.page.nextPageToken = SortedPageCursor(key: last.key, customerID: last.customer.customerID).token
            }
        }
    }

    static func adding(_ part: Crm_Profiles_V1_BranchFigures, to sum: Crm_Profiles_V1_BranchFigures) -> Crm_Profiles_V1_BranchFigures {
        var sum = sum
        sum.customers += part.customers
        for (status, count) in part.customersByStatus { sum.customersByStatus[status, default: 0] += count }
        if part.hasTotalAssets {
            if !sum.hasTotalAssets { sum.totalAssets = part.totalAssets } else { sum.totalAssets.minorUnits += part.totalAssets.minorUnits }
        }
        return sum
    }
}

import CRMProtos
import CRMServiceHost
import CRMStore
import CustomerDimensions
import Foundation
import GRDB
import Logging
import ServiceLifecycle
import Synchronization

/// Keeps every customer's ledger, dimensions and classes current as events arrive.
///
/// Ingestion only appends events (so batches stay fast); this updater follows the event table and
/// the change feed a few milliseconds behind, folding each new event into its customer's ledger and
/// recomputing that customer's dimensions and classes.
///
/// A step is computed in a read transaction and then written in a short write transaction that
/// also advances the checkpoint and appends DIMENSIONS_CHANGED to the feed. The computing (decoding
/// events and ledgers, folding, the dimension engine, encoding) is most of the work; doing it
/// outside the store's single writer lets ingestion batches commit meanwhile, on the other core.
/// The write checks that the checkpoint is still the one the step was computed from, so after a
/// crash or beside another catch-up nothing is folded twice and nothing is missed.
///
/// Window dimensions are computed for the business date: the newest event day seen. When it moves
/// on, every other customer's windows move too, so the updater then recomputes the customers still
/// computed for an earlier day, a page at a time. With several profiles processes the business day
/// is the firm's, not this store's: a newer day another owner has seen is adopted
/// (``adopt(_:from:)``, docs/partitioning.md §2) and rolled over to the same way.
final class DimensionUpdater: Service, Sendable {
    let database: DatabasePool
    let classifier: Classifier
    let index: DimensionIndex
    let logger: Logger
    private let wakeStream: AsyncStream<Void>
    private let wakeContinuation: AsyncStream<Void>.Continuation
    /// One catch-up at a time (the service's own and ``ProfilesService/updateDimensions()``), so a
    /// computed step is rarely discarded and the index is updated in commit order.
    private let gate = AsyncGate()
    /// The checkpoint whose customers the in-memory index holds, which is what answers reflect: a
    /// step is committed to the store first and put into the index just after, so the store's own
    /// checkpoint runs ahead of the answers for that moment. nil until the index is loaded (answers
    /// then scan the store, whose checkpoint is the one that counts).
    let indexedThrough = Mutex<Checkpoint?>(nil)
    /// Steps being written or written and not yet in the index (0 or 1: one catch-up at a time).
    /// Health counts them as pending: a rollover step does not move the checkpoint, so only this
    /// says its customers' new windows are not in the index yet.
    let stepsInFlight = Atomic<Int>(0)
    /// The newest business day the store holds (from its own events or adopted from another
    /// owner), kept without a read so every forwarded call can carry it (``ForwardedBusinessDay``).
    private let newestBusinessDay = Atomic<DayNumber>(0)

    /// Events read per step at most. Each customer's ledger is read, folded and written once per
    /// step, however many of its events the step holds.
    static let eventsPerStep = 50_000
    /// Customers per step at most: bounds the memory of a computed step (each customer's new
    /// ledger, recent trades, dimensions and feed entry are held until written) when every event
    /// of a step belongs to another customer, as in a live feed over a million customers.
    static let customersPerStep = 20_000
    static let recentLimit = 50
    static let rolloverPage = 2_000

    /// This updater's step limits (tests make them small to cut a customer's events across steps).
    let eventsPerStep: Int
    let customersPerStep: Int
    /// Customers in a step from which their computing is split over the cores.
    let parallelFrom: Int
    /// The cores the process counts on (``HostConfiguration/cores``): how many slices a large step's computing is split into (at most 8).
    let cores: Int
    /// Shared by every partition file's updater of a process (file per partition): at most one
    /// catch-up per core runs at a time. Without it each ingested batch woke every file's updater
    /// at once — 64 small steps, each a read, a fold and a commit, fighting for two cores (5× the
    /// CPU per event of one file, BENCHMARKS.md "Ingestion into a file per partition"); a file
    /// waiting for its turn gathers more events, so its next step folds them together. nil: run
    /// whenever woken (one file).
    private let pacing: AsyncGate?

    /// Told each time this store's own events (or an adoption) move the business day on: how the
    /// other partition files of the process follow it (``ProfilesCores``).
    private let onNewDay: (@Sendable (DayNumber) -> Void)?

    init(database: DatabasePool, classifier: Classifier, index: DimensionIndex, logger: Logger,
         eventsPerStep: Int = DimensionUpdater.eventsPerStep, customersPerStep: Int = DimensionUpdater.customersPerStep, parallelFrom: Int = 64,
         cores: Int = HostConfiguration.coresAvailable, pacing: AsyncGate? = nil, onNewDay: (@Sendable (DayNumber) -> Void)? = nil) {
        self.cores = max(1, cores)
        self.onNewDay = onNewDay
        self.pacing = pacing
        self.parallelFrom = parallelFrom
        self.eventsPerStep = eventsPerStep
        self.customersPerStep = customersPerStep
        self.database = database
        self.classifier = classifier
        self.index = index
        self.logger = logger
        (wakeStream, wakeContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Tells the updater there is new work (called after every ingestion and customer change).
    func notify() {
        wakeContinuation.yield()
    }

    /// Ends ``run()`` after the catch-up it is in (a partition drained for a move; docs/partitioning.md §8).
    func finish() {
        wakeContinuation.finish()
    }

    /// Follows the store until the service shuts down. Work cut short by the shutdown is simply
    /// not committed (each step is one transaction) and resumes from the checkpoint next start.
    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                // Read before the load: a step committed meanwhile counts as pending, never as held.
                let loadedFrom = try await self.database.read { db in try Self.checkpoint(db) }
                try await self.index.load(from: self.database)
                self.indexedThrough.withLock { $0 = loadedFrom }
                self.know(loadedFrom.businessDay)
                self.logger.info("dimension index loaded", metadata: ["customers": "\(self.index.count)"])
                try await self.pacedCatchUp()
                for await _ in self.wakeStream {
                    try await self.pacedCatchUp()
                }
            }
        } catch {
            // A step interrupted by the shutdown is a normal end, not a failure of the service.
            if Task.isCancelled || Task.isShuttingDownGracefully { return }
            throw error
        }
    }

    /// The run loop's catch-up, in its turn among the process's updaters when they are paced.
    private func pacedCatchUp() async throws {
        if let pacing {
            _ = try await pacing.run { try await self.catchUp() }
        } else {
            try await catchUp()
        }
    }

    /// Applies everything pending, then brings every customer to the current business date.
    /// Returns the number of events folded.
    @discardableResult
    func catchUp() async throws -> Int {
        try await gate.run {
            var folded = 0
            // While a step is written, the next one is computed on a reader (the machine's other
            // core), from the checkpoint the written step moves to and with its customers' new state
            // taken from it rather than from a snapshot that may not hold it yet.
            var pending = try await self.database.read { db in try self.prepareStep(db, after: nil) }
            while let step = pending {
                async let written = self.commitAndIndex(step)
                async let next = self.database.read { db in try self.prepareStep(db, after: step) }
                guard try await written else {
                    // Overtaken (the checkpoint moved): compute again from the store.
                    _ = try? await next
                    pending = try await self.database.read { db in try self.prepareStep(db, after: nil) }
                    continue
                }
                folded += step.events
                pending = try await next
            }
            while true {
                let step = try await self.database.read { db in try self.prepareRollover(db) }
                guard let step else { break }
                _ = try await self.commitAndIndex(step)
            }
            return folded
        }
    }

    // MARK: Steps

    struct Checkpoint: Equatable {
        var lastEventID: Int64
        var lastChangeSequence: Int64
        var businessDay: DayNumber
    }

    /// Customers refreshed in a committed step, for the in-memory index.
    typealias Refreshed = [(Crm_Profiles_V1_Customer, DimensionsView)]

    /// One customer's new state, computed from a snapshot and written by ``commit(_:_:)``.
    struct Outcome {
        let customer: Crm_Profiles_V1_Customer
        let ledger: Data
        /// The new recent trades and contacts; nil when the step brought none (the row keeps its own).
        let recent: Data?
        let stored: StoredDimensions
        /// The DIMENSIONS_CHANGED entry's body, when the dimensions changed.
        let feedEntry: ChangeLog.Entry?
    }

    /// A computed step: what to write and the checkpoint it was computed from and moves to.
    struct Step {
        let from: Checkpoint
        let to: Checkpoint
        let events: Int
        let outcomes: [Outcome]
        var refreshed: Refreshed { outcomes.map { ($0.customer, DimensionsView($0.stored)) } }
    }

    /// Writes a computed step if the checkpoint is still the one it was computed from, then puts
    /// its customers into the index; counted in ``stepsInFlight`` from before the write until they
    /// are in. Returns whether it was written.
    private func commitAndIndex(_ step: Step) async throws -> Bool {
        stepsInFlight.wrappingAdd(1, ordering: .sequentiallyConsistent)
        defer { stepsInFlight.wrappingSubtract(1, ordering: .sequentiallyConsistent) }
        guard try await database.write({ db in try self.commit(step, db) }) else { return false }
        apply(step.refreshed)
        if step.to != step.from { indexedThrough.withLock { $0 = step.to } }
        know(step.to.businessDay)
        return true
    }

    /// The newest business day the store holds (0 before the first event, or before the start-up load).
    var businessDay: DayNumber { newestBusinessDay.load(ordering: .relaxed) }

    private func know(_ day: DayNumber) {
        let before = newestBusinessDay.max(day, ordering: .relaxed).oldValue
        if day > before { onNewDay?(day) }
    }

    private func apply(_ refreshed: Refreshed) {
        for (customer, dimensions) in refreshed {
            index.update(customer: customer, dimensions: dimensions)
        }
    }

    /// Reads the next events and changed customers after the checkpoint and computes their new
    /// state; nil when nothing is pending.
    ///
    /// With `previous` (a step being written meanwhile), the step starts where that one ends and
    /// reads its customers' ledger, recent activity and dimensions from it.
    private func prepareStep(_ db: Database, after previous: Step?) throws -> Step? {
        let from = try previous?.to ?? Self.checkpoint(db)
        let overlay = previous.map { step in Dictionary(step.outcomes.map { ($0.customer.customerID, $0) }, uniquingKeysWith: { $1 }) } ?? [:]
        var to = from
        // Events in id order, until the step holds enough events or customers.
        var byCustomer: [String: Int] = [:]
        var batches: [(id: String, events: [CustomerEvent])] = []
        var events = 0
        let select = try db.cachedStatement(sql: "SELECT id, kind, customer_id, body FROM event WHERE id > ? ORDER BY id LIMIT ?")
        let cursor = try Row.fetchCursor(select, arguments: [from.lastEventID, eventsPerStep])
        while let row = try cursor.next() {
            let customerID: String = row[2]
            if byCustomer[customerID] == nil && batches.count >= customersPerStep { break }
            let id: Int64 = row[0]
            events += 1
            to.lastEventID = id
            guard let kind = EventKind(rawValue: row[1]),
                  let event = try row.withUnsafeData(atIndex: 3, { try EventDecoding.decode(kind: kind, body: $0 ?? Data()) })
            else { continue }
            to.businessDay = max(to.businessDay, event.day)
            if let slot = byCustomer[customerID] {
                batches[slot].events.append(event)
            } else {
                byCustomer[customerID] = batches.count
                batches.append((customerID, [event]))
            }
        }
        // Customers whose record or assessment changed since the last step (the feed's own
        // DIMENSIONS_CHANGED entries are skipped).
        let changes = try db.cachedStatement(sql: "SELECT sequence, customer_id FROM change_log WHERE sequence > ? AND kind <> ? ORDER BY sequence LIMIT ?")
        let changeCursor = try Row.fetchCursor(changes, arguments: [from.lastChangeSequence, Crm_Profiles_V1_ChangeKind.dimensionsChanged.rawValue, customersPerStep])
        var changedRows = 0
        while let row = try changeCursor.next() {
            changedRows += 1
            to.lastChangeSequence = row[0]
            let customerID: String = row[1]
            if byCustomer[customerID] == nil {
                byCustomer[customerID] = batches.count
                batches.append((customerID, []))
            }
        }
        if changedRows < customersPerStep {
            // Every change was read: move past the feed's own entries too.
            to.lastChangeSequence = max(to.lastChangeSequence, Int64(clamping: try ChangeLog.lastSequence(db)))
        }
        guard to != from else { return nil }
        var inputs: [Input] = []
        inputs.reserveCapacity(batches.count)
        for batch in batches {
            if let input = try input(db, customerID: batch.id, newEvents: batch.events, written: overlay[batch.id]) { inputs.append(input) }
        }
        return Step(from: from, to: to, events: events, outcomes: try compute(inputs, asOf: to.businessDay))
    }

    /// Computes one page of customers still computed for an earlier business date; nil when none.
    private func prepareRollover(_ db: Database) throws -> Step? {
        let checkpoint = try Self.checkpoint(db)
        let ids = try String.fetchAll(
            db.cachedStatement(sql: "SELECT customer_id FROM customer_dimensions WHERE as_of < ? LIMIT ?"),
            arguments: [checkpoint.businessDay, Self.rolloverPage]
        )
        guard !ids.isEmpty else { return nil }
        let inputs = try ids.compactMap { try input(db, customerID: $0, newEvents: []) }
        return Step(from: checkpoint, to: checkpoint, events: 0, outcomes: try compute(inputs, asOf: checkpoint.businessDay))
    }

    /// Writes a computed step if the checkpoint is still the one it was computed from (else it was
    /// overtaken and is dropped, to be computed again). Returns whether it was written.
    private func commit(_ step: Step, _ db: Database) throws -> Bool {
        guard try Self.checkpoint(db) == step.from else { return false }
        let upsertBoth = try db.cachedStatement(sql: """
            INSERT INTO customer_ledger (customer_id, ledger, recent) VALUES (?, ?, ?)
            ON CONFLICT(customer_id) DO UPDATE SET ledger = excluded.ledger, recent = excluded.recent
            """)
        let upsertLedger = try db.cachedStatement(sql: """
            INSERT INTO customer_ledger (customer_id, ledger, recent) VALUES (?, ?, ?)
            ON CONFLICT(customer_id) DO UPDATE SET ledger = excluded.ledger
            """)
        for outcome in step.outcomes {
            let id = outcome.customer.customerID
            if let recent = outcome.recent {
                try upsertBoth.execute(arguments: [id, outcome.ledger, recent])
            } else {
                try upsertLedger.execute(arguments: [id, outcome.ledger, Self.emptyRecent])
            }
            try StoredDimensions.write(db, customerID: id, outcome.stored)
            if let entry = outcome.feedEntry { try ChangeLog.append(db, entry) }
        }
        if step.to != step.from {
            // A day moved on by this store's own events is its own again ('' source), even if a peer's was adopted before.
            try db.cachedStatement(sql: """
                UPDATE dimension_checkpoint SET last_event_id = ?, last_change_sequence = ?, business_day = ?,
                    business_day_source = CASE WHEN ? > business_day THEN '' ELSE business_day_source END
                WHERE id = 1
                """)
                .execute(arguments: [step.to.lastEventID, step.to.lastChangeSequence, step.to.businessDay, step.to.businessDay])
        }
        return true
    }

    /// The stored form of no recent trades or contacts (``RecentActivity`` reads it as empty).
    static let emptyRecent = Data()

    /// One customer's row, ledger, recent activity, dimensions and latest assessment in one lookup.
    static let refreshSQL = """
        SELECT \(CustomerStore.columns("c")), l.ledger, l.recent, d.dimensions,
               (SELECT body FROM assessment a WHERE a.customer_id = c.customer_id ORDER BY a.sequence DESC LIMIT 1)
        FROM customer c
        LEFT JOIN customer_ledger l ON l.customer_id = c.customer_id
        LEFT JOIN customer_dimensions d ON d.customer_id = c.customer_id
        WHERE c.customer_id = ?
        """

    /// What one customer's refresh reads from the store (or from the step being written).
    struct Input: Sendable {
        let customer: Crm_Profiles_V1_Customer
        let ledger: Data?
        let recent: Data?
        let previous: StoredDimensions?
        let assessment: Data?
        let newEvents: [CustomerEvent]
    }

    /// Reads one customer for a refresh; `written`: its outcome in the step being written meanwhile,
    /// newer than the store.
    private func input(_ db: Database, customerID: String, newEvents: [CustomerEvent], written: Outcome? = nil) throws -> Input? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: Self.refreshSQL), arguments: [customerID]) else { return nil }
        let base = CustomerStore.columnCount
        return Input(
            customer: CustomerStore.customer(fromColumns: row),
            ledger: written?.ledger ?? row[base],
            recent: written?.recent ?? row[base + 1],
            previous: try written.map(\.stored) ?? (row[base + 2] as Data?).map(StoredDimensions.decoded),
            assessment: row[base + 3],
            newEvents: newEvents
        )
    }

    /// Computes the customers' outcomes, split over the machine's cores when there are many: this
    /// is pure work (decoding, folding, the engine, encoding) and most of a step's time.
    private func compute(_ inputs: [Input], asOf: DayNumber) throws -> [Outcome] {
        let parts = inputs.count >= parallelFrom ? min(cores, 8) : 1
        let results = ParallelSlices.map(count: inputs.count, slices: parts) { range in
            Result { try inputs[range].map { try self.compute($0, asOf: asOf) } }
        }
        return try results.flatMap { try $0.get() }
    }

    /// Folds the new events into one customer's ledger and computes its dimensions for `asOf`.
    private func compute(_ input: Input, asOf: DayNumber) throws -> Outcome {
        var ledger = CustomerLedger()
        if let bytes = input.ledger { ledger = try CustomerLedger(serialized: [UInt8](bytes)) }
        let assessment = try input.assessment.map { try Crm_Profiles_V1_SuitabilityAssessment(serializedBytes: $0) }
        for event in input.newEvents { ledger.apply(event) }
        // The 360 view's recent trades and contacts change only with new ones.
        var recentBytes: Data?
        if input.newEvents.contains(where: RecentActivity.keeps) {
            var recent = try input.recent.map { try RecentActivity(stored: $0) } ?? RecentActivity()
            try recent.add(input.newEvents, limit: Self.recentLimit)
            recentBytes = recent.serialized()
        }
        let facts = Self.facts(customer: input.customer, assessment: assessment)
        let values = DimensionEngine.compute(ledger: ledger, customer: facts, asOf: asOf)
        let stored = StoredDimensions.aligned(values, classes: classifier.classes(values, customer: facts))
        // The feed carries what changed since the last announcement (everything the first time).
        var entry: ChangeLog.Entry?
        if !stored.isIdentical(to: input.previous) {
            let customerID = input.customer.customerID
            let delta = stored.message(customerID: customerID, schemes: DimensionsView.schemeNames, since: input.previous, positional: true)
            entry = try ChangeLog.Entry(kind: .dimensionsChanged, customerID: customerID) { $0.dimensions = delta }
        }
        return Outcome(customer: input.customer, ledger: Data(ledger.serialized()), recent: recentBytes, stored: stored, feedEntry: entry)
    }

    // MARK: The firm-wide business day

    /// The day window dimensions end on and where it came from.
    struct BusinessDay: Equatable, Sendable {
        /// Days since 1970-01-01 (Beijing); 0 while no event has been seen here or adopted.
        var day: DayNumber
        /// nil: this store's own newest event day; else the partition owner whose newer day was adopted.
        var adoptedFrom: String?
    }

    static func businessDay(_ db: Database) throws -> BusinessDay {
        guard let row = try Row.fetchOne(db, sql: "SELECT business_day, business_day_source FROM dimension_checkpoint WHERE id = 1") else {
            return BusinessDay(day: 0, adoptedFrom: nil)
        }
        let source: String = row[1]
        return BusinessDay(day: row[0], adoptedFrom: source.isEmpty ? nil : source)
    }

    /// Raises the business day to `day`, the newest another partition owner (`peer`) has seen, when
    /// it is newer than this store's; never lowers it. The catch-up this wakes then recomputes every
    /// customer computed for an earlier day (the rollover), so this process's window dimensions end
    /// on the firm's day. Returns whether the day was raised.
    ///
    /// Runs between two catch-ups (through the same gate), so a step being computed is never
    /// overtaken by the change and computed twice.
    @discardableResult
    func adopt(_ day: DayNumber, from peer: String) async throws -> Bool {
        let raised = try await gate.run {
            try await self.database.write { db in
                try db.execute(
                    sql: "UPDATE dimension_checkpoint SET business_day = ?, business_day_source = ? WHERE id = 1 AND business_day < ?",
                    arguments: [day, peer, day])
                return db.changesCount > 0
            }
        }
        if raised {
            know(day)
            logger.info("business day adopted from a partition owner", metadata: ["day": "\(day)", "owner": "\(peer)"])
            notify()
        }
        return raised
    }

    /// The newest stored event's id and the last one the updater has applied.
    static func progress(_ db: Database) throws -> (newest: Int64, applied: Int64) {
        let last = try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM event") ?? 0
        return (last, try checkpoint(db).lastEventID)
    }

    /// Customer changes, and customers still on an earlier day, counted in ``pending(_:)`` at most.
    static let countedChangesAtMost = 100_000

    /// Events and customer changes stored but not yet folded into dimensions and into the index,
    /// customers still computed for an earlier business day, and a step on its way into the store
    /// and the index (Health's `dimensions_pending`: 0
    /// means every answer reflects everything stored, on the current business day; changes and
    /// customers count up to ``countedChangesAtMost`` each).
    func pending(_ db: Database) throws -> Int64 {
        let stored = try Self.checkpoint(db)
        let checkpoint = indexedThrough.withLock { indexed in
            indexed.map { Checkpoint(lastEventID: min($0.lastEventID, stored.lastEventID),
                                     lastChangeSequence: min($0.lastChangeSequence, stored.lastChangeSequence), businessDay: stored.businessDay) }
        } ?? stored
        // Event ids are the table's row ids, never deleted and not used by an ignored duplicate, so
        // the newest id less the checkpoint is the count without reading the backlog (a bulk load
        // leaves millions, and Health is asked every few seconds by probes).
        let newest = try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM event") ?? 0
        let events = max(0, newest - checkpoint.lastEventID)
        // Changes are counted, the feed's own entries skipped, up to a bound for the same reason.
        let changes = try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM (SELECT 1 FROM change_log WHERE sequence > ? AND kind <> ? LIMIT ?)",
                                         arguments: [checkpoint.lastChangeSequence, Crm_Profiles_V1_ChangeKind.dimensionsChanged.rawValue,
                                                     Self.countedChangesAtMost]) ?? 0
        // Through customer_dimensions_by_as_of: none outside a rollover.
        let stale = try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM (SELECT 1 FROM customer_dimensions WHERE as_of < ? LIMIT ?)",
                                       arguments: [stored.businessDay, Self.countedChangesAtMost]) ?? 0
        return events + changes + stale + Int64(stepsInFlight.load(ordering: .sequentiallyConsistent))
    }

    static func checkpoint(_ db: Database) throws -> Checkpoint {
        let select = try db.cachedStatement(sql: "SELECT last_event_id, last_change_sequence, business_day FROM dimension_checkpoint WHERE id = 1")
        guard let row = try Row.fetchOne(select) else {
            return Checkpoint(lastEventID: 0, lastChangeSequence: 0, businessDay: 0)
        }
        return Checkpoint(lastEventID: row[0], lastChangeSequence: row[1], businessDay: row[2])
    }

    // MARK: Conversions

    /// The facts a customer's dimensions read; with `assessedOnOrBefore`, the assessment in force
    /// at the end of that day instead of the newest one.
    static func facts(_ db: Database, customer: Crm_Profiles_V1_Customer, assessedOnOrBefore cutoff: DayNumber? = nil) throws -> CustomerFacts {
        let assessment: Crm_Profiles_V1_SuitabilityAssessment?
        if let cutoff {
            let all = try db.cachedStatement(sql: "SELECT body FROM assessment WHERE customer_id = ? ORDER BY sequence")
            assessment = inForce(try Data.fetchAll(all, arguments: [customer.customerID])
                .map { try Crm_Profiles_V1_SuitabilityAssessment(serializedBytes: $0) }, on: cutoff)
        } else {
            let latest = try db.cachedStatement(sql: "SELECT body FROM assessment WHERE customer_id = ? ORDER BY sequence DESC LIMIT 1")
            assessment = try Data.fetchOne(latest, arguments: [customer.customerID])
                .map { try Crm_Profiles_V1_SuitabilityAssessment(serializedBytes: $0) }
        }
        return facts(customer: customer, assessment: assessment)
    }

    /// The assessment in force at the end of `day`: the newest (in recording order) assessed on or
    /// before it; nil when none was.
    static func inForce(_ assessments: [Crm_Profiles_V1_SuitabilityAssessment], on day: DayNumber) -> Crm_Profiles_V1_SuitabilityAssessment? {
        assessments.last { $0.hasAssessedOn && Days.day(year: $0.assessedOn.year, month: $0.assessedOn.month, day: $0.assessedOn.day) <= day }
    }

    /// The facts of `customer` with `assessment` in force (nil: never assessed).
    static func facts(customer: Crm_Profiles_V1_Customer, assessment: Crm_Profiles_V1_SuitabilityAssessment?) -> CustomerFacts {
        let status: CustomerFacts.Status
        switch customer.status {
        case .prospect: status = .prospect
        case .frozen: status = .frozen
        case .reportedLost: status = .reportedLost
        case .closed: status = .closed
        default: status = .normal
        }
        func day(_ date: Crm_Common_V1_Date, present: Bool) -> DayNumber? {
            present && date.isValid ? Days.day(year: date.year, month: date.month, day: date.day) : nil
        }
        return CustomerFacts(
            kind: customer.kind == .institution ? .institution : .individual,
            status: status,
            openDay: day(customer.openDate, present: customer.hasOpenDate),
            birthDay: day(customer.birthDate, present: customer.hasBirthDate),
            riskTolerance: assessment.map { $0.riskTolerance.rawValue },
            investorClass: assessment.map { $0.investorClass == .professional ? .professional : .ordinary },
            assessmentExpiresDay: assessment.flatMap { day($0.expiresOn, present: $0.hasExpiresOn) }
        )
    }
}

/// Runs async work at most `slots` callers at a time (one by default: an async mutex, where an
/// actor alone would let a second caller in at the first one's first suspension), the waiting
/// ones in arrival order.
final class AsyncGate: Sendable {
    private struct State {
        var busy = 0
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())
    /// Callers let in at once.
    let slots: Int

    init(slots: Int = 1) {
        self.slots = max(1, slots)
    }

    /// Callers waiting for a slot now.
    var waitingCount: Int { state.withLock { $0.waiting.count } }

    func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state -> Bool in
                if state.busy >= slots {
                    state.waiting.append(continuation)
                    return false
                }
                state.busy += 1
                return true
            }
            if ready { continuation.resume() }
        }
    }

    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiting.isEmpty {
                state.busy -= 1
                return nil
            }
            // The slot passes straight to the first waiting caller.
            return state.waiting.removeFirst()
        }
        next?.resume()
    }
}

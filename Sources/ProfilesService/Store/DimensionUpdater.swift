import CRMProtos
import CRMStore
import Foundation
import GRDB
import Logging
import ServiceLifecycle

/// Keeps every customer's ledger, dimensions and classes current as events arrive.
///
/// Ingestion only appends events (so batches stay fast); this updater follows the event table and
/// the change feed a few milliseconds behind, folding each new event into its customer's ledger and
/// recomputing that customer's dimensions and classes. Each step is one transaction that also
/// advances its checkpoint and appends DIMENSIONS_CHANGED to the feed, so after a crash it resumes
/// exactly where it stopped: nothing folded twice, nothing missed.
///
/// Window dimensions are computed for the business date: the newest event day seen. When it moves
/// on, every other customer's windows move too, so the updater then recomputes the customers still
/// computed for an earlier day, a page at a time.
final class DimensionUpdater: Service, Sendable {
    let database: DatabasePool
    let classifier: Classifier
    let index: DimensionIndex
    let logger: Logger
    private let wakeStream: AsyncStream<Void>
    private let wakeContinuation: AsyncStream<Void>.Continuation

    /// Large steps: each customer's ledger is read, folded and written once per step, however many
    /// of its events the step holds.
    static let eventsPerStep = 50_000
    static let recentLimit = 50
    static let rolloverPage = 2_000

    init(database: DatabasePool, classifier: Classifier, index: DimensionIndex, logger: Logger) {
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

    /// Follows the store until the service shuts down. Work cut short by the shutdown is simply
    /// not committed (each step is one transaction) and resumes from the checkpoint next start.
    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                try await self.index.load(from: self.database)
                self.logger.info("dimension index loaded", metadata: ["customers": "\(self.index.count)"])
                try await self.catchUp()
                for await _ in self.wakeStream {
                    try await self.catchUp()
                }
            }
        } catch {
            // A step interrupted by the shutdown is a normal end, not a failure of the service.
            if Task.isCancelled || Task.isShuttingDownGracefully { return }
            throw error
        }
    }

    /// Applies everything pending, then brings every customer to the current business date.
    /// Returns the number of events folded.
    @discardableResult
    func catchUp() async throws -> Int {
        var folded = 0
        while true {
            let step = try await database.write { db in try self.step(db) }
            folded += step.events
            apply(step.refreshed)
            if step.events == 0 && step.refreshed.isEmpty { break }
        }
        while true {
            let refreshed = try await database.write { db in try self.rollover(db) }
            apply(refreshed)
            if refreshed.isEmpty { break }
        }
        return folded
    }

    // MARK: One step

    private struct Checkpoint {
        var lastEventID: Int64
        var lastChangeSequence: Int64
        var businessDay: DayNumber
    }

    /// Customers refreshed in a committed step, for the in-memory index.
    typealias Refreshed = [(Crm_Profiles_V1_Customer, DimensionsView)]

    private func apply(_ refreshed: Refreshed) {
        for (customer, dimensions) in refreshed {
            index.update(customer: customer, dimensions: dimensions)
        }
    }

    private func step(_ db: Database) throws -> (events: Int, refreshed: Refreshed) {
        var checkpoint = try Self.checkpoint(db)
        let events = try EventStore.events(db, after: checkpoint.lastEventID, limit: Self.eventsPerStep)
        // Customers whose record or assessment changed since the last step.
        let changeRows = try Row.fetchAll(
            db,
            sql: "SELECT sequence, customer_id, kind FROM change_log WHERE sequence > ? ORDER BY sequence LIMIT ?",
            arguments: [checkpoint.lastChangeSequence, Self.eventsPerStep]
        )
        let dimensionKind = Crm_Profiles_V1_ChangeKind.dimensionsChanged.rawValue
        let changed = changeRows.filter { ($0["kind"] as Int) != dimensionKind }.map { $0["customer_id"] as String }
        guard !events.isEmpty || !changeRows.isEmpty else { return (0, []) }

        var byCustomer: [String: [CustomerEvent]] = [:]
        var order: [String] = []
        for event in events {
            guard let decoded = try EventDecoding.decode(kind: event.kind, body: event.body) else { continue }
            if byCustomer[event.customerID] == nil { order.append(event.customerID) }
            byCustomer[event.customerID, default: []].append(decoded)
            checkpoint.businessDay = max(checkpoint.businessDay, decoded.day)
        }
        for id in Set(changed) where byCustomer[id] == nil {
            byCustomer[id] = []
            order.append(id)
        }
        var refreshed: Refreshed = []
        for id in order {
            if let done = try refresh(db, customerID: id, newEvents: byCustomer[id] ?? [], asOf: checkpoint.businessDay) {
                refreshed.append(done)
            }
        }
        if let last = events.last { checkpoint.lastEventID = last.id }
        if changeRows.count < Self.eventsPerStep {
            // Everything was read: skip the DIMENSIONS_CHANGED entries this step appended.
            checkpoint.lastChangeSequence = Int64(try ChangeLog.lastSequence(db))
        } else if let last = changeRows.last {
            checkpoint.lastChangeSequence = last["sequence"]
        }
        try db.execute(
            sql: "UPDATE dimension_checkpoint SET last_event_id = ?, last_change_sequence = ?, business_day = ? WHERE id = 1",
            arguments: [checkpoint.lastEventID, checkpoint.lastChangeSequence, checkpoint.businessDay]
        )
        return (events.count, refreshed)
    }

    /// Folds `newEvents` into one customer's ledger and stores its dimensions for `asOf`.
    private func refresh(_ db: Database, customerID: String, newEvents: [CustomerEvent], asOf: DayNumber) throws -> (Crm_Profiles_V1_Customer, DimensionsView)? {
        guard let customer = try CustomerStore.fetch(db, id: customerID) else { return nil }
        // Cached statements and columns read by position: this runs once per customer per step.
        let select = try db.cachedStatement(sql: "SELECT ledger, recent FROM customer_ledger WHERE customer_id = ?")
        let selectDimensions = try db.cachedStatement(sql: "SELECT dimensions FROM customer_dimensions WHERE customer_id = ?")
        var ledger = CustomerLedger()
        var recent = Crm_Profiles_V1_Customer360()
        var previous: StoredDimensions?
        if let row = try Row.fetchOne(select, arguments: [customerID]) {
            ledger = try CustomerLedger(serialized: [UInt8](row[0] as Data))
            recent = try Crm_Profiles_V1_Customer360(serializedBytes: row[1] as Data)
        }
        if let stored = try Data.fetchOne(selectDimensions, arguments: [customerID]) {
            previous = try StoredDimensions(serialized: stored)
        }
        for event in newEvents {
            ledger.apply(event)
            Self.remember(event, in: &recent)
        }
        let facts = try Self.facts(db, customer: customer)
        let values = DimensionEngine.compute(ledger: ledger, customer: facts, asOf: asOf)
        let stored = StoredDimensions(values: values, classes: classifier.classes(values, customer: facts))
        let upsert = try db.cachedStatement(sql: """
            INSERT INTO customer_ledger (customer_id, ledger, recent) VALUES (?, ?, ?)
            ON CONFLICT(customer_id) DO UPDATE SET ledger = excluded.ledger, recent = excluded.recent
            """)
        try upsert.execute(arguments: [customerID, Data(ledger.serialized()), Data(try recent.serializedBytes() as [UInt8])])
        try StoredDimensions.save(db, customerID: customerID, stored)
        // The feed carries what changed since the last announcement (everything the first time).
        if stored != previous {
            let delta = stored.message(customerID: customerID, schemes: DimensionsView.schemeNames, since: previous, positional: true)
            try ChangeLog.append(db, kind: .dimensionsChanged, customerID: customerID) { $0.dimensions = delta }
        }
        return (customer, DimensionsView(stored))
    }

    /// Recomputes one page of customers still computed for an earlier business date.
    private func rollover(_ db: Database) throws -> Refreshed {
        let checkpoint = try Self.checkpoint(db)
        let ids = try String.fetchAll(
            db,
            sql: "SELECT customer_id FROM customer_dimensions WHERE as_of < ? LIMIT ?",
            arguments: [checkpoint.businessDay, Self.rolloverPage]
        )
        var refreshed: Refreshed = []
        for id in ids {
            if let done = try refresh(db, customerID: id, newEvents: [], asOf: checkpoint.businessDay) { refreshed.append(done) }
        }
        return refreshed
    }

    private static func checkpoint(_ db: Database) throws -> Checkpoint {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM dimension_checkpoint WHERE id = 1") else {
            return Checkpoint(lastEventID: 0, lastChangeSequence: 0, businessDay: 0)
        }
        return Checkpoint(lastEventID: row["last_event_id"], lastChangeSequence: row["last_change_sequence"], businessDay: row["business_day"])
    }

    // MARK: Conversions

    /// The facts the engine needs from the customer record and its latest assessment.
    /// The facts a customer's dimensions read; with `assessedOnOrBefore`, the assessment in force
    /// at the end of that day instead of the newest one.
    static func facts(_ db: Database, customer: Crm_Profiles_V1_Customer, assessedOnOrBefore cutoff: DayNumber? = nil) throws -> CustomerFacts {
        let assessment: Crm_Profiles_V1_SuitabilityAssessment?
        if let cutoff {
            let all = try db.cachedStatement(sql: "SELECT body FROM assessment WHERE customer_id = ? ORDER BY sequence")
            assessment = try Data.fetchAll(all, arguments: [customer.customerID])
                .map { try Crm_Profiles_V1_SuitabilityAssessment(serializedBytes: $0) }
                .last { $0.hasAssessedOn && Days.day(year: $0.assessedOn.year, month: $0.assessedOn.month, day: $0.assessedOn.day) <= cutoff }
        } else {
            let latest = try db.cachedStatement(sql: "SELECT body FROM assessment WHERE customer_id = ? ORDER BY sequence DESC LIMIT 1")
            assessment = try Data.fetchOne(latest, arguments: [customer.customerID])
                .map { try Crm_Profiles_V1_SuitabilityAssessment(serializedBytes: $0) }
        }
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

    /// Keeps the newest trades and contacts for the 360 view.
    static func remember(_ event: CustomerEvent, in recent: inout Crm_Profiles_V1_Customer360) {
        switch event {
        case let .trade(trade):
            recent.recentTrades.append(.with {
                $0.idempotencyKey = trade.key
                $0.customerID = trade.customerID
                $0.account = trade.account == .margin ? .margin : .cash
                $0.side = trade.side == .buy ? .buy : .sell
                $0.instrument = trade.instrument
                $0.instrumentType = Crm_Profiles_V1_InstrumentType(rawValue: Int(trade.instrumentType.rawValue)) ?? .other
                $0.sector = trade.sector
                $0.quantity = trade.quantity
                $0.price = trade.price
                $0.amount = .with { $0.minorUnits = trade.amountFen }
                $0.commission = .with { $0.minorUnits = trade.commissionFen }
                $0.fees = .with { $0.minorUnits = trade.feesFen }
                $0.tradedAt = .with { $0.unixMillis = trade.tradedAtMillis }
            })
            recent.recentTrades.sort { $0.tradedAt.unixMillis > $1.tradedAt.unixMillis }
            if recent.recentTrades.count > recentLimit { recent.recentTrades.removeLast(recent.recentTrades.count - recentLimit) }
        case let .contact(contact):
            recent.recentContacts.append(.with {
                $0.idempotencyKey = contact.key
                $0.customerID = contact.customerID
                $0.channel = Crm_Profiles_V1_ContactChannel(rawValue: Int(contact.channel.rawValue)) ?? .call
                $0.staffID = contact.staffID
                $0.topic = contact.topic
                $0.outcome = Crm_Profiles_V1_ContactOutcome(rawValue: Int(contact.outcome.rawValue)) ?? .reached
                $0.contactedAt = .with { $0.unixMillis = contact.atMillis }
            })
            recent.recentContacts.sort { $0.contactedAt.unixMillis > $1.contactedAt.unixMillis }
            if recent.recentContacts.count > recentLimit { recent.recentContacts.removeLast(recent.recentContacts.count - recentLimit) }
        default:
            break
        }
    }
}

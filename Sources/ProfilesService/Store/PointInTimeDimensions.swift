import CRMProtos
import CustomerDimensions
import Foundation
import GRDB

/// Every customer's dimensions as they stood at the end of a past day, recomputed from the stored
/// events: what a model trained on history must see, so no information from after the fact leaks
/// into its training rows.
///
/// The incremental ledgers cannot answer this (they keep only the latest position and margin
/// snapshot), so the events on or before the day are folded again into fresh ledgers — one pass
/// over the event table per call, like the rebuild check. The assessment in force is the newest
/// one assessed on or before the day; status is the customer's current one (the status history is
/// not replayed).
enum PointInTimeDimensions {
    /// The most days one StreamDimensionsAsOf call may ask for (`as_of_days`): eight years of
    /// month-ends, far more than a training reads.
    static let maxDays = 100

    /// The page after `afterCustomer` as of `asOf`; `positional` gives the compact form (values by
    /// position, StreamDimensionsAsOfRequest's `positional`) instead of the name-keyed maps.
    static func compute(
        _ db: Database, asOf: DayNumber, afterCustomer: String, limit: Int, classifier: Classifier, positional: Bool = false,
        keeping: (@Sendable (String) -> Bool)? = nil
    ) throws -> [Crm_Profiles_V1_CustomerDimensions] {
        let customers = try page(db, afterCustomer: afterCustomer, limit: limit, keeping: keeping)
        guard let first = customers.first?.customerID, let last = customers.last?.customerID else { return [] }
        // With a filter the id range holds other customers too: their events are not decoded.
        let paged = keeping == nil ? nil : Set(customers.map(\.customerID))
        var ledgers: [String: CustomerLedger] = [:]
        let events = try Row.fetchCursor(
            db, sql: "SELECT kind, customer_id, body FROM event WHERE day <= ? AND customer_id BETWEEN ? AND ? ORDER BY id",
            arguments: [asOf, first, last]
        )
        while let row = try events.next() {
            let id: String = row[1]
            if let paged, !paged.contains(id) { continue }
            guard let kind = EventKind(rawValue: row[0]), let event = try EventDecoding.decode(kind: kind, body: row[2]) else { continue }
            ledgers[id, default: CustomerLedger()].apply(event)
        }
        return try customers.map { customer in
            let facts = try DimensionUpdater.facts(db, customer: customer, assessedOnOrBefore: asOf)
            let values = DimensionEngine.compute(ledger: ledgers[customer.customerID] ?? CustomerLedger(), customer: facts, asOf: asOf)
            let stored = StoredDimensions.aligned(values, classes: classifier.classes(values, customer: facts))
            return stored.message(customerID: customer.customerID, schemes: DimensionsView.schemeNames, positional: positional)
        }
    }

    /// The customers of one page, in customer_id order: the first `limit` after `afterCustomer`
    /// that `keeping` accepts (every one without it).
    static func page(_ db: Database, afterCustomer: String, limit: Int, keeping: (@Sendable (String) -> Bool)? = nil) throws -> [Crm_Profiles_V1_Customer] {
        guard let keeping else {
            return try Row.fetchAll(
                db, sql: "SELECT * FROM customer WHERE customer_id > ? ORDER BY customer_id LIMIT ?",
                arguments: [afterCustomer, limit]
            ).map(CustomerStore.customer(from:))
        }
        var customers: [Crm_Profiles_V1_Customer] = []
        let statement = try db.cachedStatement(sql: "SELECT * FROM customer WHERE customer_id > ? ORDER BY customer_id LIMIT ?")
        var after = afterCustomer
        let chunk = min(max(limit, 1_000), 50_000)
        while customers.count < limit {
            let rows = try Row.fetchAll(statement, arguments: [after, chunk])
            for row in rows {
                let customer = CustomerStore.customer(from: row)
                if keeping(customer.customerID) { customers.append(customer) }
                if customers.count == limit { break }
            }
            guard rows.count == chunk, let last = rows.last else { break }
            after = last["customer_id"]
        }
        return customers
    }

    /// One page's customers with their events up to the last of several days, read in one scan of
    /// the event table and kept as their stored bytes (not decoded: a page of 20,000 customers is
    /// about 1.7 M events a year, and a decoded daily position with its holdings is several times
    /// its bytes), so that every requested day can be answered by one walk of each customer's
    /// events (``dimensions(of:at:classifier:)``) instead of one scan of the log per day.
    struct History: Sendable {
        /// One stored event: whose, which day, its kind and where its body lies in `bodies`.
        struct Entry: Sendable {
            var customer: Int32
            var day: DayNumber
            var kind: EventKind
            var start: Int
            var count: Int
        }

        let customers: [Crm_Profiles_V1_Customer]
        /// Each customer's assessments in recording order (the one in force on a day is the newest
        /// assessed on or before it, as ``DimensionUpdater/facts(_:customer:assessedOnOrBefore:)``).
        let assessments: [[Crm_Profiles_V1_SuitabilityAssessment]]
        /// Sorted by customer, then day: a customer's entries are one contiguous run.
        let entries: [Entry]
        /// `entries[runs[i]..<runs[i + 1]]` are customer i's.
        let runs: [Int]
        /// Every entry's body, one after the other (read as slices: no copy per event).
        let bodies: Data

        /// Reads the page after `afterCustomer` (at most `limit` customers) with every event on or
        /// before `through`.
        static func load(_ db: Database, afterCustomer: String, limit: Int, through: DayNumber,
                         keeping: (@Sendable (String) -> Bool)? = nil) throws -> History {
            let customers = try PointInTimeDimensions.page(db, afterCustomer: afterCustomer, limit: limit, keeping: keeping)
            var index: [String: Int32] = [:]
            index.reserveCapacity(customers.count)
            for (position, customer) in customers.enumerated() { index[customer.customerID] = Int32(position) }
            let assessed = try db.cachedStatement(sql: "SELECT body FROM assessment WHERE customer_id = ? ORDER BY sequence")
            let assessments = try customers.map { customer in
                try Data.fetchAll(assessed, arguments: [customer.customerID]).map { try Crm_Profiles_V1_SuitabilityAssessment(serializedBytes: $0) }
            }
            var entries: [Entry] = []
            var bodies = Data()
            if let first = customers.first?.customerID, let last = customers.last?.customerID {
                let rows = try Row.fetchCursor(
                    db, sql: "SELECT kind, customer_id, day, body FROM event WHERE day <= ? AND customer_id BETWEEN ? AND ?",
                    arguments: [through, first, last]
                )
                while let row = try rows.next() {
                    let id: String = row[1]
                    guard let kind = EventKind(rawValue: row[0]), let customer = index[id] else { continue }
                    let day: DayNumber = row[2]
                    let body: Data = row[3]
                    entries.append(Entry(customer: customer, day: day, kind: kind, start: bodies.count, count: body.count))
                    bodies.append(body)
                }
            }
            // The ledger is a function of the set of events (CustomerLedger's documentation), so
            // folding a customer's events in day order gives, at each day, what folding every
            // event on or before it in stored order gives.
            entries.sort { ($0.customer, $0.day) < ($1.customer, $1.day) }
            var runs = [Int](repeating: entries.count, count: customers.count + 1)
            var next = 0
            for customer in 0..<customers.count {
                while next < entries.count && entries[next].customer < Int32(customer) { next += 1 }
                runs[customer] = next
            }
            return History(customers: customers, assessments: assessments, entries: entries, runs: runs, bodies: bodies)
        }

        /// Customer `customer`'s dimensions at each of `days` (ascending, distinct), from one walk
        /// of their events: each day's message equals what ``PointInTimeDimensions/compute`` gives
        /// for that day alone (in the same form: by position when `positional`).
        func dimensions(of customer: Int, at days: [DayNumber], classifier: Classifier, positional: Bool = false) throws -> [Crm_Profiles_V1_CustomerDimensions] {
            let record = customers[customer]
            var ledger = CustomerLedger()
            var next = runs[customer]
            let end = runs[customer + 1]
            var messages: [Crm_Profiles_V1_CustomerDimensions] = []
            messages.reserveCapacity(days.count)
            for day in days {
                while next < end && entries[next].day <= day {
                    let entry = entries[next]
                    next += 1
                    let body = bodies[bodies.startIndex + entry.start..<bodies.startIndex + entry.start + entry.count]
                    if let event = try EventDecoding.decode(kind: entry.kind, body: body) { ledger.apply(event) }
                }
                let assessment = DimensionUpdater.inForce(assessments[customer], on: day)
                let facts = DimensionUpdater.facts(customer: record, assessment: assessment)
                let values = DimensionEngine.compute(ledger: ledger, customer: facts, asOf: day)
                let stored = StoredDimensions.aligned(values, classes: classifier.classes(values, customer: facts))
                messages.append(stored.message(customerID: record.customerID, schemes: DimensionsView.schemeNames, positional: positional))
            }
            return messages
        }
    }
}

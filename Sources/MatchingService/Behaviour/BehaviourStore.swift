import CRMProtos
import GRDB

/// The behaviour events in the replica's store: written with the feed page that brought them (in
/// the same transaction as the cursor), read back whole at start-up and by time window for
/// training rows.
enum BehaviourStore {
    /// One stored row, with what resolving its family needs.
    struct Stored: Sendable {
        let customerID: String
        let productCode: String
        let event: BehaviourEvent

        /// A row of `customer_id, product_code, at, kind, family, amount_minor`; nil for a kind
        /// this version does not know.
        init?(_ row: Row) {
            guard let kind = BehaviourEvent.Kind(rawValue: UInt8(clamping: row[3] as Int)) else { return nil }
            let family: Int = row[4]
            customerID = row[0]
            productCode = row[1]
            event = BehaviourEvent(at: row[2], kind: kind, family: family >= 0 ? family : nil, amountFen: row[5])
        }
    }

    /// Stores an event unless its key is stored; returns whether it was new.
    @discardableResult
    static func insert(_ db: Database, key: String, customerID: String, productCode: String, event: BehaviourEvent) throws -> Bool {
        try db.cachedStatement(sql: """
            INSERT INTO behaviour (key, customer_id, at, kind, product_code, family, amount_minor) VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(key) DO NOTHING
            """).execute(arguments: [key, customerID, event.at, Int(event.kind.rawValue), productCode, Int(event.family), event.amountFen])
        return db.changesCount > 0
    }

    /// Stores a view or contact read from profiles' event log under its identity `key`; returns
    /// whether it is new to the copy (false when the key is stored, or when `adoptingLegacy` and a
    /// row stored under its event id was given the key: ``adoptLegacy(_:key:customerID:productCode:event:)``),
    /// so an event read twice — from two owners, or again after a move — is applied once.
    static func record(_ db: Database, key: String, customerID: String, productCode: String, event: BehaviourEvent, adoptingLegacy: Bool) throws -> Bool {
        // The insert itself says whether the key was stored; only a legacy row to adopt needs the
        // key looked up first (adopting a row for an event already stored would drop one).
        guard adoptingLegacy else { return try insert(db, key: key, customerID: customerID, productCode: productCode, event: event) }
        if try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM behaviour WHERE key = ?)"), arguments: [key]) == true { return false }
        if try adoptLegacy(db, key: key, customerID: customerID, productCode: productCode, event: event) { return false }
        return try insert(db, key: key, customerID: customerID, productCode: productCode, event: event)
    }

    /// Whether the store holds views or contacts keyed by a profiles process's event id
    /// (`e<event id>`), written before they were keyed by identity (``ProfilesEventIdentity``).
    static func hasLegacyEvents(_ db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM behaviour WHERE key GLOB 'e[0-9]*')") ?? false
    }

    /// Gives `key` to one row stored under an event id (`e<event id>`) with the same customer,
    /// instant, kind and product as `event`; returns whether there was one (the event is then in
    /// the copy already, store and memory).
    ///
    /// Why matching by content is exact: such rows were read from one profiles process, whose
    /// events are all read again when the copy starts following several owners (their cursors
    /// start at 0), each exactly once. One row is taken per event, so events with the same content
    /// are counted as often as they were; and their content is all the behaviour features read, so
    /// which of two equal rows is taken changes nothing.
    static func adoptLegacy(_ db: Database, key: String, customerID: String, productCode: String, event: BehaviourEvent) throws -> Bool {
        guard let legacy = try String.fetchOne(db.cachedStatement(sql: """
            SELECT key FROM behaviour WHERE at = ? AND customer_id = ? AND kind = ? AND product_code = ? AND key GLOB 'e[0-9]*' LIMIT 1
            """), arguments: [event.at, customerID, Int(event.kind.rawValue), productCode])
        else { return false }
        try db.cachedStatement(sql: "UPDATE behaviour SET key = ? WHERE key = ?").execute(arguments: [key, legacy])
        return true
    }

    /// Events with `from <= at < until` of the given kinds, in time order.
    static func events(_ db: Database, from: Int64 = .min, until: Int64, kinds: [BehaviourEvent.Kind]) throws -> [Stored] {
        let list = kinds.map { String($0.rawValue) }.joined(separator: ",")
        let rows = try Row.fetchCursor(db, sql: """
            SELECT customer_id, product_code, at, kind, family, amount_minor FROM behaviour
            WHERE kind IN (\(list)) AND at >= ? AND at < ? ORDER BY at, key
            """, arguments: [from, until])
        var found: [Stored] = []
        while let row = try rows.next() {
            if let stored = Stored(row) { found.append(stored) }
        }
        return found
    }

    /// The earliest instants a view and a contact may have to count at `at` (their retention and
    /// two days' margin).
    static func retentionStarts(reaching at: Int64) -> (views: Int64, contacts: Int64) {
        let day = BusinessDays.millisPerDay
        return (at - Int64(BehaviourFeatures.viewRetentionDays + 2) * day, at - Int64(BehaviourFeatures.contactRetentionDays + 2) * day)
    }

    /// Whether `event` can still count at the instant whose ``retentionStarts(reaching:)`` these
    /// are, or later: a view or a contact within its retention, any order. What the replica holds
    /// in memory, whether loaded from its store or read from profiles' log.
    static func canCount(_ event: BehaviourEvent, from starts: (views: Int64, contacts: Int64)) -> Bool {
        switch event.kind {
        case .view: event.at >= starts.views
        case .contact: event.at >= starts.contacts
        case .subscription, .redemption: true
        }
    }

    /// Every customer's behaviour that can still count at `at` or later (views and contacts within
    /// their retention, every order), grouped by customer, each list in time order, families
    /// resolved with `family(of:)` where the stored row had none.
    static func byCustomer(_ db: Database, reaching at: Int64, until: Int64 = .max, family: (String) -> Int?) throws -> [String: [BehaviourEvent]] {
        let starts = retentionStarts(reaching: at)
        var grouped: [String: [BehaviourEvent]] = [:]
        for stored in try events(db, from: min(starts.views, starts.contacts), until: until, kinds: [.view, .contact])
        where canCount(stored.event, from: starts) {
            grouped[stored.customerID, default: []].append(resolved(stored, family: family))
        }
        for stored in try events(db, until: until, kinds: [.subscription, .redemption]) {
            grouped[stored.customerID, default: []].append(resolved(stored, family: family))
        }
        for key in grouped.keys { grouped[key]?.sort(by: BehaviourEvent.precedes) }
        return grouped
    }

    /// The events ``byCustomer(_:reaching:until:family:)`` gives, read customer by customer in
    /// ascending id (byte order, as the snapshot's rows are stored) instead of grouped in memory:
    /// SQLite sorts them (spilling to a temporary file beyond its cache), so a month of a large
    /// book is never held whole. Ask for customers in ascending order; each list is sorted as
    /// `byCustomer` sorts it, so it is the same list.
    struct CustomerOrder {
        let rows: RowCursor
        let family: (String) -> Int?
        /// The next row read but not yet given (its customer comes later).
        var pending: (customerID: String, event: BehaviourEvent)?
        var exhausted = false

        init(_ db: Database, reaching at: Int64, until: Int64 = .max, family: @escaping (String) -> Int?) throws {
            rows = try Row.fetchCursor(db, sql: Self.sql, arguments: Self.arguments(reaching: at, until: until))
            self.family = family
        }

        /// One range of `behaviour_by_kind_time` per kind (the index holds every column read):
        /// written as one condition with ORs, SQLite read every event before `until` by time and
        /// looked each up in the table.
        static let sql = """
            SELECT customer_id, product_code, at, kind, family, amount_minor FROM behaviour WHERE kind = ? AND at >= ? AND at < ?
            UNION ALL SELECT customer_id, product_code, at, kind, family, amount_minor FROM behaviour WHERE kind = ? AND at >= ? AND at < ?
            UNION ALL SELECT customer_id, product_code, at, kind, family, amount_minor FROM behaviour WHERE kind IN (?, ?) AND at < ?
            ORDER BY customer_id
            """

        static func arguments(reaching at: Int64, until: Int64) -> StatementArguments {
            let (views, contacts) = BehaviourStore.retentionStarts(reaching: at)
            return [Int(BehaviourEvent.Kind.view.rawValue), views, until, Int(BehaviourEvent.Kind.contact.rawValue), contacts, until,
                    Int(BehaviourEvent.Kind.subscription.rawValue), Int(BehaviourEvent.Kind.redemption.rawValue), until]
        }

        /// The customer's events in time order; those of customers between the previous one asked
        /// for and this one are skipped.
        mutating func events(of customerID: String) throws -> [BehaviourEvent] {
            var found: [BehaviourEvent] = []
            while let next = try peek() {
                if next.customerID == customerID {
                    found.append(next.event)
                    pending = nil
                } else if next.customerID.utf8.lexicographicallyPrecedes(customerID.utf8) {
                    pending = nil
                } else {
                    break
                }
            }
            found.sort(by: BehaviourEvent.precedes)
            return found
        }

        private mutating func peek() throws -> (customerID: String, event: BehaviourEvent)? {
            if let pending { return pending }
            while !exhausted {
                guard let row = try rows.next() else {
                    exhausted = true
                    break
                }
                guard let stored = Stored(row) else { continue }
                pending = (stored.customerID, resolved(stored, family: self.family))
                return pending
            }
            return nil
        }
    }

    static func resolved(_ stored: Stored, family: (String) -> Int?) -> BehaviourEvent {
        guard stored.event.family < 0, !stored.productCode.isEmpty, let known = family(stored.productCode) else { return stored.event }
        return BehaviourEvent(at: stored.event.at, kind: stored.event.kind, family: known, amountFen: stored.event.amountFen)
    }

    /// Every product's subscriptions (unix millis, in order), for its recent sales.
    static func salesByProduct(_ db: Database) throws -> [String: [Int64]] {
        var sales: [String: [Int64]] = [:]
        let rows = try Row.fetchCursor(db, sql: "SELECT product_code, accepted_at FROM purchase ORDER BY accepted_at")
        while let row = try rows.next() { sales[row[0] as String, default: []].append(row[1]) }
        return sales
    }

    // MARK: From the feeds

    /// The behaviour event of a logged profiles event (a view or a contact), or nil for other kinds.
    static func event(of logged: Crm_Profiles_V1_LoggedEvent, family: (String) -> Int?) -> (customerID: String, productCode: String, event: BehaviourEvent)? {
        switch logged.body {
        case .productView(let view)?:
            let byType = ProductFamilies.typeNames.firstIndex(of: view.productType.uppercased())
            return (view.customerID, view.productCode, BehaviourEvent(at: view.viewedAt.unixMillis, kind: .view, family: byType ?? family(view.productCode)))
        case .serviceContact(let contact)?:
            let about = contact.productCode.isEmpty ? nil : family(contact.productCode)
            return (contact.customerID, contact.productCode, BehaviourEvent(at: contact.contactedAt.unixMillis, kind: .contact, family: about))
        default:
            return nil
        }
    }

    /// The behaviour event of an order (a subscription or a redemption).
    static func event(of order: Crm_Products_V1_Order, family: Int?) -> BehaviourEvent? {
        let kind: BehaviourEvent.Kind
        switch order.side {
        case .subscription: kind = .subscription
        case .redemption: kind = .redemption
        default: return nil
        }
        return BehaviourEvent(at: order.acceptedAt.unixMillis, kind: kind, family: family, amountFen: order.amount.minorUnits)
    }
}

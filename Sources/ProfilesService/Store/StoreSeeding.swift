import CRMProtos
import CustomerDimensions
import Foundation
import GRDB

/// Writes customers straight into a profiles store in the state the service leaves them in after
/// creating, assessing and computing them: the rows (customer, status history, assessment,
/// dimensions) and the change feed's CUSTOMER_CREATED, REASSESSED and DIMENSIONS_CHANGED entries,
/// with the same encodings. For benchmarks that need a million customers in minutes (creating
/// them through the RPCs runs at about 2,000 a second); nothing reaches it over the wire.
public enum StoreSeeding {
    /// One customer's state. `numbers` follow ``DimensionCatalog/numeric`` (NaN = missing),
    /// `categories` ``DimensionCatalog/categorical``, `classes` ``schemeNames``.
    public struct Seed: Sendable {
        public var customer: Crm_Profiles_V1_Customer
        public var assessment: Crm_Profiles_V1_SuitabilityAssessment?
        public var numbers: [Double]
        public var categories: [String]
        public var classes: [String]
        public var asOf: Crm_Common_V1_Date

        public init(customer: Crm_Profiles_V1_Customer, assessment: Crm_Profiles_V1_SuitabilityAssessment?, numbers: [Double],
                    categories: [String], classes: [String], asOf: Crm_Common_V1_Date) {
            self.customer = customer
            self.assessment = assessment
            self.numbers = numbers
            self.categories = categories
            self.classes = classes
            self.asOf = asOf
        }
    }

    /// The classification schemes' names in the order ``Seed/classes`` follows.
    public static var schemeNames: [String] { DimensionsView.schemeNames }

    /// Writes the seeds in one transaction (call with a few thousand at a time).
    public static func write(_ seeds: [Seed], into database: DatabasePool) async throws {
        try await database.write { db in
            for seed in seeds {
                let id = seed.customer.customerID
                try CustomerStore.seed(db, seed.customer)
                try ChangeLog.append(db, kind: .customerCreated, customerID: id) { $0.customer = seed.customer }
                if var assessment = seed.assessment {
                    assessment.sequence = 1
                    try db.cachedStatement(sql: "INSERT INTO assessment (customer_id, sequence, body) VALUES (?, 1, ?)")
                        .execute(arguments: [id, try assessment.serializedBytes() as Data])
                    try ChangeLog.append(db, kind: .reassessed, customerID: id) { $0.assessment = assessment }
                }
                let asOf = Days.day(year: seed.asOf.year, month: seed.asOf.month, day: seed.asOf.day)
                let stored = StoredDimensions(asOf: asOf, numbers: seed.numbers, categories: seed.categories, classes: seed.classes)
                try StoredDimensions.write(db, customerID: id, stored)
                let delta = stored.message(customerID: id, schemes: schemeNames, since: nil, positional: true)
                try ChangeLog.append(db, kind: .dimensionsChanged, customerID: id) { $0.dimensions = delta }
            }
        }
    }
}

extension StoreSeeding {
    /// Events of every kind, as the ingestion requests carry them, for ``appendEvents(_:into:)``.
    public struct Events: Sendable {
        public var trades: [Crm_Profiles_V1_TradeEvent] = []
        public var fundTransfers: [Crm_Profiles_V1_FundTransferEvent] = []
        public var dailyPositions: [Crm_Profiles_V1_DailyPositionEvent] = []
        public var marginAccounts: [Crm_Profiles_V1_MarginAccountEvent] = []
        public var marginInterest: [Crm_Profiles_V1_MarginInterestEvent] = []
        public var serviceContacts: [Crm_Profiles_V1_ServiceContactEvent] = []
        public var productViews: [Crm_Profiles_V1_ProductViewEvent] = []

        public init() {}

        public var count: Int {
            trades.count + fundTransfers.count + dailyPositions.count + marginAccounts.count + marginInterest.count
                + serviceContacts.count + productViews.count
        }

        /// The events grouped by a key of their customer (the partition, for a process keeping a
        /// file per partition), each group in the order given.
        func split(by key: (String) -> Int) -> [Int: Events] {
            var parts: [Int: Events] = [:]
            for event in trades { parts[key(event.customerID), default: Events()].trades.append(event) }
            for event in fundTransfers { parts[key(event.customerID), default: Events()].fundTransfers.append(event) }
            for event in dailyPositions { parts[key(event.customerID), default: Events()].dailyPositions.append(event) }
            for event in marginAccounts { parts[key(event.customerID), default: Events()].marginAccounts.append(event) }
            for event in marginInterest { parts[key(event.customerID), default: Events()].marginInterest.append(event) }
            for event in serviceContacts { parts[key(event.customerID), default: Events()].serviceContacts.append(event) }
            for event in productViews { parts[key(event.customerID), default: Events()].productViews.append(event) }
            return parts
        }
    }

    /// Appends `events` to the event log in one transaction through one prepared INSERT: the rows
    /// ingestion would write (``EventMapping``, the same checks of each event's fields), without
    /// the per-batch checks of its customers (they must exist already: seed them first) and
    /// without waking the dimension updater (it folds what it has not seen when it next runs, e.g.
    /// at the service's start or through `updateDimensions()`). An event already stored (same kind
    /// and idempotency key) is skipped, as ingestion skips it. For building large worlds: through
    /// the RPCs a year of history loads at about 23,000 events a second. Returns the events added.
    @discardableResult
    public static func appendEvents(_ events: Events, into database: DatabasePool) async throws -> Int {
        var rows: [StoredEvent] = []
        rows.reserveCapacity(events.count)
        // In request-sized pieces (a request holds 1 to EventConversion.maxBatch events).
        func add<Event>(_ all: [Event], _ map: ([Event]) throws -> [StoredEvent]) throws {
            for start in stride(from: 0, to: all.count, by: EventConversion.maxBatch) {
                rows += try map(Array(all[start..<min(all.count, start + EventConversion.maxBatch)]))
            }
        }
        // Kind by kind, in the order the world loader sends them.
        try add(events.trades) { batch in try EventMapping.stored(Crm_Profiles_V1_IngestTradesRequest.with { $0.events = batch }) }
        try add(events.fundTransfers) { batch in try EventMapping.stored(Crm_Profiles_V1_IngestFundTransfersRequest.with { $0.events = batch }) }
        try add(events.dailyPositions) { batch in try EventMapping.stored(Crm_Profiles_V1_IngestDailyPositionsRequest.with { $0.events = batch }) }
        try add(events.marginAccounts) { batch in try EventMapping.stored(Crm_Profiles_V1_IngestMarginAccountsRequest.with { $0.events = batch }) }
        try add(events.marginInterest) { batch in try EventMapping.stored(Crm_Profiles_V1_IngestMarginInterestRequest.with { $0.events = batch }) }
        try add(events.serviceContacts) { batch in try EventMapping.stored(Crm_Profiles_V1_IngestServiceContactsRequest.with { $0.events = batch }) }
        try add(events.productViews) { batch in try EventMapping.stored(Crm_Profiles_V1_IngestProductViewsRequest.with { $0.events = batch }) }
        let batch = rows
        return try await database.write { db in
            let insert = try db.makeStatement(
                sql: "INSERT OR IGNORE INTO event (kind, idempotency_key, customer_id, day, at_millis, body) VALUES (?, ?, ?, ?, ?, ?)"
            )
            var added = 0
            for event in batch {
                try insert.execute(arguments: [event.kind.rawValue, event.key, event.customerID, event.day, event.atMillis, Data(event.body)])
                added += db.changesCount
            }
            return added
        }
    }
}

extension CustomerStore {
    /// A new customer's row and its first status entry (for ``StoreSeeding``).
    static func seed(_ db: Database, _ customer: Customer) throws {
        try write(db, customer)
        try recordStatus(db, id: customer.customerID, from: .unspecified, to: customer.status, reason: "created", by: "seed",
                         at: customer.updatedAt.unixMillis)
    }
}

import CRMStore
import CRMSuitability
import Foundation
import GRDB
import Synchronization

/// What a customer's suitability profile could buy of each product family on a day: how many of
/// the family's products on sale MATCH it, and the log of their summed utilities under the
/// model's choice model (``ProductChoice``; empty when there is none). Pair features of the
/// family model.
struct FamilyAvailability: Sendable, Equatable {
    var counts: [Float]
    var choiceValues: [Float]

    static let none = FamilyAvailability(counts: [], choiceValues: [])
}

/// What one month's rows are built from, the same for training and for the held-out evaluation:
/// each customer's dimensions at the end of the month before (profiles' point-in-time snapshot),
/// their behaviour before the month's first instant (matching's copy of views, contacts and
/// orders), and which families had a product on sale that MATCHed them on the month's first day.
/// Nothing from the month itself or later is read, so a row cannot leak its own label. Training
/// and evaluation get it a block of customers at a time (``stream(_:database:blockSize:_:)``), so
/// a month of a large book is never held whole.
struct MonthRows: Sendable {
    let month: BusinessMonth
    /// The month's first instant (00:00 Beijing on its first day), unix millis.
    let start: Int64
    let rows: [SnapshotRow]
    let behaviour: [String: [BehaviourEvent]]
    /// Per row: bit f set when family f had a product on sale that MATCHed the customer on the
    /// month's first day; 0 for a customer the replica does not hold or who could buy nothing.
    let sellable: [UInt16]
    /// Per row: the customer's suitability profile code in the replica (nil when not held).
    let profiles: [UInt32?]
    /// Per profile code: what it could buy of each family on the first day.
    let available: [UInt32: FamilyAvailability]

    /// Which customers a month's rows are built for and what each could buy, a few bytes a
    /// customer: the month-end snapshot's customers in order, each one's suitability profile and
    /// sellable families (enough to size the negatives' sample before any row is built). The rows'
    /// inputs themselves, a few hundred bytes a customer plus their behaviour events, are streamed
    /// by ``stream(_:database:blockSize:_:)``.
    struct Plan: Sendable {
        let month: BusinessMonth
        /// The month's first instant (00:00 Beijing on its first day), unix millis.
        let start: Int64
        /// The snapshot's customers, in the store's order (customer id, byte order).
        let customerIDs: [String]
        let profiles: [UInt32?]
        let sellable: [UInt16]
        let available: [UInt32: FamilyAvailability]
        /// Product code → family, to resolve behaviour rows stored without one.
        let families: [String: Int?]

        /// The (customer, family) cells that can be sold at the month's start.
        var sellableCells: Int {
            sellable.reduce(0) { $0 + $1.nonzeroBitCount }
        }
    }

    /// The month's plan; `choice` (the model's within-family choice) values what each profile
    /// could buy (``FamilyAvailability/choiceValues``), left missing without one.
    static func plan(_ month: BusinessMonth, replica: Replica, choice: ProductChoice?) async throws -> Plan {
        let start = BusinessDays.millis(ofDay: month.firstDay)
        let families = replica.memory.withLock { memory in memory.catalog.mapValues(\.family) }
        let ids = try await replica.database.read { db in
            try SnapshotStore.customerIDs(db, asOf: month.previous.lastDay)
        }
        let (profiles, available) = replica.memory.withLock { memory in memory.availableProducts(customerIDs: ids, day: month.firstDay, choice: choice) }
        return Plan(month: month, start: start, customerIDs: ids, profiles: profiles,
                    sellable: sellableFamilies(profiles: profiles, available: available), available: available, families: families)
    }

    /// Per customer: bit f set when family f had a product on sale that MATCHed their profile.
    static func sellableFamilies(profiles: [UInt32?], available: [UInt32: FamilyAvailability]) -> [UInt16] {
        profiles.map { profile in
            profile.flatMap { available[$0] }.map { availability in
                availability.counts.indices.reduce(UInt16(0)) { mask, family in availability.counts[family] > 0 ? mask | (1 << UInt16(family)) : mask }
            } ?? 0
        }
    }

    /// The month's inputs, `blockSize` customers at a time in the plan's order, each block a
    /// ``MonthRows`` of its own customers (its positions count from the block's first). A
    /// month at a million customers is a million snapshot rows and several million behaviour
    /// events, about 1 GB held whole; streamed, the replica holds one block, and SQLite sorts the
    /// month's behaviour rows by customer (spilling to a temporary file beyond its cache) so they
    /// are read beside the snapshot's rows in one pass. Each block's rows are those the whole
    /// month gives for the same customers: the same snapshot rows and, per customer, the same
    /// events in the same order (``BehaviourStore/byCustomer(_:reaching:until:family:)``).
    ///
    /// Runs in one read transaction on the calling thread (the rows are built synchronously as
    /// the blocks arrive); cancelling the task stops it at the next block. The read passes over
    /// the month once, so its connection's page cache (and with it the sorter's memory) is held to
    /// `pageCacheKiB` and handed back at the end (``GRDB/Database/withPageCache(kibibytes:_:)``).
    static func stream(_ plan: Plan, database: DatabasePool, blockSize: Int = 10_000, pageCacheKiB: Int = 8_192,
                       _ visit: (MonthRows) throws -> Void) throws {
        try database.read { db in try db.withPageCache(kibibytes: pageCacheKiB) {
            let snapshots = try SnapshotStore.cursor(db, asOf: plan.month.previous.lastDay)
            var behaviour = try BehaviourStore.CustomerOrder(db, reaching: plan.start, until: plan.start) { plan.families[$0] ?? nil }
            var position = 0
            while position < plan.customerIDs.count {
                try Task.checkCancellation()
                let end = min(plan.customerIDs.count, position + max(1, blockSize))
                var rows: [SnapshotRow] = []
                rows.reserveCapacity(end - position)
                var events: [String: [BehaviourEvent]] = [:]
                while position + rows.count < end, let row = try snapshots.next() {
                    guard row.customerID == plan.customerIDs[position + rows.count] else { throw SnapshotRow.SnapshotError.changed }
                    let own = try behaviour.events(of: row.customerID)
                    if !own.isEmpty { events[row.customerID] = own }
                    rows.append(row)
                }
                guard position + rows.count == end else { throw SnapshotRow.SnapshotError.changed }
                try visit(MonthRows(month: plan.month, start: plan.start, rows: rows, behaviour: events,
                                    sellable: Array(plan.sellable[position..<end]), profiles: Array(plan.profiles[position..<end]),
                                    available: plan.available))
                position = end
            }
        } }
    }

    /// The behaviour features of row `index` at the month's start.
    func behaviourFeatures(_ index: Int) -> [Float] {
        BehaviourFeatures.compute(behaviour[rows[index].customerID] ?? [], at: start)
    }

    /// The feature row of row `index` for `family` (behaviour computed when the space reads it).
    func features(_ index: Int, family: Int, space: FeatureSpace, behaviour: [Float]? = nil) -> [Float] {
        let values = behaviour ?? (space.readsBehaviour ? behaviourFeatures(index) : [])
        return rows[index].features(family: family, space: space, behaviour: values, available: profiles[index].flatMap { available[$0] } ?? .none)
    }

    func isSellable(_ index: Int, family: Int) -> Bool {
        sellable[index] & (1 << UInt16(family)) != 0
    }

    /// Visits the month's training rows: every sellable (customer, family) cell whose customer
    /// bought from the family in the month (`positives`), and of the others those the seeded
    /// sample keeps (a share `keep`, each weighted 1 / keep), with the row's features in `space`.
    /// `positions` limits the visit to those rows (all by default).
    func forEachRow(space: FeatureSpace, positives: Set<ModelTrainer.FamilyPurchase>, keep: Double, seed: UInt64, positions: Range<Int>? = nil,
                    _ visit: (_ position: Int, _ family: Int, _ label: Bool, _ weight: Float, _ features: [Float]) throws -> Void) rethrows {
        for position in positions ?? rows.indices where sellable[position] != 0 {
            let row = rows[position]
            var behaviour: [Float]?
            for family in 0..<ProductFamilies.count where isSellable(position, family: family) {
                let label = positives.contains(ModelTrainer.FamilyPurchase(customer: row.customerID, family: family))
                var weight: Float = 1
                if !label {
                    guard ModelTrainer.unitHash(row.customerID, family, month, seed) < keep else { continue }
                    weight = Float(1 / keep)
                }
                let values = behaviour ?? (space.readsBehaviour ? behaviourFeatures(position) : [])
                behaviour = values
                try visit(position, family, label, weight, features(position, family: family, space: space, behaviour: values))
            }
        }
    }
}

extension MonthRows {
    /// A training row as ``forEachRow(space:positives:keep:seed:positions:_:)`` visits it.
    struct Row: Sendable {
        let label: Bool
        let weight: Float
        let features: [Float]
    }

    /// The rows ``forEachRow(space:positives:keep:seed:positions:_:)`` visits, in its order, built
    /// on `workers` threads (``inShares(workers:minimumShare:_:)``). Building a row (its behaviour
    /// features, the pair features, the sample's hash) is most of a month's rows' CPU, and each row
    /// depends only on its own customer and family, so the shares can be built apart and put back
    /// in order: the same rows, on every core the machine has.
    func rows(space: FeatureSpace, positives: Set<ModelTrainer.FamilyPurchase>, keep: Double, seed: UInt64, workers: Int,
              minimumShare: Int = 256) -> [Row] {
        inShares(workers: workers, minimumShare: minimumShare) { positions in
            var built: [Row] = []
            forEachRow(space: space, positives: positives, keep: keep, seed: seed, positions: positions) { _, _, label, weight, features in
                built.append(Row(label: label, weight: weight, features: features))
            }
            return built
        }.flatMap { $0 }
    }

    /// `build` run over contiguous shares of the block's rows on `workers` threads, the results in
    /// the shares' order (one share, on the calling thread, for a block of fewer than
    /// `minimumShare` rows a worker: a thread costs more than a few rows).
    func inShares<Part: Sendable>(workers: Int, minimumShare: Int = 256, _ build: @escaping @Sendable (Range<Int>) -> Part) -> [Part] {
        let workers = max(1, min(workers, rows.count / max(1, minimumShare)))
        guard workers > 1 else { return [build(rows.indices)] }
        let parts = Mutex<[Part?]>(Array(repeating: nil, count: workers))
        let size = (rows.count + workers - 1) / workers
        let count = rows.count
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let built = build(min(count, worker * size)..<min(count, (worker + 1) * size))
            parts.withLock { $0[worker] = built }
        }
        return parts.withLock { $0.compactMap { $0 } }
    }
}

extension ReplicaMemory {
    /// For each customer, their suitability profile code (nil for a customer not in the copy or
    /// whose assessment had expired by `day`), and per profile what it could buy of each family
    /// on `day`. Target rules are left out: they are a campaign's choice of audience, not whether
    /// the customer may buy.
    ///
    /// `day` is a past month's first day, and the copy holds only each customer's latest
    /// assessment: it stands for the one in force then, so only its expiry is checked. A latest
    /// assessment made after `day` is usually a renewal of one that was in force on it; counting
    /// it as none (as a live decision does) would drop every customer who renewed since from
    /// training and evaluation.
    func availableProducts(customerIDs: [String], day: Int32, choice: ProductChoice?) -> (profiles: [UInt32?], available: [UInt32: FamilyAvailability]) {
        let onSale = catalog.values.filter { $0.family != nil && $0.isOnSale(today: day) }
        var available: [UInt32: FamilyAvailability] = [:]
        var profiles: [UInt32?] = []
        profiles.reserveCapacity(customerIDs.count)
        for id in customerIDs {
            guard let row = customers.row(of: id), assessmentWindowOfRow[Int(row)].through >= day else {
                profiles.append(nil)
                continue
            }
            let profile = keyOfRow[Int(row)]
            if available[profile] == nil { available[profile] = availability(facts: keys.profiles[Int(profile)], day: day, onSale: onSale, choice: choice) }
            profiles.append(profile)
        }
        return (profiles, available)
    }

    /// What a customer with `facts` could buy of each family among `onSale` on `day`.
    func availability(facts: SuitabilityCustomer, day: Int32, onSale: [CatalogEntry], choice: ProductChoice?) -> FamilyAvailability {
        var counts = [Float](repeating: 0, count: ProductFamilies.count)
        var utilities = [Double](repeating: 0, count: ProductFamilies.count)
        for entry in onSale where rules.matches(customer: facts, product: entry.facts, today: day) {
            guard let family = entry.family else { continue }
            counts[family] += 1
            if choice != nil { utilities[family] += utility(of: entry, facts: facts, today: day, choice: choice) }
        }
        return FamilyAvailability(counts: counts, choiceValues: choice == nil ? [] : utilities.map { $0 > 0 ? Float(log($0)) : .nan })
    }

    /// The products of `family` on sale on `day` that MATCH the profile, by product code: the
    /// choices a customer of that profile had when buying from the family.
    func choiceSet(profile: UInt32, family: Int, day: Int32) -> [CatalogEntry] {
        catalog.values
            .filter { $0.family == family && $0.isOnSale(today: day) && rules.matches(customer: keys.profiles[Int(profile)], product: $0.facts, today: day) }
            .sorted { $0.product.productCode < $1.product.productCode }
    }
}

import CRMSuitability
import GRDB

/// What one month's rows are built from, the same for training and for the held-out evaluation:
/// each customer's dimensions at the end of the month before (profiles' point-in-time snapshot),
/// their behaviour before the month's first instant (matching's copy of views, contacts and
/// orders), and which families had a product on sale that MATCHed them on the month's first day.
/// Nothing from the month itself or later is read, so a row cannot leak its own label.
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

    static func load(_ month: BusinessMonth, replica: Replica) async throws -> MonthRows {
        let start = BusinessCalendar.millis(ofDay: month.firstDay)
        let catalogue = replica.memory.withLock { memory in memory.catalog.mapValues(\.family) }
        let (rows, behaviour) = try await replica.database.read { db in
            (try SnapshotStore.rows(db, asOf: month.previous.lastDay),
             try BehaviourStore.byCustomer(db, reaching: start, until: start) { catalogue[$0] ?? nil })
        }
        let ids = rows.map(\.customerID)
        let (sellable, profiles) = replica.memory.withLock { memory in memory.sellableFamilies(customerIDs: ids, day: month.firstDay) }
        return MonthRows(month: month, start: start, rows: rows, behaviour: behaviour, sellable: sellable, profiles: profiles)
    }

    /// The behaviour features of row `index` at the month's start.
    func behaviourFeatures(_ index: Int) -> [Float] {
        BehaviourFeatures.compute(behaviour[rows[index].customerID] ?? [], at: start)
    }

    func isSellable(_ index: Int, family: Int) -> Bool {
        sellable[index] & (1 << UInt16(family)) != 0
    }

    /// The (customer, family) cells that can be sold at the month's start: the training rows
    /// before negatives are sampled.
    var sellableCells: Int {
        sellable.reduce(0) { $0 + $1.nonzeroBitCount }
    }

    /// Visits the month's training rows: every sellable (customer, family) cell whose customer
    /// bought from the family in the month (`positives`), and of the others those the seeded
    /// sample keeps (a share `keep`, each weighted 1 / keep), with the row's features in `space`.
    func forEachRow(space: FeatureSpace, positives: Set<ModelTrainer.FamilyPurchase>, keep: Double, seed: UInt64,
                    _ visit: (_ position: Int, _ family: Int, _ label: Bool, _ weight: Float, _ features: [Float]) throws -> Void) rethrows {
        for (position, row) in rows.enumerated() where sellable[position] != 0 {
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
                try visit(position, family, label, weight, row.features(family: family, space: space, behaviour: values))
            }
        }
    }
}

extension ReplicaMemory {
    /// For each customer, the families with a product on sale on `day` that MATCHes them (as a bit
    /// set), and their suitability profile code; 0 and nil for a customer not in the copy or whose
    /// assessment no longer covers `day`. Target rules are left out: they are a campaign's choice
    /// of audience, not whether the customer may buy.
    func sellableFamilies(customerIDs: [String], day: Int32) -> (masks: [UInt16], profiles: [UInt32?]) {
        let onSale = catalog.values.filter { $0.family != nil && $0.isOnSale(today: day) }
        var maskOfProfile: [UInt32: UInt16] = [:]
        var masks: [UInt16] = []
        var profiles: [UInt32?] = []
        masks.reserveCapacity(customerIDs.count)
        profiles.reserveCapacity(customerIDs.count)
        for id in customerIDs {
            guard let row = customers.row(of: id), expiryOfRow[Int(row)] >= day else {
                masks.append(0)
                profiles.append(nil)
                continue
            }
            let profile = keyOfRow[Int(row)]
            let mask = maskOfProfile[profile] ?? {
                var mask: UInt16 = 0
                for entry in onSale where rules.matches(customer: keys.profiles[Int(profile)], product: entry.facts, today: day) {
                    if let family = entry.family { mask |= 1 << UInt16(family) }
                }
                maskOfProfile[profile] = mask
                return mask
            }()
            masks.append(mask)
            profiles.append(profile)
        }
        return (masks, profiles)
    }

    /// The products of `family` on sale on `day` that MATCH the profile, by product code: the
    /// choices a customer of that profile had when buying from the family.
    func choiceSet(profile: UInt32, family: Int, day: Int32) -> [CatalogEntry] {
        catalog.values
            .filter { $0.family == family && $0.isOnSale(today: day) && rules.matches(customer: keys.profiles[Int(profile)], product: $0.facts, today: day) }
            .sorted { $0.product.productCode < $1.product.productCode }
    }
}

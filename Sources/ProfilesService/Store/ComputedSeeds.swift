import CRMProtos
import CustomerDimensions
import Foundation
import GRDB

/// Seeds for ``StoreSeeding`` whose dimensions and classes are the service's own: computed by the
/// dimension engine and the classifier for a customer with no events yet, as the dimension updater
/// computes them after a customer is created. A benchmark that seeds a million customers this way
/// and then ingests their events through the RPCs measures the state the service really reaches
/// (``StoreSeeding`` alone writes whatever values it is given).
public struct ComputedSeeds: Sendable {
    let classifier: Classifier

    /// Uses the classification settings the service is started with (the defaults when empty).
    public init(settings: [String: String] = [:]) throws {
        classifier = try Classifier(configuration: ClassificationConfiguration(settings: settings))
    }

    /// The seed of `customer` (and its only assessment, if any) with the dimensions and classes the
    /// updater computes for it, with no events, on the business date `asOf`.
    public func seed(customer: Crm_Profiles_V1_Customer, assessment: Crm_Profiles_V1_SuitabilityAssessment?, asOf: Crm_Common_V1_Date) -> StoreSeeding.Seed {
        let day = Days.day(year: asOf.year, month: asOf.month, day: asOf.day)
        let facts = DimensionUpdater.facts(customer: customer, assessment: assessment)
        let values = DimensionEngine.compute(ledger: CustomerLedger(), customer: facts, asOf: day)
        let stored = StoredDimensions.aligned(values, classes: classifier.classes(values, customer: facts))
        return StoreSeeding.Seed(customer: customer, assessment: assessment, numbers: stored.numbers, categories: stored.categories,
                                 classes: stored.classes, asOf: asOf)
    }

    /// Records that the dimension updater has applied every change in the store so far and that the
    /// business date is `asOf`: the checkpoint the updater itself leaves after folding the seeded
    /// customers' creation. Without it the updater would recompute every seeded customer once more at
    /// start, finding the same values (a test checks that they are the same).
    /// Only for seeds from ``seed(customer:assessment:asOf:)`` on the same `asOf`.
    public static func markFolded(_ database: DatabasePool, asOf: Crm_Common_V1_Date) async throws {
        let day = Days.day(year: asOf.year, month: asOf.month, day: asOf.day)
        try await database.write { db in
            let last = try ChangeLog.lastSequence(db)
            try db.execute(
                sql: "UPDATE dimension_checkpoint SET last_change_sequence = ?, business_day = MAX(business_day, ?) WHERE id = 1",
                arguments: [Int64(clamping: last), day]
            )
        }
    }
}

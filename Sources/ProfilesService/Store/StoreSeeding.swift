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

extension CustomerStore {
    /// A new customer's row and its first status entry (for ``StoreSeeding``).
    static func seed(_ db: Database, _ customer: Customer) throws {
        try write(db, customer)
        try recordStatus(db, id: customer.customerID, from: .unspecified, to: customer.status, reason: "created", by: "seed",
                         at: customer.updatedAt.unixMillis)
    }
}

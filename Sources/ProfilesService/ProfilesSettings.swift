import CRMPartitions
import CRMServiceHost
import CustomerDimensions

/// The profiles service's own settings (`settings` in services/profiles/config.json), validated at
/// start-up; the classification schemes' keys (`asset_tier.thresholds`, …) are read and checked by
/// ``ClassificationConfiguration``:
/// - `assessment.validity_years`: an assessment without an expiry is valid this long (2);
/// - `snapshot.page`: customers per page of StreamSnapshot (the feed snapshot's default);
/// - `partitions.count`: the firm's number of logical partitions (64), recorded in the store at the
///   first start and fixed from then on (``PartitioningRecord``, docs/partitioning.md);
/// - `partitions.topology`: the topology file holding the partition map (absent: this process owns
///   every partition) and `partitions.owner`: this process's name in it (``PartitionRouting``);
/// - `partitions.business_day_interval_ms`: how often a process sharing the partitions with others
///   asks them for their business day (5,000 ms; 10 ms to 1 hour; ``BusinessDayGossip``);
/// - `partitions.storage`: `one-file` (every owned partition in the process's store) or
///   `file-per-partition` (a file per owned partition beside it); unset, the store's own layout,
///   and a file per partition for a new store (``PartitionStorage/resolve(_:store:storePath:)``).
struct ProfilesSettings: Sendable {
    var assessmentValidityYears: Int32 = 2
    var snapshotPage = FeedSnapshot.page
    var partitioning: Partitioning
    var topologyPath: String?
    var ownerName: String?
    /// A day moves on once a day, at the first event after Beijing midnight: a few seconds of delay
    /// before a peer's windows follow are well inside the updater's own staleness, and one tiny call
    /// per peer every 5 s costs nothing measurable.
    var businessDayInterval: Duration = .milliseconds(5_000)
    /// As configured; nil keeps the store's own layout (a new store: a file per partition).
    var storage: PartitionStorage?

    init(_ settings: [String: String]) throws {
        let reader = SettingsReader(settings)
        let schemePrefixes = Set(ClassificationConfiguration.keys.compactMap { $0.split(separator: ".").first.map(String.init) })
        try reader.refuseUnknown(known: [
            "assessment.validity_years", "snapshot.page", "partitions.count", "partitions.topology", "partitions.owner",
            "partitions.business_day_interval_ms", "partitions.storage",
        ], prefixes: schemePrefixes)
        assessmentValidityYears = Int32(try reader.integer("assessment.validity_years", default: 2, in: 1...10))
        snapshotPage = try reader.integer("snapshot.page", default: FeedSnapshot.page, in: 1...100_000)
        let count = try reader.integer("partitions.count", default: Partitioning.defaultCount, in: Partitioning.counts)
        partitioning = try Partitioning(count: count)
        topologyPath = settings["partitions.topology"].flatMap { $0.isEmpty ? nil : $0 }
        ownerName = settings["partitions.owner"].flatMap { $0.isEmpty ? nil : $0 }
        businessDayInterval = try reader.milliseconds("partitions.business_day_interval_ms", default: 5_000, in: 10...3_600_000)
        if let value = settings["partitions.storage"], !value.isEmpty {
            guard let storage = PartitionStorage(rawValue: value) else {
                throw ConfigurationError("partitions.storage is \(value); it must be one of "
                    + PartitionStorage.allCases.map(\.rawValue).joined(separator: ", "))
            }
            self.storage = storage
        }
    }
}

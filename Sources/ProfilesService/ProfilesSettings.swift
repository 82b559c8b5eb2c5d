import CRMServiceHost
import CustomerDimensions

/// The profiles service's own settings (`settings` in services/profiles/config.json), validated at
/// start-up; the classification schemes' keys (`asset_tier.thresholds`, …) are read and checked by
/// ``ClassificationConfiguration``:
/// - `assessment.validity_years`: an assessment without an expiry is valid this long (2);
/// - `snapshot.page`: customers per page of StreamSnapshot (the feed snapshot's default).
struct ProfilesSettings: Sendable {
    var assessmentValidityYears: Int32 = 2
    var snapshotPage = FeedSnapshot.page

    init(_ settings: [String: String]) throws {
        let reader = SettingsReader(settings)
        let schemePrefixes = Set(ClassificationConfiguration.keys.compactMap { $0.split(separator: ".").first.map(String.init) })
        try reader.refuseUnknown(known: ["assessment.validity_years", "snapshot.page"], prefixes: schemePrefixes)
        assessmentValidityYears = Int32(try reader.integer("assessment.validity_years", default: 2, in: 1...10))
        snapshotPage = try reader.integer("snapshot.page", default: FeedSnapshot.page, in: 1...100_000)
    }
}

import CRMServiceHost

/// The matching service's settings (`settings` in services/matching/config.json), validated at
/// start-up:
/// - `assessment.validity_years`: an assessment without an expiry is valid this long (2);
/// - `feed.page`: changes asked of a feed per call (2000);
/// - `feed.interval_ms`: how long a caught-up follower waits before asking again (200);
/// - `feed.wait_ms`: how long profiles (and products) may hold a caught-up follower's read open
///   for the next change or event (10000; 0 = poll every `feed.interval_ms`; at most 60000): one call per quiet
///   feed per wait instead of one per interval, and an entry read as soon as it commits;
/// - `feed.snapshot_page`: customers per page of profiles' snapshot (5000);
/// - `model.sync_seconds`: how often the newest model is asked of sibling replicas (10);
/// - `model.max_rows`: TrainModel's row budget, training and validation rows together (3,000,000):
///   beyond it fewer negatives are kept per positive, every positive stays;
/// - `model.snapshot_page`: customers per call when TrainModel fetches a month-end snapshot from
///   profiles (20000); profiles reads its event log once per call, so larger pages mean fewer reads;
/// - `model.snapshot_days_per_call`: month-ends asked for in one call (100): profiles folds each
///   customer's events once for all of them; 1 asks one month-end a call, as before `as_of_days`;
/// - `model.snapshot_calls`: with profiles keeping a file per partition, month-ends are fetched a
///   partition at a time (each call reads that partition's file alone), this many calls at once (2):
///   profiles answers each on a core of its own;
/// - `groups.topology`: the topology file whose `matching_groups` split the customers among groups
///   of replicas (absent: this replica holds every customer) (``ReplicaGroups``);
/// - `groups.replica`: this replica's `host:port` as `matching_groups` lists it (default: the
///   configured host and port).
struct MatchingSettings: Sendable {
    var assessmentValidityYears = 2
    var feedPage = 2_000
    var feedInterval: Duration = .milliseconds(200)
    /// Nil: poll profiles' feeds every interval instead of waiting reads.
    var feedWait: Duration? = .seconds(10)
    var snapshotPage = 5_000
    var modelSync: Duration = .seconds(10)
    var maxTrainingRows = 3_000_000
    var monthEndPage = 20_000
    var monthEndsPerCall = 100
    var monthEndCalls = 2
    var groupsTopology: String?
    var groupsReplica: String?

    init(_ settings: [String: String]) throws {
        let reader = SettingsReader(settings)
        try reader.refuseUnknown(known: ["assessment.validity_years", "feed.page", "feed.interval_ms", "feed.wait_ms", "feed.snapshot_page", "model.sync_seconds",
                                         "model.max_rows", "model.snapshot_page", "model.snapshot_days_per_call", "model.snapshot_calls",
                                         "groups.topology", "groups.replica"])
        assessmentValidityYears = try reader.integer("assessment.validity_years", default: 2, in: 1...10)
        feedPage = try reader.integer("feed.page", default: 2_000, in: 1...100_000)
        feedInterval = try reader.milliseconds("feed.interval_ms", default: 200, in: 1...3_600_000)
        let wait = try reader.integer("feed.wait_ms", default: 10_000, in: 0...60_000)
        feedWait = wait == 0 ? nil : .milliseconds(wait)
        snapshotPage = try reader.integer("feed.snapshot_page", default: 5_000, in: 1...100_000)
        modelSync = try reader.seconds("model.sync_seconds", default: 10, in: 1...86_400)
        maxTrainingRows = try reader.integer("model.max_rows", default: 3_000_000, in: 10_000...50_000_000)
        monthEndPage = try reader.integer("model.snapshot_page", default: 20_000, in: 1_000...200_000)
        monthEndsPerCall = try reader.integer("model.snapshot_days_per_call", default: 100, in: 1...100)
        monthEndCalls = try reader.integer("model.snapshot_calls", default: 2, in: 1...16)
        groupsTopology = settings["groups.topology"].flatMap { $0.isEmpty ? nil : $0 }
        groupsReplica = settings["groups.replica"].flatMap { $0.isEmpty ? nil : $0 }
    }
}

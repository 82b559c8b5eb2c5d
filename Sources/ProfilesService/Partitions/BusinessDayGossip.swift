import CRMPrimitives
import CRMProtos
import CRMRPC
import CustomerDimensions
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// Keeps this process's business day the firm's when several profiles processes share the
/// partitions (docs/partitioning.md §2).
///
/// Window dimensions (trades_30d, the 90-day average assets, …) end on the business day, the newest
/// event day seen. Each process sees only its own customers' events, so without this two owners
/// could compute the same customer's windows for different days. At start and every
/// `partitions.business_day_interval_ms`, this asks every other owner's `GetPartitionMap` for its
/// business day and hands the newest to the updater, which adopts it when it is newer than its own
/// and recomputes the customers computed for an earlier day. Every owner publishes the maximum of
/// its own and what it adopted, so after one round each owner holds the maximum over all owners (a
/// maximum of maxima); it is never lowered.
///
/// An owner that cannot be reached is simply asked again next round (its day is also in its
/// customers' events, which nobody else holds): the process keeps serving with the day it has, one
/// day behind at worst, the staleness the updater has anyway between an event and its fold.
final class BusinessDayGossip: Service, Sendable {
    let routing: PartitionRouting
    let updater: any BusinessDayKeeper
    let interval: Duration
    let logger: Logger
    /// What each peer last answered: its day, or why it could not be asked.
    private let peers = Mutex<[String: Result<DayNumber?, GossipFailure>]>([:])
    /// Each peer's last answered ``SettingsDigest`` (empty: an older version that does not give one).
    private let digests = Mutex<[String: String]>([:])

    struct GossipFailure: Error {
        let reason: String
    }

    /// How long one peer may take to answer: well under the default interval, so a peer that went
    /// away does not hold up a round for long.
    static let askTimeout: TimeAmount = .seconds(3)

    init(routing: PartitionRouting, updater: any BusinessDayKeeper, interval: Duration, logger: Logger) {
        self.routing = routing
        self.updater = updater
        self.interval = interval
        self.logger = logger
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.round()
                do { try await Task.sleep(for: self.interval) } catch { return }
            }
        }
    }

    /// Asks every other owner at once and adopts the newest day answered. Returns that day (nil when
    /// no owner answered one).
    @discardableResult
    func round() async -> (day: DayNumber, owner: String)? {
        let routing = self.routing
        let answers = await withTaskGroup(of: (String, Result<DayNumber?, GossipFailure>).self) { group in
            for owner in routing.otherOwners {
                group.addTask {
                    do {
                        let map = try await routing.partitionMap(of: owner, timeout: Self.askTimeout)
                        self.note(digest: map.settingsDigest, of: owner)
                        guard map.hasBusinessDay else { return (owner, .success(nil)) }
                        guard let day = map.businessDay.calendarDay else {
                            return (owner, .failure(GossipFailure(reason: "answered business_day \(map.businessDay.isoString), not a calendar date")))
                        }
                        return (owner, .success(day.daysSince1970))
                    } catch {
                        return (owner, .failure(GossipFailure(reason: (error as? RPCError)?.message ?? "\(error)")))
                    }
                }
            }
            var answers: [(String, Result<DayNumber?, GossipFailure>)] = []
            for await answer in group { answers.append(answer) }
            return answers
        }
        peers.withLock { peers in
            for (owner, answer) in answers { peers[owner] = answer }
        }
        var newest: (day: DayNumber, owner: String)?
        for case (let owner, .success(let day?)) in answers.sorted(by: { $0.0 < $1.0 }) where day > (newest?.day ?? 0) {
            newest = (day, owner)
        }
        if let newest {
            do {
                try await updater.adopt(newest.day, from: newest.owner)
            } catch {
                logger.warning("could not adopt a partition owner's business day", metadata: ["owner": "\(newest.owner)", "error": "\(error)"])
            }
        }
        for case (let owner, .failure(let failure)) in answers {
            logger.debug("partition owner not asked for its business day", metadata: ["owner": "\(owner)", "reason": "\(failure.reason)"])
        }
        return newest
    }

    /// Keeps what `owner` said its settings digest is, and says so once in the log when it differs
    /// from this process's (each forwarded call between the two is refused until they agree).
    private func note(digest: String, of owner: String) {
        let previous = digests.withLock { digests in
            defer { digests[owner] = digest }
            return digests[owner]
        }
        guard previous != digest, !digest.isEmpty, digest != routing.settingsDigest.value else { return }
        logger.error("a partition owner's profiles settings differ from this process's: calls between the two are refused until they are the same",
                     metadata: ["owner": "\(owner)", "theirs": "\(digest)", "ours": "\(routing.settingsDigest)"])
    }

    /// Health details: what each other owner last said its business day was, and whether its
    /// settings digest is this process's.
    var details: [String: String] {
        let known = peers.withLock { $0 }
        let knownDigests = digests.withLock { $0 }
        var details: [String: String] = [:]
        for owner in routing.otherOwners {
            switch knownDigests[owner] {
            case nil: details["settings.\(owner)"] = "not asked yet"
            case ""?: details["settings.\(owner)"] = "not given (an older version)"
            case routing.settingsDigest.value?: details["settings.\(owner)"] = "same"
            case let theirs?: details["settings.\(owner)"] = "DIFFER: \(theirs) there, \(routing.settingsDigest) here"
            }
            switch known[owner] {
            case nil: details["business_day.\(owner)"] = "not asked yet"
            case .success(nil): details["business_day.\(owner)"] = "none yet"
            case .success(let day?): details["business_day.\(owner)"] = BusinessDayText.iso(day)
            case .failure(let failure): details["business_day.\(owner)"] = "unreachable: \(failure.reason)"
            }
        }
        return details
    }
}

/// The business day carried on forwarded calls (docs/partitioning.md §2): the forwarding process
/// sends its own (metadata `crm-business-day`, days since 1970-01-01, with `crm-partition-owner`,
/// its owner name), and an owner that hears a newer day than its own adopts it at once rather than
/// at the next gossip round. Why: a call forwarded right after the forwarder's own customers'
/// events moved the day on would otherwise be answered (its windows, its 90-day averages) on the
/// day before, for up to `partitions.business_day_interval_ms`.
///
/// Adopting goes through the updater's gate (between two catch-ups), so it runs beside the call,
/// never in it; a burst of calls carrying the same new day starts one adoption.
final class ForwardedBusinessDay: Sendable {
    static let dayKey = "crm-business-day"
    static let ownerKey = "crm-partition-owner"

    /// Whose day is sent, and which adopts what is heard.
    private let updater: any BusinessDayKeeper
    /// The newest day an adoption was started for.
    private let requested = Atomic<DayNumber>(0)
    private let logger: Logger

    init(keeper updater: any BusinessDayKeeper, logger: Logger) {
        self.updater = updater
        self.logger = logger
    }

    /// What a forwarded call carries: this process's day and owner name (nothing before its first event).
    func metadata(ownName: String) -> [MetadataEntry] {
        let day = updater.businessDay
        guard day > 0 else { return [] }
        return [MetadataEntry(Self.dayKey, String(day)), MetadataEntry(Self.ownerKey, ownName)]
    }

    /// On a call another profiles process forwarded: starts adopting the day it carried when that
    /// is newer than this process's and than any adoption started before. Returns whether it started one.
    @discardableResult
    func hear(_ context: CallContext) -> Bool {
        guard context.forwardedBy != nil, let text = context.metadataValue(Self.dayKey), let day = DayNumber(text), day > 0,
              day > updater.businessDay,
              requested.max(day, ordering: .relaxed).oldValue < day else { return false }
        let owner = context.metadataValue(Self.ownerKey) ?? context.forwardedBy?.name ?? "a peer"
        let logger = self.logger
        Task {
            do {
                try await updater.adopt(day, from: "\(owner) (a forwarded call)")
            } catch {
                logger.warning("could not adopt the business day a forwarded call carried", metadata: ["owner": "\(owner)", "error": "\(error)"])
            }
        }
        return true
    }
}

/// The business day in Health and GetPartitionMap.
enum BusinessDayText {
    static func iso(_ day: DayNumber) -> String {
        Crm_Common_V1_Date(CalendarDay(daysSince1970: day)).isoString
    }

    /// The wire date, nil before any event (day 0 is the checkpoint's "none yet").
    static func date(_ day: DayNumber) -> Crm_Common_V1_Date? {
        day > 0 ? Crm_Common_V1_Date(CalendarDay(daysSince1970: day)) : nil
    }
}

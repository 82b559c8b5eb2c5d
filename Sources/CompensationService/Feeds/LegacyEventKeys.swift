import CRMPrimitives
import CRMProtos
import GRDB
import Synchronization

/// Learns the identity of every profiles event a store recorded under its event id, before
/// events were keyed by identity (``ProfilesEventIdentity``, migration
/// `v4-profiles-event-identity`), so that the same event delivered again under another id (from
/// another profiles process after its partition moved) is recognised and not applied twice.
///
/// Why it can be learnt: those rows were made from one profiles process's log, whose ids never
/// change and are never reused, so re-reading that log from its start up to the last listed id
/// gives each listed id's event, and with it the identity. Each event is checked against what was
/// recorded for its id (customer, amount, kind); if the log lacks an id or holds another event
/// under it (the peer is not the process the store followed), following stops with
/// FAILED_PRECONDITION naming the id: guessing would risk applying an event twice.
///
/// The old rows keep their `pe:<event_id>` text, so every statement reads exactly as before; the
/// identities sit beside them in `legacy_profiles_event`, which the events feed consults before
/// recording anything. Learning runs once, before the events feed applies its first page after
/// the upgrade; it resumes after a restart from the first id not learnt yet (each page is
/// committed).
final class LegacyEventKeys: Sendable {
    /// Reads up to `limit` logged trades, margin interest and transfers after an event id.
    typealias Read = @Sendable (_ after: UInt64, _ limit: Int) async throws -> [Crm_Profiles_V1_LoggedEvent]

    /// The event types that can have been recorded under an event id.
    static let eventTypes: [Crm_Profiles_V1_EventType] = [.trade, .fundTransfer, .marginInterest]

    let database: DatabasePool
    /// Set once nothing is left to learn, so later steps skip even the check.
    private let learnt = Mutex(false)

    init(database: DatabasePool) {
        self.database = database
    }

    /// The first and last listed ids whose identity is not learnt yet; nil when none is left.
    static func pending(_ db: Database) throws -> (first: UInt64, last: UInt64)? {
        guard let row = try Row.fetchOne(db, sql: "SELECT MIN(event_id), MAX(event_id) FROM legacy_profiles_event WHERE identity IS NULL"),
              let first = row[0] as Int64?, let last = row[1] as Int64? else { return nil }
        return (UInt64(first), UInt64(last))
    }

    /// Learns every missing identity with `read`, page by page of `batch` events, from the first
    /// id not learnt to the last; returns at once when nothing is (or is any longer) missing. Each
    /// page is one transaction that also checks no listed id of its range was skipped by the log.
    func learn(batch: Int, read: Read) async throws {
        if learnt.withLock({ $0 }) { return }
        if let pending = try await database.read({ db in try Self.pending(db) }) {
            var after = pending.first > 0 ? pending.first - 1 : 0
            while after < pending.last {
                let events = try await read(after, batch)
                // An empty page: the log ends before the last listed id.
                let through = min(events.last?.eventID ?? pending.last, pending.last)
                let from = after
                try await database.write { db in
                    for event in events where event.eventID <= through {
                        try Self.learn(db, event)
                    }
                    // Every listed id of the page's range has now been passed: one still unlearnt is
                    // not in the log.
                    if let missing = try Int64.fetchOne(db, sql: """
                        SELECT MIN(event_id) FROM legacy_profiles_event WHERE event_id > ? AND event_id <= ? AND identity IS NULL
                        """, arguments: [Int64(clamping: from), Int64(clamping: through)]) {
                        throw Self.refusal(id: UInt64(missing), "profiles' event log has no trade, margin interest or transfer with this id")
                    }
                }
                after = through
            }
        }
        learnt.withLock { $0 = true }
    }

    /// Records the identity of `event` if its id is listed without one, after checking the event is
    /// the one recorded under that id.
    static func learn(_ db: Database, _ event: Crm_Profiles_V1_LoggedEvent) throws {
        let id = event.eventID
        guard try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM legacy_profiles_event WHERE event_id = ? AND identity IS NULL"),
                                arguments: [Int64(clamping: id)]) != nil,
              let key = ProfilesEventIdentity.key(of: event, among: ProfilesEventIdentity.Kind.compensated) else { return }
        let legacy = "pe:\(id)"
        let recorded: (table: String, customerID: String, amountFen: Int64)?
        if let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT customer_id, amount_fen FROM income_item WHERE source_event_id = ?"),
                                      arguments: [legacy]) {
            recorded = ("income", row[0], row[1])
        } else if let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT customer_id, amount_fen FROM asset_flow WHERE flow_key = ?"),
                                             arguments: [legacy]) {
            recorded = ("flow", row[0], row[1])
        } else {
            recorded = nil
        }
        let expected: (table: String, customerID: String, amountFen: Int64)
        switch event.body {
        case .trade(let trade): expected = ("income", trade.customerID, trade.commission.minorUnits)
        case .marginInterest(let interest): expected = ("income", interest.customerID, interest.amount.minorUnits)
        case .fundTransfer(let transfer):
            expected = ("flow", transfer.customerID, transfer.direction == .withdrawal ? -transfer.amount.minorUnits : transfer.amount.minorUnits)
        default: return
        }
        guard let recorded, recorded == expected else {
            let found = recorded.map { "\($0.table) of \($0.amountFen) fen for \($0.customerID)" } ?? "nothing"
            throw refusal(id: id, "compensation recorded \(found) under this id, profiles logs \(expected.table) of \(expected.amountFen) fen for \(expected.customerID) (\(key)): the profiles peer is not the process this store followed")
        }
        try db.cachedStatement(sql: "UPDATE legacy_profiles_event SET identity = ? WHERE event_id = ?").execute(arguments: [key, Int64(clamping: id)])
    }

    static func refusal(id: UInt64, _ description: String) -> Refusal {
        Refusal.refused(.failedPrecondition, field: "legacy_profiles_event.event_id",
                        "\(id): \(description); follow the profiles process whose events this store recorded until every old id is learnt")
    }
}

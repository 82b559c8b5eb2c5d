import CRMProtos
import CustomerDimensions
import Foundation
import GRDB

/// Reads the event table as the wire's event log: every accepted event once, in ingestion order.
///
/// The table's `id` is a rowid that is never reused (events are never deleted), so it is a resume
/// point as good as a feed sequence: a consumer that applies events up to id N and asks again after
/// N sees no gap and no repeat.
enum EventLog {
    /// Events per read transaction while streaming.
    static let page = 2_000

    /// The kinds the `event_engagement` partial index holds (contacts and views), as its SQL list.
    static let engagementKinds = "\(EventKind.contact.rawValue), \(EventKind.view.rawValue)"

    static func page(_ db: Database, after id: UInt64, limit: Int, kinds: Set<EventKind>) throws -> [Crm_Profiles_V1_LoggedEvent] {
        var sql = "SELECT id, kind, body FROM event WHERE id > ?"
        if !kinds.isEmpty && kinds.count < EventKind.allCases.count {
            if kinds.isSubset(of: [.contact, .view]) {
                // Through the partial index: the query repeats its condition word for word, which
                // is how SQLite knows the index applies.
                sql = "SELECT id, kind, body FROM event INDEXED BY event_engagement WHERE id > ? AND kind IN (\(engagementKinds))"
            }
            sql += " AND kind IN (\(kinds.map { String($0.rawValue) }.sorted().joined(separator: ",")))"
        }
        sql += " ORDER BY id LIMIT ?"
        let rows = try Row.fetchAll(db, sql: sql, arguments: [Int64(clamping: id), limit])
        return try rows.map { row in
            guard let kind = EventKind(rawValue: row[1]) else {
                throw DatabaseError(message: "event \(row[0] as Int64) has an unknown kind \(row[1] as Int)")
            }
            return try logged(id: UInt64(row[0] as Int64), kind: kind, body: row[2])
        }
    }

    static func logged(id: UInt64, kind: EventKind, body: Data) throws -> Crm_Profiles_V1_LoggedEvent {
        var event = Crm_Profiles_V1_LoggedEvent()
        event.eventID = id
        event.type = kind.wireType
        switch kind {
        case .trade: event.trade = try .init(serializedBytes: body)
        case .transfer: event.fundTransfer = try .init(serializedBytes: body)
        case .position: event.dailyPosition = try .init(serializedBytes: body)
        case .margin: event.marginAccount = try .init(serializedBytes: body)
        case .interest: event.marginInterest = try .init(serializedBytes: body)
        case .contact: event.serviceContact = try .init(serializedBytes: body)
        case .view: event.productView = try .init(serializedBytes: body)
        }
        return event
    }
}

extension EventKind {
    var wireType: Crm_Profiles_V1_EventType {
        switch self {
        case .trade: return .trade
        case .transfer: return .fundTransfer
        case .position: return .dailyPosition
        case .margin: return .marginAccount
        case .interest: return .marginInterest
        case .contact: return .serviceContact
        case .view: return .productView
        }
    }

    init?(wireType: Crm_Profiles_V1_EventType) {
        guard let kind = EventKind.allCases.first(where: { $0.wireType == wireType }) else { return nil }
        self = kind
    }
}

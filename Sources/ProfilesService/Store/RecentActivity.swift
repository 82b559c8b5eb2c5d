import CRMProtos
import CustomerDimensions
import Foundation

/// A customer's newest trades and contacts for the 360 view, as the dimension updater keeps them in
/// `customer_ledger.recent`.
///
/// Each entry is one wire message's encoding beside its time, so adding a trade encodes only that
/// trade: the others are merged by time and copied as bytes. (The column used to hold a whole
/// `Customer360` message, decoded and re-encoded with its fifty trades every time one more arrived —
/// a fifth of the updater's time under a live feed.) Rows written in that older form start with a
/// protobuf tag, never 0, and are still read; they are rewritten in this form when next updated.
///
/// Layout (little-endian): 0 (the form), then for trades and then contacts: a u32 count, and per
/// entry an i64 time in Unix milliseconds, a u32 length and that many bytes of the message.
struct RecentActivity: Equatable {
    struct Entry: Equatable {
        let atMillis: Int64
        let bytes: [UInt8]
    }

    /// Newest first; among equal times, the one applied first comes first.
    private(set) var trades: [Entry] = []
    private(set) var contacts: [Entry] = []

    init() {}

    struct DecodingError: Error, CustomStringConvertible {
        let description: String
    }

    /// Reads either stored form (empty: nothing yet).
    init(stored data: Data) throws {
        guard let first = data.first else { return }
        guard first == 0 else {
            let legacy = try Crm_Profiles_V1_Customer360(serializedBytes: data)
            trades = try legacy.recentTrades.map { Entry(atMillis: $0.tradedAt.unixMillis, bytes: try $0.serializedBytes()) }
            contacts = try legacy.recentContacts.map { Entry(atMillis: $0.contactedAt.unixMillis, bytes: try $0.serializedBytes()) }
            return
        }
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var offset = 1
            func integer<T: FixedWidthInteger>(_: T.Type) throws -> T {
                guard offset + MemoryLayout<T>.size <= raw.count else { throw DecodingError(description: "recent activity cut short") }
                var value: T = 0
                withUnsafeMutableBytes(of: &value) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[offset..<offset + MemoryLayout<T>.size])) }
                offset += MemoryLayout<T>.size
                return T(littleEndian: value)
            }
            func entries() throws -> [Entry] {
                let count = Int(try integer(UInt32.self))
                guard count <= 100_000 else { throw DecodingError(description: "implausible recent entry count \(count)") }
                var list: [Entry] = []
                list.reserveCapacity(count)
                for _ in 0..<count {
                    let at = try integer(Int64.self)
                    let length = Int(try integer(UInt32.self))
                    guard length <= raw.count - offset else { throw DecodingError(description: "recent entry runs past the end") }
                    list.append(Entry(atMillis: at, bytes: Array(raw[offset..<offset + length])))
                    offset += length
                }
                return list
            }
            trades = try entries()
            contacts = try entries()
        }
    }

    func serialized() -> Data {
        var bytes: [UInt8] = [0]
        bytes.reserveCapacity(9 + (trades + contacts).reduce(0) { $0 + 12 + $1.bytes.count })
        func append<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
        }
        for list in [trades, contacts] {
            append(UInt32(list.count))
            for entry in list {
                append(entry.atMillis)
                append(UInt32(entry.bytes.count))
                bytes.append(contentsOf: entry.bytes)
            }
        }
        return Data(bytes)
    }

    /// Whether the 360 view keeps this kind of event among the recent ones.
    static func keeps(_ event: CustomerEvent) -> Bool {
        switch event {
        case .trade, .contact: return true
        default: return false
        }
    }

    /// Adds the trades and contacts among `events` (in the order applied), keeping the newest `limit`
    /// of each: the new entries go after the old ones, each list is sorted once by time, newest
    /// first (a stable sort, so among equal times the one applied first stays first), and cut —
    /// the same lists as adding the events one by one.
    mutating func add(_ events: [CustomerEvent], limit: Int) throws {
        var newTrades = false, newContacts = false
        for event in events {
            switch event {
            case let .trade(trade):
                newTrades = true
                trades.append(Entry(atMillis: trade.tradedAtMillis, bytes: try Self.message(trade).serializedBytes()))
            case let .contact(contact):
                newContacts = true
                contacts.append(Entry(atMillis: contact.atMillis, bytes: try Self.message(contact).serializedBytes()))
            default:
                break
            }
        }
        if newTrades { Self.keepNewest(&trades, limit: limit) }
        if newContacts { Self.keepNewest(&contacts, limit: limit) }
    }

    private static func keepNewest(_ list: inout [Entry], limit: Int) {
        list.sort { $0.atMillis > $1.atMillis }
        if list.count > limit { list.removeLast(list.count - limit) }
    }

    /// The newest `limit` trades, as the 360 view returns them.
    func tradeMessages(limit: Int) throws -> [Crm_Profiles_V1_TradeEvent] {
        try trades.prefix(limit).map { try Crm_Profiles_V1_TradeEvent(serializedBytes: $0.bytes) }
    }

    /// The newest `limit` contacts, as the 360 view returns them.
    func contactMessages(limit: Int) throws -> [Crm_Profiles_V1_ServiceContactEvent] {
        try contacts.prefix(limit).map { try Crm_Profiles_V1_ServiceContactEvent(serializedBytes: $0.bytes) }
    }

    /// A trade as the 360 view shows it (from the validated event, so every stored entry has one shape).
    static func message(_ trade: Trade) -> Crm_Profiles_V1_TradeEvent {
        .with {
            $0.idempotencyKey = trade.key
            $0.customerID = trade.customerID
            $0.account = trade.account == .margin ? .margin : .cash
            $0.side = trade.side == .buy ? .buy : .sell
            $0.instrument = trade.instrument
            $0.instrumentType = Crm_Profiles_V1_InstrumentType(rawValue: Int(trade.instrumentType.rawValue)) ?? .other
            $0.sector = trade.sector
            $0.quantity = trade.quantity
            $0.price = trade.price
            $0.amount = .with { $0.minorUnits = trade.amountFen }
            $0.commission = .with { $0.minorUnits = trade.commissionFen }
            $0.fees = .with { $0.minorUnits = trade.feesFen }
            $0.tradedAt = .with { $0.unixMillis = trade.tradedAtMillis }
        }
    }

    /// A contact as the 360 view shows it.
    static func message(_ contact: ServiceContact) -> Crm_Profiles_V1_ServiceContactEvent {
        .with {
            $0.idempotencyKey = contact.key
            $0.customerID = contact.customerID
            $0.channel = Crm_Profiles_V1_ContactChannel(rawValue: Int(contact.channel.rawValue)) ?? .call
            $0.staffID = contact.staffID
            $0.topic = contact.topic
            $0.outcome = Crm_Profiles_V1_ContactOutcome(rawValue: Int(contact.outcome.rawValue)) ?? .reached
            $0.contactedAt = .with { $0.unixMillis = contact.atMillis }
        }
    }
}

import CustomerDimensions
/// The event tables' `kind` column: one number per ingestion RPC.
enum EventKind: Int, Sendable, CaseIterable {
    case trade = 1
    case transfer = 2
    case position = 3
    case margin = 4
    case interest = 5
    case contact = 6
    case view = 7
}

/// One event ready to store: its identity, its customer and day, and its wire encoding.
struct StoredEvent: Sendable {
    let kind: EventKind
    let key: String
    let customerID: String
    let day: DayNumber
    let atMillis: Int64
    let body: [UInt8]
}

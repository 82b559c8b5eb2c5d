import CompensationSettlement
import GRDB

/// Who had each customer on each day, built for attributing millions of items in a settlement:
/// managers are numbered (slots), each customer's periods sit in one flat array sorted by start,
/// and a dictionary maps a customer to its run of periods. Read-only once built, so attribution can
/// run on every core. (The domain's ``AssignmentTimeline`` answers the same question for the
/// assessment, with per-manager indexes a settlement does not need.)
struct AssignmentIndex: Sendable {
    struct Period: Sendable {
        var slot: Int32
        var from: Int32
        /// Exclusive; `Int32.max` while open.
        var until: Int32
    }

    /// Slot → manager id.
    private(set) var managerIDs: [String] = []
    /// Manager id → slot.
    private(set) var slots: [String: Int32] = [:]
    private var periods: [Period] = []
    /// Customer → its run of periods: the first period's position << 16 | the number of periods.
    private var runs: [String: Int] = [:]

    /// Numbers `managers` first (so their slots are 0..<count), then any other manager an
    /// assignment names.
    init(_ db: Database, managers: [String]) throws {
        for manager in managers { _ = slot(for: manager) }
        let cursor = try Row.fetchCursor(db, sql: """
            SELECT customer_id, manager_id, effective_from, effective_until FROM assignment ORDER BY customer_id, effective_from
            """)
        var current: String?
        var start = 0
        func close() {
            if let current { runs[current] = start << 16 | min(periods.count - start, 0xFFFF) }
        }
        while let row = try cursor.next() {
            let customer: String = row[0]
            if customer != current {
                close()
                current = customer
                start = periods.count
            }
            let until: Int32? = row[3]
            periods.append(Period(slot: slot(for: row[1]), from: row[2], until: until ?? .max))
        }
        close()
    }

    private mutating func slot(for manager: String) -> Int32 {
        if let slot = slots[manager] { return slot }
        let slot = Int32(managerIDs.count)
        managerIDs.append(manager)
        slots[manager] = slot
        return slot
    }

    /// The slot of the manager in charge of `customerID` on `day`, or nil.
    func slot(of customerID: String, on day: CalendarDay) -> Int32? {
        guard let run = runs[customerID] else { return nil }
        let start = run >> 16, end = start + run & 0xFFFF
        let value = day.daysSince1970
        for index in start..<end {
            let period = periods[index]
            if value >= period.from && value < period.until { return period.slot }
        }
        return nil
    }
}

import CRMPrimitives

/// Who had each customer on each day, built for attributing millions of items in a settlement:
/// managers are numbered (slots), each customer's periods sit in one flat array sorted by start,
/// and a dictionary maps a customer to its run of periods. Read-only once built, so attribution can
/// run on every core. (``AssignmentTimeline`` answers the same question for the assessment, with
/// per-manager indexes a settlement does not need.)
public struct AssignmentIndex: Sendable {
    struct Period: Sendable {
        var slot: Int32
        var from: Int32
        /// Exclusive; `Int32.max` while open.
        var until: Int32
    }

    /// Slot → manager id.
    public private(set) var managerIDs: [String] = []
    /// Manager id → slot.
    public private(set) var slots: [String: Int32] = [:]
    private var periods: [Period] = []
    /// Customer → its run of periods: the first period's position << 16 | the number of periods.
    private var runs: [String: Int] = [:]

    /// The slot of the manager in charge of `customerID` on `day`, or nil.
    public func slot(of customerID: String, on day: CalendarDay) -> Int32? {
        guard let run = runs[customerID] else { return nil }
        let start = run >> 16, end = start + run & 0xFFFF
        let value = day.daysSince1970
        for index in start..<end {
            let period = periods[index]
            if value >= period.from && value < period.until { return period.slot }
        }
        return nil
    }

    private mutating func slot(for manager: String) -> Int32 {
        if let slot = slots[manager] { return slot }
        let slot = Int32(managerIDs.count)
        managerIDs.append(manager)
        slots[manager] = slot
        return slot
    }

    /// Builds an index from assignments read in customer order, then by start: a customer's run is
    /// recorded once, when the next customer begins (one dictionary write per customer, not per row).
    public struct Builder {
        private var index = AssignmentIndex()
        private var current: String?
        private var start = 0

        /// Numbers `managers` first (so their slots are 0..<count); any other manager an assignment
        /// names gets the next slot.
        public init(managers: [String]) {
            for manager in managers { _ = index.slot(for: manager) }
        }

        /// One assignment: `managerID` in charge of `customerID` from day `from` until day `until`
        /// (exclusive; nil while open). Calls must come in customer order, then by `from`.
        public mutating func add(customerID: String, managerID: String, from: Int32, until: Int32?) {
            if customerID != current {
                closeRun()
                current = customerID
                start = index.periods.count
            }
            index.periods.append(Period(slot: index.slot(for: managerID), from: from, until: until ?? .max))
        }

        public consuming func build() -> AssignmentIndex {
            closeRun()
            return index
        }

        private mutating func closeRun() {
            if let current { index.runs[current] = start << 16 | min(index.periods.count - start, 0xFFFF) }
        }
    }
}

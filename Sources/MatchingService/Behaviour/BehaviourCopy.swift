/// The replica's behaviour events in memory, by customer row, and every product's subscription
/// times: what live scoring computes the behaviour features and the products' recent sales from.
///
/// Views and contacts count only for ``BehaviourFeatures/viewRetentionDays`` and
/// ``BehaviourFeatures/contactRetentionDays``, so ``forget(before:)`` drops older ones once a day;
/// orders are kept (they are few, and count however old).
struct BehaviourCopy: Sendable {
    /// `events[row]`, in ``BehaviourEvent/precedes(_:_:)`` order.
    private(set) var events: [[BehaviourEvent]] = []
    /// Subscriptions per product code, unix millis in order.
    private(set) var sales: [String: [Int64]] = [:]

    mutating func addRow() {
        events.append([])
    }

    /// Adds one event to a customer's list, keeping it in order (events mostly come in order).
    mutating func add(_ event: BehaviourEvent, row: Int32) {
        let index = Int(row)
        while events.count <= index { events.append([]) }
        if let last = events[index].last, BehaviourEvent.precedes(event, last) {
            let position = events[index].firstIndex { BehaviourEvent.precedes(event, $0) } ?? events[index].count
            events[index].insert(event, at: position)
        } else {
            events[index].append(event)
        }
    }

    /// Gives an event that was added without a family (its product was not in the catalogue yet)
    /// the family it has now; false when the row holds no such event.
    mutating func resolve(_ event: BehaviourEvent, row: Int32, family: Int) -> Bool {
        let index = Int(row)
        guard index < events.count, let position = events[index].firstIndex(of: event) else { return false }
        events[index][position] = BehaviourEvent(at: event.at, kind: event.kind, family: family, amountFen: event.amountFen)
        return true
    }

    /// Notes a subscription of `product` at `at` (for its recent sales).
    mutating func addSale(product: String, at: Int64) {
        if let last = sales[product]?.last, at < last {
            let position = sales[product]?.firstIndex { at < $0 } ?? 0
            sales[product]?.insert(at, at: position)
        } else {
            sales[product, default: []].append(at)
        }
    }

    mutating func setSales(_ sales: [String: [Int64]]) {
        self.sales = sales
    }

    /// Drops views and contacts that can no longer count on `day` or later, by the one retention
    /// rule the store and the feed's reader use (``BehaviourStore/canCount(_:from:)``); a list
    /// that lost some is kept at its new length (``compact()``).
    mutating func forget(before day: Int32) {
        let starts = BehaviourStore.retentionStarts(reaching: BusinessDays.millis(ofDay: day))
        for index in events.indices where !events[index].isEmpty {
            let count = events[index].count
            events[index].removeAll { !BehaviourStore.canCount($0, from: starts) }
            if events[index].count < count { events[index] = events[index].withExactCapacity() }
        }
    }

    /// Gives every customer's list its length as capacity: lists grown an event at a time while a
    /// replica catches up keep up to half their room spare (a list doubles when full).
    mutating func compact() {
        for index in events.indices { events[index] = events[index].withExactCapacity() }
    }

    /// The row's behaviour features at `at` (``BehaviourFeatures/compute(_:at:)``).
    func features(row: Int32, at: Int64) -> [Float] {
        BehaviourFeatures.compute(Int(row) < events.count ? events[Int(row)] : [], at: at)
    }

    /// Subscriptions of `product` in the 30 days before `day` (not `day` itself, so the figure
    /// holds all day long, as the day's cached shares assume).
    func recentSales(of product: String, day: Int32) -> Int {
        guard let times = sales[product] else { return 0 }
        return Self.recentSales(times, day: day)
    }

    /// How many of `times` (in order) fall in the 30 days before `day`.
    static func recentSales(_ times: [Int64], day: Int32) -> Int {
        let start = times.prefixCount { $0 < BusinessDays.millis(ofDay: day - 30) }
        let end = times.prefixCount { $0 < BusinessDays.millis(ofDay: day) }
        return max(0, end - start)
    }
}

extension Array {
    /// How many elements at the start satisfy `belongs`, for elements ordered so that those that
    /// do all come first (a binary search).
    func prefixCount(while belongs: (Element) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if belongs(self[middle]) { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

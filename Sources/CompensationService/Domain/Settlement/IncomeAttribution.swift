/// Income items grouped by the manager in charge of each item's customer on the item's day, so a
/// mid-month transfer splits the month's income by date. Items on a day when nobody had the
/// customer go to ``unassigned``, reported separately and paid to nobody.
public struct IncomeAttribution: Sendable {
    /// Each manager's items, in input order (settlement puts the month's in statement order).
    public let byManager: [String: [IncomeItem]]
    /// Items whose customer had no manager on the item's day, in statement order.
    public let unassigned: [IncomeItem]

    /// Attributes every item in one pass over `items`: to its credited manager when `roster`
    /// honours that one on the item's day (on the roster, and not gone by then), else to the
    /// manager in charge of its customer on its day.
    public init(items: [IncomeItem], timeline: AssignmentTimeline, roster: CreditRoster = .anyone) {
        var byManager: [String: [IncomeItem]] = [:]
        var unassigned: [IncomeItem] = []
        for item in items {
            if let managerID = Self.manager(of: item, timeline: timeline, roster: roster) {
                byManager[managerID, default: []].append(item)
            } else {
                unassigned.append(item)
            }
        }
        IncomeItem.putInStatementOrder(&unassigned)
        self.byManager = byManager
        self.unassigned = unassigned
    }

    /// The manager an item belongs to: its credited manager when `roster` honours that one on the
    /// item's day, else the manager in charge of its customer on its day; nil when nobody.
    public static func manager(of item: IncomeItem, timeline: AssignmentTimeline, roster: CreditRoster = .anyone) -> String? {
        roster.creditedManager(of: item) ?? timeline.managerID(of: item.customerID, on: item.day)
    }

    /// The items attributed to `managerID` (any month; settlement picks the month's).
    public func items(for managerID: String) -> [IncomeItem] { byManager[managerID] ?? [] }

    /// The unassigned items whose day lies in `month`, totalled per source; commission is net of
    /// fees and of the costs in `listedCosts`. Pay is nil: nobody is paid on these.
    public func unassignedTotals(in month: CalendarMonth, deducting listedCosts: Set<String>) -> [SourceTotal] {
        Self.totals(of: unassigned, in: month, deducting: listedCosts)
    }

    /// The items of `items` whose day lies in `month`, totalled per source (pay nil).
    public static func totals(of items: [IncomeItem], in month: CalendarMonth, deducting listedCosts: Set<String>) -> [SourceTotal] {
        let lines = items.filter { month.contains($0.day) }.map { item in
            (item.source, Settlement.incomeFen(of: item, deducting: listedCosts))
        }
        return IncomeSource.allCases.compactMap { source in
            let amounts = lines.filter { $0.0 == source }.map(\.1)
            guard !amounts.isEmpty else { return nil }
            return SourceTotal(source: source, itemCount: amounts.count, incomeFen: Fen.total(amounts), payFen: nil)
        }
    }
}

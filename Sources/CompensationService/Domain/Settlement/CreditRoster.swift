/// Who a sale may be credited to on its day: a manager on the roster, and for one who has left only
/// through their last working day. An order naming a manager who had left before the sale (or one
/// not on the roster) is not theirs: it goes to the customer's manager in charge that day, as any
/// uncredited income does. Pure.
public struct CreditRoster: Sendable {
    /// Each manager on the roster, with the last working day of those who left.
    private let lastDays: [String: CalendarDay?]
    /// Without a roster every named manager is honoured (callers that attribute without one).
    private let honoursAnyone: Bool

    public init(managers: [(managerID: String, leftOn: CalendarDay?)]) {
        var lastDays: [String: CalendarDay?] = [:]
        for manager in managers { lastDays[manager.managerID] = .some(manager.leftOn) }
        self.lastDays = lastDays
        self.honoursAnyone = false
    }

    private init(anyone: Void) {
        self.lastDays = [:]
        self.honoursAnyone = true
    }

    /// Honours every credited manager on any day.
    public static let anyone = CreditRoster(anyone: ())

    /// Whether a sale on `day` naming `managerID` is credited to them.
    public func honours(_ managerID: String, on day: CalendarDay) -> Bool {
        if honoursAnyone { return true }
        guard let entry = lastDays[managerID] else { return false }
        guard let lastDay = entry else { return true }
        return day <= lastDay
    }

    /// The manager an item is credited to: its named manager when honoured on its day, else nil
    /// (the customer's manager in charge then takes it).
    public func creditedManager(of item: IncomeItem) -> String? {
        guard let named = item.creditedManagerID, !named.isEmpty, honours(named, on: item.day) else { return nil }
        return named
    }
}

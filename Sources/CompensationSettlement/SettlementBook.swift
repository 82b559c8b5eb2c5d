import CRMPrimitives

/// Which manager-months are closed, and through which ingest sequence each was settled. A closed
/// month's statement is immutable: settling it again is refused. An item recorded after its month
/// closed is late and lands, flagged, in the first later month that was still open when the item
/// was recorded (see ``statementMonth(ofItemIn:ingestSequence:managerID:)``).
///
/// A month can also be closed for every manager at once (``closeForEveryone(month:throughSequence:)``,
/// stored with an empty manager id): the service settles the whole firm's month in one go. The books
/// then open with the first month closed for everyone: earlier months count as closed through that
/// month's sequence, so income dated before it that arrives later is late too.
///
/// A value: the store loads it, the domain reads it, closing returns the changed book to persist.
public struct SettlementBook: Sendable, Hashable, Codable {
    /// One closed manager-month.
    public struct ClosedMonth: Sendable, Hashable, Codable, Comparable {
        public var managerID: String
        public var month: CalendarMonth
        /// Items recorded up to this sequence were settled in the month's statement.
        public var throughSequence: Int64

        public init(managerID: String, month: CalendarMonth, throughSequence: Int64) {
            self.managerID = managerID
            self.month = month
            self.throughSequence = throughSequence
        }

        public static func < (lhs: ClosedMonth, rhs: ClosedMonth) -> Bool {
            (lhs.managerID, lhs.month) < (rhs.managerID, rhs.month)
        }
    }

    private struct Key: Hashable, Sendable {
        var managerID: String
        var month: CalendarMonth
    }

    private var closed: [Key: Int64] = [:]
    /// The first month closed for everyone and its sequence.
    private var opening: (month: CalendarMonth, throughSequence: Int64)?

    public init() {}

    /// A book with `closedMonths`; refuses a manager-month listed twice.
    public init(closedMonths: [ClosedMonth]) throws(SettlementError) {
        for (index, entry) in closedMonths.enumerated() {
            let key = Key(managerID: entry.managerID, month: entry.month)
            guard closed[key] == nil else {
                throw .invalid([SettlementViolation(field: "closed_months[\(index)]", description: "\(entry.month) is listed twice for manager \(entry.managerID)")])
            }
            closed[key] = entry.throughSequence
            if entry.managerID == Self.everyone { noteOpening(entry.month, entry.throughSequence) }
        }
    }

    /// The manager id under which a month closed for everyone is recorded.
    public static let everyone = ""

    private mutating func noteOpening(_ month: CalendarMonth, _ throughSequence: Int64) {
        if opening.map({ month < $0.month }) ?? true { opening = (month, throughSequence) }
    }

    public static func == (lhs: SettlementBook, rhs: SettlementBook) -> Bool { lhs.closed == rhs.closed }

    public func hash(into hasher: inout Hasher) { hasher.combine(closed) }

    public init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        var entries: [ClosedMonth] = []
        while !container.isAtEnd { entries.append(try container.decode(ClosedMonth.self)) }
        try self.init(closedMonths: entries)
    }

    /// Encodes the closed months as a sorted list.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        try container.encode(contentsOf: closedMonths)
    }

    /// Every closed manager-month, by manager then month.
    public var closedMonths: [ClosedMonth] {
        closed.map { ClosedMonth(managerID: $0.key.managerID, month: $0.key.month, throughSequence: $0.value) }.sorted()
    }

    public func isClosed(_ month: CalendarMonth, managerID: String) -> Bool {
        closedThrough(month, managerID: managerID) != nil
    }

    /// The sequence `month` was closed through for the manager (or for everyone; a month before the
    /// books opened counts as closed through the opening month's sequence), or nil while it is open.
    public func closedThrough(_ month: CalendarMonth, managerID: String) -> Int64? {
        if let through = closed[Key(managerID: managerID, month: month)] { return through }
        guard let opening else { return nil }
        if let through = closed[Key(managerID: Self.everyone, month: month)] { return through }
        return month < opening.month ? opening.throughSequence : nil
    }

    /// The last month closed for everyone, or nil when none is.
    public var lastClosedForEveryone: CalendarMonth? {
        closed.keys.filter { $0.managerID == Self.everyone }.map(\.month).max()
    }

    /// The month whose statement holds an item of `month` recorded at `ingestSequence`: the first
    /// month from `month` on that was open when the item was recorded, i.e. that is still open or
    /// was closed through a sequence at or after the item's. That is `month` itself unless the item
    /// is late; a late item lands in the next open month.
    public func statementMonth(ofItemIn month: CalendarMonth, ingestSequence: Int64, managerID: String) -> CalendarMonth {
        var candidate = month
        if let opening, candidate < opening.month {
            // Dated before the books opened: late when recorded after the opening month closed.
            guard ingestSequence > opening.throughSequence else { return candidate }
            candidate = opening.month
        }
        while let through = closedThrough(candidate, managerID: managerID), ingestSequence > through {
            candidate = candidate.next
        }
        return candidate
    }

    /// Closes the statement's month through its `throughSequence`; refuses a month already closed.
    public mutating func close(_ statement: ManagerStatement) throws(SettlementError) {
        try close(managerID: statement.managerID, month: statement.month, throughSequence: statement.throughSequence)
    }

    /// Closes `month` for `managerID` through `throughSequence`; refuses a month already closed.
    public mutating func close(managerID: String, month: CalendarMonth, throughSequence: Int64) throws(SettlementError) {
        let key = Key(managerID: managerID, month: month)
        guard closed[key] == nil else { throw .monthClosed(managerID: managerID, month: month) }
        closed[key] = throughSequence
        if managerID == Self.everyone { noteOpening(month, throughSequence) }
    }

    /// Closes `month` for every manager through `throughSequence` (a firm-wide settlement); refuses
    /// a month already closed for everyone.
    public mutating func closeForEveryone(month: CalendarMonth, throughSequence: Int64) throws(SettlementError) {
        try close(managerID: Self.everyone, month: month, throughSequence: throughSequence)
    }
}

import CRMPrimitives
/// The per-day aggregates a ``CustomerLedger`` keeps for its retained window, one small struct per
/// day (or per day and key) with activity, each series sorted by day. Days without activity take no
/// room. Amounts are fen; counters saturate.

/// End-of-day total assets on a day with a daily position. Between two points the earlier value holds
/// (a day without a position keeps the previous day's assets).
struct AssetPoint: Sendable, Hashable {
    var day: DayNumber
    var totalFen: Int64

    /// Of two points, the one that wins: the later day, and on the same day the larger total, so
    /// the outcome does not depend on which arrived first.
    static func newer(_ a: AssetPoint?, _ b: AssetPoint) -> AssetPoint {
        guard let a else { return b }
        return (a.day, a.totalFen) >= (b.day, b.totalFen) ? a : b
    }
}

/// The trades of one day.
struct TradeDay: Sendable, Hashable {
    var day: DayNumber
    var buyCount: UInt32 = 0
    var sellCount: UInt32 = 0
    var marginCount: UInt32 = 0
    var buyFen: Int64 = 0
    var sellFen: Int64 = 0
    var marginFen: Int64 = 0
    var commissionFen: Int64 = 0
    var feesFen: Int64 = 0

    init(day: DayNumber) { self.day = day }

    var count: UInt32 { buyCount &+ sellCount }
    var amountFen: Int64 { Fen.sum(buyFen, sellFen) }

    mutating func add(_ trade: Trade) {
        let amount = max(0, trade.amountFen)
        switch trade.side {
        case .buy:
            DimensionMath.bump(&buyCount)
            buyFen = Fen.sum(buyFen, amount)
        case .sell:
            DimensionMath.bump(&sellCount)
            sellFen = Fen.sum(sellFen, amount)
        }
        if trade.account == .margin {
            DimensionMath.bump(&marginCount)
            marginFen = Fen.sum(marginFen, amount)
        }
        commissionFen = Fen.sum(commissionFen, max(0, trade.commissionFen))
        feesFen = Fen.sum(feesFen, max(0, trade.feesFen))
    }
}

/// The amount traded in one instrument type on one day.
struct InstrumentAmount: Sendable, Hashable {
    var day: DayNumber
    var instrument: Instrument
    var fen: Int64
}

/// The amount traded in one sector on one day (trades without a sector are not counted here).
struct SectorAmount: Sendable, Hashable {
    var day: DayNumber
    var sector: String
    var fen: Int64
}

/// The fund transfers of one day.
struct FlowDay: Sendable, Hashable {
    var day: DayNumber
    var depositCount: UInt32 = 0
    var withdrawalCount: UInt32 = 0
    var depositFen: Int64 = 0
    var withdrawalFen: Int64 = 0

    init(day: DayNumber) { self.day = day }

    mutating func add(_ transfer: FundTransfer) {
        let amount = max(0, transfer.amountFen)
        if transfer.isDeposit {
            DimensionMath.bump(&depositCount)
            depositFen = Fen.sum(depositFen, amount)
        } else {
            DimensionMath.bump(&withdrawalCount)
            withdrawalFen = Fen.sum(withdrawalFen, amount)
        }
    }
}

/// The margin interest charged on one day.
struct InterestDay: Sendable, Hashable {
    var day: DayNumber
    var fen: Int64
}

/// The service contacts of one day.
struct ContactDay: Sendable, Hashable {
    var day: DayNumber
    var count: UInt16 = 0
    /// Contacts whose outcome is anything but "not reached".
    var reached: UInt16 = 0
    var interested: UInt16 = 0
    var complaints: UInt16 = 0
    var calls: UInt16 = 0
    var visits: UInt16 = 0
    var messages: UInt16 = 0

    init(day: DayNumber) { self.day = day }

    mutating func add(_ contact: ServiceContact) {
        DimensionMath.bump(&count)
        switch contact.outcome {
        case .notReached: break
        case .reached, .declined: DimensionMath.bump(&reached)
        case .interested:
            DimensionMath.bump(&reached)
            DimensionMath.bump(&interested)
        case .complaint:
            DimensionMath.bump(&reached)
            DimensionMath.bump(&complaints)
        }
        switch contact.channel {
        case .call: DimensionMath.bump(&calls)
        case .visit: DimensionMath.bump(&visits)
        case .message: DimensionMath.bump(&messages)
        }
    }
}

/// The views of one product on one day.
struct ViewCount: Sendable, Hashable {
    var day: DayNumber
    var productCode: String
    var productType: String
    var count: UInt32
}

/// What the ledger remembers of the days that fell out of its retained window: lifetime sums and
/// the last day of each kind of activity. Folding is a sum or a maximum, so the order in which days
/// fall out (or late events arrive for days already out) does not change the result.
struct CarriedFacts: Sendable, Hashable {
    var tradeCount: Int64 = 0
    var tradeFen: Int64 = 0
    var commissionFen: Int64 = 0
    var feesFen: Int64 = 0
    var interestFen: Int64 = 0
    var lastTradeDay: DayNumber?
    var lastDepositDay: DayNumber?
    var lastWithdrawalDay: DayNumber?
    var lastContactDay: DayNumber?
    var lastComplaintDay: DayNumber?
    var lastViewDay: DayNumber?
    /// The newest end-of-day assets before the retained window: the value in force at its start.
    var assets: AssetPoint?

    mutating func fold(_ day: TradeDay) {
        tradeCount = Fen.sum(tradeCount, Int64(day.count))
        tradeFen = Fen.sum(tradeFen, day.amountFen)
        commissionFen = Fen.sum(commissionFen, day.commissionFen)
        feesFen = Fen.sum(feesFen, day.feesFen)
        if day.count > 0 { lastTradeDay = Self.later(lastTradeDay, day.day) }
    }

    mutating func fold(_ day: FlowDay) {
        if day.depositCount > 0 { lastDepositDay = Self.later(lastDepositDay, day.day) }
        if day.withdrawalCount > 0 { lastWithdrawalDay = Self.later(lastWithdrawalDay, day.day) }
    }

    mutating func fold(_ day: InterestDay) {
        interestFen = Fen.sum(interestFen, day.fen)
    }

    mutating func fold(_ day: ContactDay) {
        if day.count > 0 { lastContactDay = Self.later(lastContactDay, day.day) }
        if day.complaints > 0 { lastComplaintDay = Self.later(lastComplaintDay, day.day) }
    }

    mutating func fold(_ view: ViewCount) {
        lastViewDay = Self.later(lastViewDay, view.day)
    }

    mutating func fold(_ point: AssetPoint) {
        assets = AssetPoint.newer(assets, point)
    }

    static func later(_ a: DayNumber?, _ b: DayNumber) -> DayNumber {
        guard let a else { return b }
        return max(a, b)
    }

    static func earlier(_ a: DayNumber?, _ b: DayNumber) -> DayNumber {
        guard let a else { return b }
        return min(a, b)
    }
}

extension Array {
    /// The index of the first element for which `isBefore` is false, in an array where it is true
    /// for a prefix and false after it (binary search, with a fast path for appends at the end).
    @inline(__always)
    func insertionIndex(_ isBefore: (Element) -> Bool) -> Int {
        guard let last, !isBefore(last) else { return count }
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if isBefore(self[middle]) { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// Updates the element `matches` selects at its sorted place, or inserts `make()` there.
    @inline(__always)
    mutating func upsert(before isBefore: (Element) -> Bool, matches: (Element) -> Bool, make: () -> Element,
                         update: (inout Element) -> Void) {
        let index = insertionIndex(isBefore)
        if index < count, matches(self[index]) {
            update(&self[index])
        } else {
            var element = make()
            update(&element)
            insert(element, at: index)
        }
    }

    /// Removes the leading elements for which `isOld` is true, passing each to `fold` first.
    @inline(__always)
    mutating func prune(_ isOld: (Element) -> Bool, fold: (Element) -> Void) {
        var end = 0
        while end < count, isOld(self[end]) {
            fold(self[end])
            end += 1
        }
        if end > 0 { removeFirst(end) }
    }
}

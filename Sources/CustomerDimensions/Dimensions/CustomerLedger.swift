import CRMPrimitives
/// One customer's compact state, from which ``DimensionEngine`` computes every dimension.
///
/// The ledger keeps lifetime facts (first trade day, last activity days, lifetime sums), the latest
/// daily position and margin snapshot, and sparse per-day aggregates (only days with activity) for
/// a retained window of ``retentionDays`` ending at the newest event day. When that window moves
/// on, the days that leave it are folded into lifetime facts and dropped.
///
/// The ledger is a function of the *set* of events applied to it: folding is made of sums, maxima and
/// tie-broken choices, so applying the same events in any order yields an equal ledger (and a
/// ledger rebuilt from the stored events equals the incrementally maintained one). Applying an
/// event twice counts it twice: the store deduplicates by idempotency key before calling
/// ``apply(_:)``.
///
/// Two rules make late events safe:
/// - an event for an earlier day lands in that day's bucket (or, when the day already left the
///   retained window, in the lifetime facts);
/// - a daily position or margin snapshot replaces the latest one only when its day is later (on the
///   same day: when its total assets, then its idempotency key, are larger).
///
/// Persist it with ``serialized()`` / ``init(serialized:)`` (a compact versioned binary form) or
/// through `Codable`, which writes the same bytes.
public struct CustomerLedger: Sendable, Hashable {
    /// Days kept per-day, ending at the newest event day: the 365-day windows plus 35 days of slack,
    /// so windows stay exact while the business date lags the newest event by up to 35 days.
    public static let retentionDays: Int32 = 400

    /// The newest day of any event applied; the retained window ends on it.
    public internal(set) var newestDay: DayNumber?
    /// The day of the first trade ever applied.
    public internal(set) var firstTradeDay: DayNumber?
    /// The first day with a trade or a fund transfer.
    public internal(set) var firstActivityDay: DayNumber?
    /// Whether any trade on the margin account was ever applied.
    public internal(set) var everTradedOnMargin = false
    /// The latest daily position (customer id cleared to save room).
    public internal(set) var position: DailyPosition?
    /// The latest margin-account snapshot (customer id cleared to save room).
    public internal(set) var margin: MarginSnapshot?

    var assets: [AssetPoint] = []
    var trades: [TradeDay] = []
    var instrumentMix: [InstrumentAmount] = []
    var sectorMix: [SectorAmount] = []
    var flows: [FlowDay] = []
    var interest: [InterestDay] = []
    var contacts: [ContactDay] = []
    var views: [ViewCount] = []
    var carried = CarriedFacts()

    public init() {}

    /// A ledger with `events` applied in order.
    public init<S: Sequence>(events: S) where S.Element == CustomerEvent {
        for event in events { apply(event) }
    }

    /// The first day of the retained window: events before it only update lifetime facts.
    public var retainedFrom: DayNumber? {
        newestDay.map { DayNumber(clamping: Int64($0) - Int64(Self.retentionDays) + 1) }
    }

    /// Whether no event was ever applied.
    public var isEmpty: Bool { newestDay == nil }

    /// Folds one event in. Events may arrive in any order; see the type's documentation.
    public mutating func apply(_ event: CustomerEvent) {
        let day = event.day
        advance(to: day)
        let retained = day >= (retainedFrom ?? day)
        switch event {
        case .trade(let trade):
            apply(trade, day: day, retained: retained)
        case .transfer(let transfer):
            firstActivityDay = CarriedFacts.earlier(firstActivityDay, day)
            if retained {
                flows.upsert(before: { $0.day < day }, matches: { $0.day == day }, make: { FlowDay(day: day) }) { $0.add(transfer) }
            } else {
                var bucket = FlowDay(day: day)
                bucket.add(transfer)
                carried.fold(bucket)
            }
        case .position(let position):
            apply(position, day: day, retained: retained)
        case .margin(let snapshot):
            var stored = snapshot
            stored.customerID = ""
            if let current = margin {
                if (stored.day, stored.key) > (current.day, current.key) { margin = stored }
            } else {
                margin = stored
            }
        case .interest(let charge):
            let fen = max(0, charge.amountFen)
            if retained {
                interest.upsert(before: { $0.day < day }, matches: { $0.day == day }, make: { InterestDay(day: day, fen: 0) }) {
                    $0.fen = Fen.sum($0.fen, fen)
                }
            } else {
                carried.fold(InterestDay(day: day, fen: fen))
            }
        case .contact(let contact):
            if retained {
                contacts.upsert(before: { $0.day < day }, matches: { $0.day == day }, make: { ContactDay(day: day) }) { $0.add(contact) }
            } else {
                var bucket = ContactDay(day: day)
                bucket.add(contact)
                carried.fold(bucket)
            }
        case .view(let view):
            if retained {
                let code = view.productCode
                let type = view.productType
                views.upsert(
                    before: { ($0.day, $0.productCode, $0.productType) < (day, code, type) },
                    matches: { $0.day == day && $0.productCode == code && $0.productType == type },
                    make: { ViewCount(day: day, productCode: code, productType: type, count: 0) }
                ) { DimensionMath.bump(&$0.count) }
            } else {
                carried.fold(ViewCount(day: day, productCode: view.productCode, productType: view.productType, count: 1))
            }
        }
    }

    private mutating func apply(_ trade: Trade, day: DayNumber, retained: Bool) {
        firstTradeDay = CarriedFacts.earlier(firstTradeDay, day)
        firstActivityDay = CarriedFacts.earlier(firstActivityDay, day)
        if trade.account == .margin { everTradedOnMargin = true }
        guard retained else {
            var bucket = TradeDay(day: day)
            bucket.add(trade)
            carried.fold(bucket)
            return
        }
        trades.upsert(before: { $0.day < day }, matches: { $0.day == day }, make: { TradeDay(day: day) }) { $0.add(trade) }
        let amount = max(0, trade.amountFen)
        let instrument = trade.instrumentType
        instrumentMix.upsert(
            before: { ($0.day, $0.instrument.rawValue) < (day, instrument.rawValue) },
            matches: { $0.day == day && $0.instrument == instrument },
            make: { InstrumentAmount(day: day, instrument: instrument, fen: 0) }
        ) { $0.fen = Fen.sum($0.fen, amount) }
        let sector = trade.sector
        if !sector.isEmpty {
            sectorMix.upsert(
                before: { ($0.day, $0.sector) < (day, sector) },
                matches: { $0.day == day && $0.sector == sector },
                make: { SectorAmount(day: day, sector: sector, fen: 0) }
            ) { $0.fen = Fen.sum($0.fen, amount) }
        }
    }

    private mutating func apply(_ event: DailyPosition, day: DayNumber, retained: Bool) {
        var stored = event
        stored.customerID = ""
        let total = Self.totalAssets(of: stored)
        let point = AssetPoint(day: day, totalFen: total)
        if retained {
            assets.upsert(before: { $0.day < day }, matches: { $0.day == day }, make: { point }) { $0 = AssetPoint.newer($0, point) }
        } else {
            carried.fold(point)
        }
        if let current = position {
            if (stored.day, total, stored.key) > (current.day, Self.totalAssets(of: current), current.key) { position = stored }
        } else {
            position = stored
        }
    }

    /// Cash plus holdings plus products, saturating.
    static func totalAssets(of position: DailyPosition) -> Int64 {
        var total = position.cashFen
        for holding in position.holdings { total = Fen.sum(total, holding.marketValueFen) }
        for product in position.products { total = Fen.sum(total, product.marketValueFen) }
        return total
    }

    /// Moves the retained window so that it ends on `day` when that is newer, folding what leaves it.
    private mutating func advance(to day: DayNumber) {
        if let newestDay, newestDay >= day { return }
        newestDay = day
        guard let start = retainedFrom else { return }
        var carried = self.carried
        assets.prune({ $0.day < start }) { carried.fold($0) }
        trades.prune({ $0.day < start }) { carried.fold($0) }
        instrumentMix.prune({ $0.day < start }) { _ in }
        sectorMix.prune({ $0.day < start }) { _ in }
        flows.prune({ $0.day < start }) { carried.fold($0) }
        interest.prune({ $0.day < start }) { carried.fold($0) }
        contacts.prune({ $0.day < start }) { carried.fold($0) }
        views.prune({ $0.day < start }) { carried.fold($0) }
        self.carried = carried
    }
}

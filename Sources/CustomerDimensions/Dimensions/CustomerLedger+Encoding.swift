/// Why stored ledger bytes could not be read back.
public struct LedgerDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    public let reason: String
    public var description: String { "cannot decode customer ledger: \(reason)" }
}

/// The ledger's persistent form: a version byte, then every field as LEB128 varints (signed values
/// zigzag-encoded), series days and daily total assets as deltas, and the sector and product names of
/// the series written once in a table. A typical active customer fits in a few kilobytes. `Codable` writes the same bytes as a single value, so any encoder can carry it.
extension CustomerLedger: Codable {
    /// The format version written by ``serialized()``.
    public static let formatVersion: UInt8 = 1

    /// The ledger as compact bytes, for the store's blob column.
    public func serialized() -> [UInt8] {
        var writer = LedgerWriter()
        writer.bytes.reserveCapacity(64 + assets.count * 5 + trades.count * 16 + views.count * 16)
        writer.bytes.append(Self.formatVersion)
        writer.optionalDay(newestDay)
        writer.optionalDay(firstTradeDay)
        writer.optionalDay(firstActivityDay)
        writer.unsigned(everTradedOnMargin ? 1 : 0)

        writer.unsigned(position == nil ? 0 : 1)
        if let position {
            writer.signed(Int64(position.day))
            writer.string(position.key)
            writer.signed(position.cashFen)
            writer.unsigned(UInt64(position.holdings.count))
            for holding in position.holdings {
                writer.string(holding.instrument)
                writer.unsigned(UInt64(holding.instrumentType.rawValue))
                writer.string(holding.sector)
                writer.signed(holding.quantity)
                writer.signed(holding.marketValueFen)
                writer.signed(holding.costFen)
            }
            writer.unsigned(UInt64(position.products.count))
            for product in position.products {
                writer.string(product.productCode)
                writer.string(product.productType)
                writer.signed(product.marketValueFen)
                writer.signed(product.costFen)
            }
        }
        writer.unsigned(margin == nil ? 0 : 1)
        if let margin {
            writer.signed(Int64(margin.day))
            writer.string(margin.key)
            writer.signed(margin.collateralFen)
            writer.signed(margin.financingFen)
            writer.signed(margin.securitiesBorrowedFen)
            writer.signed(margin.interestAccruedFen)
            writer.signed(margin.creditLimitFen)
        }

        writer.signed(carried.tradeCount)
        writer.signed(carried.tradeFen)
        writer.signed(carried.commissionFen)
        writer.signed(carried.feesFen)
        writer.signed(carried.interestFen)
        for day in [carried.lastTradeDay, carried.lastDepositDay, carried.lastWithdrawalDay, carried.lastContactDay,
                    carried.lastComplaintDay, carried.lastViewDay] {
            writer.optionalDay(day)
        }
        writer.unsigned(carried.assets == nil ? 0 : 1)
        if let point = carried.assets {
            writer.signed(Int64(point.day))
            writer.signed(point.totalFen)
        }

        // Names used by the series, once each in order of first use; entries refer to them by index.
        var names = SmallTally()
        for entry in sectorMix { _ = names.slot(entry.sector) }
        for view in views {
            _ = names.slot(view.productCode)
            _ = names.slot(view.productType)
        }
        writer.unsigned(UInt64(names.count))
        for name in names.keys { writer.string(name) }
        func nameIndex(_ name: String) -> UInt64 { UInt64(names.slot(name)) }

        var previousTotal: Int64 = 0
        writer.series(assets) { writer, point in
            writer.signed(point.totalFen &- previousTotal)
            previousTotal = point.totalFen
        }
        writer.series(trades) { writer, day in
            writer.unsigned(UInt64(day.buyCount))
            writer.unsigned(UInt64(day.sellCount))
            writer.unsigned(UInt64(day.marginCount))
            writer.signed(day.buyFen)
            writer.signed(day.sellFen)
            writer.signed(day.marginFen)
            writer.signed(day.commissionFen)
            writer.signed(day.feesFen)
        }
        writer.series(instrumentMix) { writer, entry in
            writer.unsigned(UInt64(entry.instrument.rawValue))
            writer.signed(entry.fen)
        }
        writer.series(sectorMix) { writer, entry in
            writer.unsigned(nameIndex(entry.sector))
            writer.signed(entry.fen)
        }
        writer.series(flows) { writer, day in
            writer.unsigned(UInt64(day.depositCount))
            writer.unsigned(UInt64(day.withdrawalCount))
            writer.signed(day.depositFen)
            writer.signed(day.withdrawalFen)
        }
        writer.series(interest) { writer, day in writer.signed(day.fen) }
        writer.series(contacts) { writer, day in
            for counter in [day.count, day.reached, day.interested, day.complaints, day.calls, day.visits, day.messages] {
                writer.unsigned(UInt64(counter))
            }
        }
        writer.series(views) { writer, view in
            writer.unsigned(nameIndex(view.productCode))
            writer.unsigned(nameIndex(view.productType))
            writer.unsigned(UInt64(view.count))
        }
        return writer.bytes
    }

    /// Reads back the bytes of ``serialized()``.
    public init(serialized bytes: [UInt8]) throws(LedgerDecodingError) {
        var reader = LedgerReader(bytes: bytes)
        let version = try reader.byte()
        guard version == Self.formatVersion else { throw LedgerDecodingError(reason: "unsupported format version \(version)") }
        self.init()
        newestDay = try reader.optionalDay()
        firstTradeDay = try reader.optionalDay()
        firstActivityDay = try reader.optionalDay()
        everTradedOnMargin = try reader.flag()

        if try reader.flag() {
            let day = try reader.day()
            let key = try reader.string()
            let cash = try reader.signed()
            var holdings: [Holding] = []
            for _ in 0..<(try reader.count()) {
                holdings.append(Holding(
                    instrument: try reader.string(), instrumentType: try reader.instrument(), sector: try reader.string(),
                    quantity: try reader.signed(), marketValueFen: try reader.signed(), costFen: try reader.signed()
                ))
            }
            var products: [ProductPosition] = []
            for _ in 0..<(try reader.count()) {
                products.append(ProductPosition(
                    productCode: try reader.string(), productType: try reader.string(),
                    marketValueFen: try reader.signed(), costFen: try reader.signed()
                ))
            }
            position = DailyPosition(key: key, customerID: "", day: day, cashFen: cash, holdings: holdings, products: products)
        }
        if try reader.flag() {
            margin = MarginSnapshot(
                key: "", customerID: "", day: try reader.day(), collateralFen: 0, financingFen: 0,
                securitiesBorrowedFen: 0, interestAccruedFen: 0, creditLimitFen: 0
            )
            margin?.key = try reader.string()
            margin?.collateralFen = try reader.signed()
            margin?.financingFen = try reader.signed()
            margin?.securitiesBorrowedFen = try reader.signed()
            margin?.interestAccruedFen = try reader.signed()
            margin?.creditLimitFen = try reader.signed()
        }

        carried.tradeCount = try reader.signed()
        carried.tradeFen = try reader.signed()
        carried.commissionFen = try reader.signed()
        carried.feesFen = try reader.signed()
        carried.interestFen = try reader.signed()
        carried.lastTradeDay = try reader.optionalDay()
        carried.lastDepositDay = try reader.optionalDay()
        carried.lastWithdrawalDay = try reader.optionalDay()
        carried.lastContactDay = try reader.optionalDay()
        carried.lastComplaintDay = try reader.optionalDay()
        carried.lastViewDay = try reader.optionalDay()
        if try reader.flag() {
            carried.assets = AssetPoint(day: try reader.day(), totalFen: try reader.signed())
        }

        var names: [String] = []
        for _ in 0..<(try reader.count()) { names.append(try reader.string()) }
        var previousTotal: Int64 = 0
        assets = try reader.series { (reader: inout LedgerReader, day: DayNumber) throws(LedgerDecodingError) in
            previousTotal = previousTotal &+ (try reader.signed())
            return AssetPoint(day: day, totalFen: previousTotal)
        }
        trades = try reader.series { (reader: inout LedgerReader, day: DayNumber) throws(LedgerDecodingError) in
            var bucket = TradeDay(day: day)
            bucket.buyCount = try reader.counter()
            bucket.sellCount = try reader.counter()
            bucket.marginCount = try reader.counter()
            bucket.buyFen = try reader.signed()
            bucket.sellFen = try reader.signed()
            bucket.marginFen = try reader.signed()
            bucket.commissionFen = try reader.signed()
            bucket.feesFen = try reader.signed()
            return bucket
        }
        instrumentMix = try reader.series { (reader: inout LedgerReader, day: DayNumber) throws(LedgerDecodingError) in
            InstrumentAmount(day: day, instrument: try reader.instrument(), fen: try reader.signed())
        }
        sectorMix = try reader.series { (reader: inout LedgerReader, day: DayNumber) throws(LedgerDecodingError) in SectorAmount(day: day, sector: try reader.name(in: names), fen: try reader.signed()) }
        flows = try reader.series { (reader: inout LedgerReader, day: DayNumber) throws(LedgerDecodingError) in
            var bucket = FlowDay(day: day)
            bucket.depositCount = try reader.counter()
            bucket.withdrawalCount = try reader.counter()
            bucket.depositFen = try reader.signed()
            bucket.withdrawalFen = try reader.signed()
            return bucket
        }
        interest = try reader.series { (reader: inout LedgerReader, day: DayNumber) throws(LedgerDecodingError) in InterestDay(day: day, fen: try reader.signed()) }
        contacts = try reader.series { (reader: inout LedgerReader, day: DayNumber) throws(LedgerDecodingError) in
            var bucket = ContactDay(day: day)
            bucket.count = try reader.counter()
            bucket.reached = try reader.counter()
            bucket.interested = try reader.counter()
            bucket.complaints = try reader.counter()
            bucket.calls = try reader.counter()
            bucket.visits = try reader.counter()
            bucket.messages = try reader.counter()
            return bucket
        }
        views = try reader.series { (reader: inout LedgerReader, day: DayNumber) throws(LedgerDecodingError) in
            ViewCount(day: day, productCode: try reader.name(in: names), productType: try reader.name(in: names), count: try reader.counter())
        }
        guard reader.isAtEnd else { throw LedgerDecodingError(reason: "\(bytes.count - reader.offset) bytes after the end") }
        try checkOrder()
    }

    /// Refuses decoded series that are not strictly sorted, which ``apply(_:)`` relies on.
    private func checkOrder() throws(LedgerDecodingError) {
        func increasing<T>(_ values: [T], _ name: String, _ isBefore: (T, T) -> Bool) throws(LedgerDecodingError) {
            for index in values.indices.dropFirst() where !isBefore(values[index - 1], values[index]) {
                throw LedgerDecodingError(reason: "\(name) out of order at entry \(index)")
            }
        }
        try increasing(assets, "assets") { $0.day < $1.day }
        try increasing(trades, "trades") { $0.day < $1.day }
        try increasing(instrumentMix, "instrument mix") { ($0.day, $0.instrument.rawValue) < ($1.day, $1.instrument.rawValue) }
        try increasing(sectorMix, "sector mix") { ($0.day, $0.sector) < ($1.day, $1.sector) }
        try increasing(flows, "flows") { $0.day < $1.day }
        try increasing(interest, "interest") { $0.day < $1.day }
        try increasing(contacts, "contacts") { $0.day < $1.day }
        try increasing(views, "views") { ($0.day, $0.productCode, $0.productType) < ($1.day, $1.productCode, $1.productType) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(serialized())
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let bytes = try container.decode([UInt8].self)
        try self.init(serialized: bytes)
    }
}

private struct LedgerWriter {
    var bytes: [UInt8] = []

    mutating func unsigned(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    mutating func signed(_ value: Int64) {
        unsigned(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    mutating func optionalDay(_ day: DayNumber?) {
        // 0 = none, otherwise the zigzag day plus one.
        guard let day else { return unsigned(0) }
        let zigzag = UInt64(bitPattern: (Int64(day) << 1) ^ (Int64(day) >> 63))
        unsigned(zigzag + 1)
    }

    mutating func string(_ value: String) {
        let utf8 = value.utf8
        unsigned(UInt64(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    /// The count, then each element's day as a delta from the previous (the first from 0, zigzag), then its fields.
    mutating func series<T>(_ elements: [T], _ write: (inout LedgerWriter, T) -> Void) where T: DayStamped {
        unsigned(UInt64(elements.count))
        var previous: DayNumber?
        for element in elements {
            if let previous {
                unsigned(UInt64(Int64(element.day) - Int64(previous)))
            } else {
                signed(Int64(element.day))
            }
            previous = element.day
            write(&self, element)
        }
    }
}

private struct LedgerReader {
    let bytes: [UInt8]
    var offset = 0

    var isAtEnd: Bool { offset == bytes.count }

    mutating func byte() throws(LedgerDecodingError) -> UInt8 {
        guard offset < bytes.count else { throw LedgerDecodingError(reason: "truncated at byte \(offset)") }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func unsigned() throws(LedgerDecodingError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let next = try byte()
            guard shift < 64, shift < 63 || next <= 1 else { throw LedgerDecodingError(reason: "varint too long at byte \(offset)") }
            result |= UInt64(next & 0x7F) << shift
            if next & 0x80 == 0 { return result }
            shift += 7
        }
    }

    mutating func signed() throws(LedgerDecodingError) -> Int64 {
        let raw = try unsigned()
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    mutating func flag() throws(LedgerDecodingError) -> Bool {
        switch try unsigned() {
        case 0: return false
        case 1: return true
        default: throw LedgerDecodingError(reason: "bad flag at byte \(offset)")
        }
    }

    mutating func count() throws(LedgerDecodingError) -> Int {
        let value = try unsigned()
        // Every element takes at least one byte, so a count above the bytes left is corrupt.
        guard value <= UInt64(bytes.count - offset) else { throw LedgerDecodingError(reason: "count \(value) exceeds the data at byte \(offset)") }
        return Int(value)
    }

    mutating func counter<T: FixedWidthInteger & UnsignedInteger>() throws(LedgerDecodingError) -> T {
        guard let value = T(exactly: try unsigned()) else { throw LedgerDecodingError(reason: "counter out of range at byte \(offset)") }
        return value
    }

    mutating func day() throws(LedgerDecodingError) -> DayNumber {
        guard let day = DayNumber(exactly: try signed()) else { throw LedgerDecodingError(reason: "day out of range at byte \(offset)") }
        return day
    }

    mutating func optionalDay() throws(LedgerDecodingError) -> DayNumber? {
        let raw = try unsigned()
        guard raw > 0 else { return nil }
        let zigzag = raw - 1
        guard let day = DayNumber(exactly: Int64(bitPattern: (zigzag >> 1) ^ (0 &- (zigzag & 1)))) else {
            throw LedgerDecodingError(reason: "day out of range at byte \(offset)")
        }
        return day
    }

    mutating func instrument() throws(LedgerDecodingError) -> Instrument {
        guard let instrument = Instrument(rawValue: try byte()) else { throw LedgerDecodingError(reason: "bad instrument type at byte \(offset)") }
        return instrument
    }

    mutating func string() throws(LedgerDecodingError) -> String {
        let length = try count()
        defer { offset += length }
        return String(decoding: bytes[offset..<(offset + length)], as: UTF8.self)
    }

    mutating func name(in names: [String]) throws(LedgerDecodingError) -> String {
        let index = try unsigned()
        guard index < UInt64(names.count) else { throw LedgerDecodingError(reason: "name index \(index) out of range at byte \(offset)") }
        return names[Int(index)]
    }

    mutating func series<T>(_ read: (inout LedgerReader, DayNumber) throws(LedgerDecodingError) -> T) throws(LedgerDecodingError) -> [T] {
        let count = try count()
        var result: [T] = []
        result.reserveCapacity(count)
        var previous: Int64?
        for _ in 0..<count {
            let day: Int64
            if let previous {
                day = previous + Int64(truncatingIfNeeded: try unsigned())
            } else {
                day = try signed()
            }
            guard let dayNumber = DayNumber(exactly: day), day >= previous ?? Int64.min else {
                throw LedgerDecodingError(reason: "day out of range at byte \(offset)")
            }
            previous = day
            result.append(try read(&self, dayNumber))
        }
        return result
    }
}

/// The series entries, which all start with their day.
protocol DayStamped {
    var day: DayNumber { get }
}

extension AssetPoint: DayStamped {}
extension TradeDay: DayStamped {}
extension InstrumentAmount: DayStamped {}
extension SectorAmount: DayStamped {}
extension FlowDay: DayStamped {}
extension InterestDay: DayStamped {}
extension ContactDay: DayStamped {}
extension ViewCount: DayStamped {}

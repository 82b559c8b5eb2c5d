/// Writes statement lines as `crm.compensation.v1.Statement` chunks (field 18, `lines`) straight to
/// protobuf bytes, without building message values: a month of millions of lines is encoded on every
/// settlement, and building and serializing one `StatementLine` message per line was most of the
/// time. The bytes are exactly those swift-protobuf writes for the same message (fields in number
/// order, default values omitted, present submessages written even when empty); a test compares the
/// two, and reading goes through the generated decoder.
struct StatementLineEncoder {
    private(set) var bytes: [UInt8] = []
    /// Lines come sorted by day, mostly of one month: their text and fields are worked out once.
    private var lastDay: (day: CalendarDay, year: Int32, month: Int32, dayOfMonth: Int32)?
    private var lastMonth: (month: CalendarMonth, text: String)?

    init(capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    /// Appends one line as a `lines` entry (field 18) of a `Statement`.
    mutating func append(_ line: IncomeLine) {
        if lastDay?.day != line.day {
            let parts = line.day.components
            lastDay = (line.day, Int32(parts.year), Int32(parts.month), Int32(parts.day))
        }
        if lastMonth?.month != line.originalMonth { lastMonth = (line.originalMonth, line.originalMonth.description) }
        let size = size(of: line)
        Self.tag(18, 2, into: &bytes)
        Self.varint(UInt64(size), into: &bytes)
        let before = bytes.count
        write(line)
        assert(bytes.count - before == size, "statement line size mismatch")
    }

    // MARK: Field numbers and wire types of StatementLine and its submessages

    private static func basisField(_ basis: IncomeBasis) -> Int? {
        switch basis {
        case .trade: return 12
        case .marginInterest: return nil
        case .productSale: return 13
        case .advisoryFee: return 14
        }
    }

    private var dateSize: Int {
        guard let lastDay else { return 0 }
        return Self.int32FieldSize(1, lastDay.year) + Self.int32FieldSize(2, lastDay.month) + Self.int32FieldSize(3, lastDay.dayOfMonth)
    }

    private func size(of line: IncomeLine) -> Int {
        var size = Self.stringSize(1, line.sourceEventID) + Self.stringSize(2, line.customerID)
        size += Self.messageSize(3, dateSize)
        size += Self.varintFieldSize(4, UInt64(line.source.wire.rawValue))
        size += Self.stringSize(5, lastMonth?.text ?? "")
        size += line.isCarriedForward ? 2 : 0
        size += line.isAdjustment ? 2 : 0
        size += Self.messageSize(8, Self.ruleVersionSize(line.ruleVersion))
        size += Self.varintFieldSize(9, UInt64(bitPattern: line.incomeFen))
        size += Self.varintFieldSize(10, UInt64(UInt32(clamping: line.rate?.value ?? 0)))
        size += Self.varintFieldSize(11, UInt64(bitPattern: line.payFen ?? 0))
        if let field = Self.basisField(line.basis) { size += Self.messageSize(field, Self.basisSize(line)) }
        return size
    }

    private mutating func write(_ line: IncomeLine) {
        Self.string(1, line.sourceEventID, into: &bytes)
        Self.string(2, line.customerID, into: &bytes)
        Self.tag(3, 2, into: &bytes)
        Self.varint(UInt64(dateSize), into: &bytes)
        if let lastDay {
            Self.varintField(1, Self.int32Bits(lastDay.year), into: &bytes)
            Self.varintField(2, Self.int32Bits(lastDay.month), into: &bytes)
            Self.varintField(3, Self.int32Bits(lastDay.dayOfMonth), into: &bytes)
        }
        Self.varintField(4, UInt64(line.source.wire.rawValue), into: &bytes)
        Self.string(5, lastMonth?.text ?? "", into: &bytes)
        if line.isCarriedForward { Self.varintField(6, 1, into: &bytes) }
        if line.isAdjustment { Self.varintField(7, 1, into: &bytes) }
        Self.tag(8, 2, into: &bytes)
        Self.varint(UInt64(Self.ruleVersionSize(line.ruleVersion)), into: &bytes)
        Self.string(1, line.ruleVersion.grade, into: &bytes)
        Self.varintField(2, UInt64(UInt32(clamping: line.ruleVersion.version)), into: &bytes)
        Self.varintField(9, UInt64(bitPattern: line.incomeFen), into: &bytes)
        Self.varintField(10, UInt64(UInt32(clamping: line.rate?.value ?? 0)), into: &bytes)
        Self.varintField(11, UInt64(bitPattern: line.payFen ?? 0), into: &bytes)
        if let field = Self.basisField(line.basis) {
            Self.tag(field, 2, into: &bytes)
            Self.varint(UInt64(Self.basisSize(line)), into: &bytes)
            switch line.basis {
            case let .trade(account, commission, exchange, regulatory, listed):
                if account == .margin { Self.varintField(1, 1, into: &bytes) }
                Self.varintField(2, UInt64(bitPattern: commission), into: &bytes)
                Self.varintField(3, UInt64(bitPattern: Fen.sum(exchange, regulatory)), into: &bytes)
                Self.varintField(4, UInt64(bitPattern: listed), into: &bytes)
            case let .productSale(code, amount, rate):
                Self.string(1, code, into: &bytes)
                Self.varintField(2, UInt64(bitPattern: amount), into: &bytes)
                Self.varintField(3, UInt64(UInt32(clamping: rate.value)), into: &bytes)
                Self.string(4, line.namedManagerID ?? "", into: &bytes)
            case let .advisoryFee(packageID):
                Self.string(1, packageID, into: &bytes)
            case .marginInterest:
                break
            }
        }
    }

    private static func ruleVersionSize(_ version: RuleVersion) -> Int {
        stringSize(1, version.grade) + varintFieldSize(2, UInt64(UInt32(clamping: version.version)))
    }

    private static func basisSize(_ line: IncomeLine) -> Int {
        switch line.basis {
        case let .trade(account, commission, exchange, regulatory, listed):
            return (account == .margin ? 2 : 0) + varintFieldSize(2, UInt64(bitPattern: commission))
                + varintFieldSize(3, UInt64(bitPattern: Fen.sum(exchange, regulatory))) + varintFieldSize(4, UInt64(bitPattern: listed))
        case let .productSale(code, amount, rate):
            return stringSize(1, code) + varintFieldSize(2, UInt64(bitPattern: amount)) + varintFieldSize(3, UInt64(UInt32(clamping: rate.value)))
                + stringSize(4, line.namedManagerID ?? "")
        case let .advisoryFee(packageID):
            return stringSize(1, packageID)
        case .marginInterest:
            return 0
        }
    }

    // MARK: Protobuf primitives

    /// An int32 as protobuf writes it: negative values sign-extended to ten bytes.
    private static func int32Bits(_ value: Int32) -> UInt64 { UInt64(bitPattern: Int64(value)) }

    private static func varintSize(_ value: UInt64) -> Int {
        (64 - (value | 1).leadingZeroBitCount + 6) / 7
    }

    /// Tag plus value, or 0 for a default (zero) value.
    private static func varintFieldSize(_ field: Int, _ value: UInt64) -> Int {
        value == 0 ? 0 : varintSize(UInt64(field << 3)) + varintSize(value)
    }

    private static func int32FieldSize(_ field: Int, _ value: Int32) -> Int {
        varintFieldSize(field, int32Bits(value))
    }

    private static func stringSize(_ field: Int, _ text: String) -> Int {
        let count = text.utf8.count
        return count == 0 ? 0 : varintSize(UInt64(field << 3)) + varintSize(UInt64(count)) + count
    }

    /// A present submessage: tag, length and body (written even when empty).
    private static func messageSize(_ field: Int, _ body: Int) -> Int {
        varintSize(UInt64(field << 3)) + varintSize(UInt64(body)) + body
    }

    @inline(__always)
    private static func varint(_ value: UInt64, into bytes: inout [UInt8]) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    @inline(__always)
    private static func tag(_ field: Int, _ wireType: Int, into bytes: inout [UInt8]) {
        varint(UInt64(field << 3 | wireType), into: &bytes)
    }

    private static func varintField(_ field: Int, _ value: UInt64, into bytes: inout [UInt8]) {
        guard value != 0 else { return }
        tag(field, 0, into: &bytes)
        varint(value, into: &bytes)
    }

    private static func string(_ field: Int, _ text: String, into bytes: inout [UInt8]) {
        let count = text.utf8.count
        guard count > 0 else { return }
        tag(field, 2, into: &bytes)
        varint(UInt64(count), into: &bytes)
        bytes.append(contentsOf: text.utf8)
    }
}

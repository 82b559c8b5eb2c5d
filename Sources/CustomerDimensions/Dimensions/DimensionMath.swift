import CRMPrimitives
/// Helpers for the ledger and the engine beside ``Fen``'s saturating sums and rounded quotients:
/// ratios, counters that stop at their maximum, ages in days.
enum DimensionMath {
    /// `numerator / denominator` as a Double, or `whenZero` when the denominator is 0.
    @inline(__always)
    static func ratio(_ numerator: Int64, _ denominator: Int64, whenZero: Double = 0) -> Double {
        denominator == 0 ? whenZero : Double(numerator) / Double(denominator)
    }

    /// `counter + amount`, stopping at the type's maximum.
    @inline(__always)
    static func bump<T: FixedWidthInteger & UnsignedInteger>(_ counter: inout T, by amount: T = 1) {
        let (result, overflow) = counter.addingReportingOverflow(amount)
        counter = overflow ? .max : result
    }

    /// Days from `day` to `asOf`, as an Int64 so that no day arithmetic can overflow.
    @inline(__always)
    static func age(of day: DayNumber, asOf: DayNumber) -> Int64 {
        Int64(asOf) - Int64(day)
    }
}

/// Sums of amounts per string key, for the handful of keys a customer has (sectors, product
/// codes): a linear scan that compares a cheap fingerprint (FNV-1a of the last bytes) before the
/// strings beats hashing them; a dictionary index takes over past a few dozen keys.
struct SmallTally {
    private(set) var keys: [String] = []
    private(set) var values: [Int64] = []
    private var fingerprints: [Int] = []
    private var index: [String: Int]?

    init() {}

    var count: Int { keys.count }

    @inline(__always)
    private static func fingerprint(_ key: String) -> Int {
        var key = key
        return key.withUTF8 { bytes in
            // FNV-1a over at most the last 16 bytes: cheap, and codes differing only at the end differ.
            var hash = 0xcbf2_9ce4_8422_2325 as UInt64
            for byte in bytes.suffix(16) { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            return Int(truncatingIfNeeded: hash)
        }
    }

    @inline(__always)
    private func find(_ key: String, fingerprint: Int) -> Int? {
        if let index { return index[key] }
        for slot in fingerprints.indices where fingerprints[slot] == fingerprint && keys[slot] == key {
            return slot
        }
        return nil
    }

    /// The slot of `key`, created with the value 0 when new.
    @inline(__always)
    mutating func slot(_ key: String) -> Int {
        let fingerprint = Self.fingerprint(key)
        if let slot = find(key, fingerprint: fingerprint) { return slot }
        keys.append(key)
        values.append(0)
        fingerprints.append(fingerprint)
        let slot = keys.count - 1
        if index != nil {
            index?[key] = slot
        } else if keys.count > 32 {
            index = Dictionary(uniqueKeysWithValues: zip(keys, keys.indices))
        }
        return slot
    }

    /// Adds `amount` to `key`'s sum, saturating.
    @inline(__always)
    mutating func add(_ key: String, _ amount: Int64) {
        let slot = slot(key)
        values[slot] = Fen.sum(values[slot], amount)
    }

    /// Keeps the smaller of the current value and `value` (new keys start from `value`).
    @inline(__always)
    mutating func keepMinimum(_ key: String, _ value: Int64) {
        let isNew = find(key, fingerprint: Self.fingerprint(key)) == nil
        let slot = slot(key)
        values[slot] = isNew ? value : min(values[slot], value)
    }

    func value(_ key: String) -> Int64 {
        find(key, fingerprint: Self.fingerprint(key)).map { values[$0] } ?? 0
    }

    /// The key with the largest positive value; ties go to the smallest key, so the answer never
    /// depends on insertion order.
    var largest: String? {
        var best: Int?
        for slot in keys.indices where values[slot] > 0 {
            if let current = best, (values[slot], keys[current]) <= (values[current], keys[slot]) { continue }
            best = slot
        }
        return best.map { keys[$0] }
    }
}

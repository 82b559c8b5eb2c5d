/// Where a search sorted by a dimension continues: after the row with this sort key and customer id.
///
/// A keyset cursor rather than an offset, for two reasons. Every owner of a partitioned firm can
/// continue a merged page from the same token (the merged page's last row belongs to one owner;
/// the others continue after its key), which an offset into one owner's order cannot do. And a
/// customer added or re-sorted between two pages does not shift every later page by one, repeating
/// or skipping a row at each page boundary.
///
/// The order is a strict total order: the key (ascending, or descending when asked), then the
/// customer id ascending, so ties never make a page ambiguous.
struct SortedPageCursor: Equatable, Sendable {
    /// The row's sort key (``key(of:)``).
    let key: Double
    let customerID: String

    /// A row's sort key: its value, or -infinity for a customer without one or with a value that is
    /// not a number (NaN would make the order partial: it compares neither above nor below).
    static func key(of value: Double?) -> Double {
        guard let value, !value.isNaN else { return -.infinity }
        return value
    }

    /// Whether the row (`key`, `id`) comes before the row (`otherKey`, `otherID`) in the order.
    static func precedes(_ key: Double, _ id: String, _ otherKey: Double, _ otherID: String, descending: Bool) -> Bool {
        if key == otherKey { return id < otherID }
        return descending ? key > otherKey : key < otherKey
    }

    /// Whether the row (`key`, `id`) comes after this cursor: it belongs on a later page.
    func isBefore(_ key: Double, _ id: String, descending: Bool) -> Bool {
        Self.precedes(self.key, customerID, key, id, descending: descending)
    }

    // MARK: Token

    /// `s` + the key's IEEE 754 bits as 16 hex digits + `:` + the customer id: exact (no decimal
    /// rounding of the key) and opaque to clients, who only pass it back.
    var token: String {
        let bits = String(key.bitPattern, radix: 16)
        return "s" + String(repeating: "0", count: 16 - bits.count) + bits + ":" + customerID
    }

    /// The cursor a token names; nil when the text is not such a token.
    init?(token: String) {
        let utf8 = Array(token.utf8)
        guard utf8.count >= 18, utf8[0] == UInt8(ascii: "s"), utf8[17] == UInt8(ascii: ":"),
              let bits = UInt64(String(decoding: utf8[1..<17], as: UTF8.self), radix: 16) else { return nil }
        let key = Double(bitPattern: bits)
        guard !key.isNaN else { return nil }
        self.key = key
        customerID = String(decoding: utf8[18...], as: UTF8.self)
    }

    init(key: Double, customerID: String) {
        self.key = key
        self.customerID = customerID
    }
}

import CustomerDimensions
import Foundation
import GRDB

extension StoredDimensions {
    /// The binary form (``serialized()``), built in one byte array: the dimension updater writes one
    /// per refreshed customer, and appending eight bytes at a time to `Data` cost about a tenth of
    /// its time under a live feed.
    func encodedBytes() -> Data {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16 + numbers.count * 8 + (categories.count + classes.count) * 16)
        bytes.append(1)
        func append<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
        }
        append(UInt32(bitPattern: asOf))
        append(UInt32(numbers.count))
        numbers.withUnsafeBufferPointer { values in
            for value in values { append(value.bitPattern) }
        }
        for list in [categories, classes] {
            append(UInt32(list.count))
            for text in list {
                append(UInt32(text.utf8.count))
                bytes.append(contentsOf: text.utf8)
            }
        }
        return Data(bytes)
    }

    /// Writes a customer's dimensions (one row per customer in `customer_dimensions`).
    static func write(_ db: Database, customerID: String, _ stored: StoredDimensions) throws {
        let upsert = try db.cachedStatement(sql: """
            INSERT INTO customer_dimensions (customer_id, as_of, dimensions) VALUES (?, ?, ?)
            ON CONFLICT(customer_id) DO UPDATE SET as_of = excluded.as_of, dimensions = excluded.dimensions
            """)
        try upsert.execute(arguments: [customerID, stored.asOf, stored.encodedBytes()])
    }

    /// Whether both hold the same values, numbers compared bit for bit so that two missing values
    /// (NaN) are the same. (The synthesized `==` follows IEEE and finds every customer with a missing
    /// number — all of them — changed, so the updater announced unchanged dimensions on the feed.)
    func isIdentical(to other: StoredDimensions?) -> Bool {
        guard let other, asOf == other.asOf, numbers.count == other.numbers.count, categories == other.categories, classes == other.classes else {
            return false
        }
        for index in numbers.indices where numbers[index].bitPattern != other.numbers[index].bitPattern { return false }
        return true
    }

    /// ``init(values:classes:)`` without looking each value up through its definition: the engine's
    /// values are already aligned with the catalog's slots (numeric and categorical definitions are
    /// numbered in catalog order) and its missing numbers are the one NaN the store keeps.
    static func aligned(_ values: DimensionValues, classes: [String]) -> StoredDimensions {
        StoredDimensions(asOf: values.asOf, numbers: values.numbers, categories: values.categories, classes: classes)
    }
}

extension StoredDimensions {
    /// Reads ``serialized()``'s bytes (``init(serialized:)``) in one pass over the buffer without a
    /// throwing call per byte: start-up decodes every customer's dimensions into the in-memory
    /// index (a million at the scale).
    static func decoded(_ data: Data) throws -> StoredDimensions {
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> StoredDimensions in
            var offset = 0
            func need(_ count: Int) throws {
                guard count <= raw.count - offset else { throw DecodingError(description: "stored dimensions cut short") }
            }
            func u32() throws -> UInt32 {
                try need(4)
                defer { offset += 4 }
                return UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            }
            func strings() throws -> [String] {
                let count = Int(try u32())
                guard count <= 100_000 else { throw DecodingError(description: "implausible string count \(count)") }
                var list: [String] = []
                list.reserveCapacity(count)
                for _ in 0..<count {
                    let length = Int(try u32())
                    try need(length)
                    list.append(String(decoding: UnsafeRawBufferPointer(rebasing: raw[offset..<offset + length]), as: UTF8.self))
                    offset += length
                }
                return list
            }
            try need(1)
            guard raw[0] == 1 else { throw DecodingError(description: "unknown stored dimensions version") }
            offset = 1
            let asOf = DayNumber(bitPattern: try u32())
            let n = Int(try u32())
            guard n <= 100_000 else { throw DecodingError(description: "implausible dimension count \(n)") }
            try need(n * 8)
            let numbers = [Double](unsafeUninitializedCapacity: n) { buffer, count in
                for index in 0..<n {
                    buffer[index] = Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset + index * 8, as: UInt64.self)))
                }
                count = n
            }
            offset += n * 8
            let categories = try strings()
            let classes = try strings()
            return StoredDimensions(asOf: asOf, numbers: numbers, categories: categories, classes: classes)
        }
    }
}

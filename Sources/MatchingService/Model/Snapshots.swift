import CRMProtos
import CRMRPC
import Foundation
import GRDB

/// One customer's dimensions at the end of a past day, as training and evaluation read them: the
/// feature space's customer dimensions and the value held per family (NaN when missing), and the
/// two categories the pair features read. Stored compactly (a few hundred bytes) rather than as
/// profiles' full message.
struct SnapshotRow: Sendable {
    let customerID: String
    let values: [Float]
    let mostViewedType: String
    let largestFamily: String

    /// The order of `values`: every dimension a feature space may read.
    static let names = FeatureSpace.customerDimensions + FeatureSpace.familyValueDimensions
    static let familyValueSlots = FeatureSpace.familyValueDimensions.compactMap { slot[$0] }
    static let slot: [String: Int] = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })

    init(_ dimensions: Crm_Profiles_V1_CustomerDimensions) {
        customerID = dimensions.customerID
        var values = [Float](repeating: .nan, count: Self.names.count)
        for (name, value) in dimensions.numbers {
            if let slot = Self.slot[name] { values[slot] = Float(value) }
        }
        self.values = values
        mostViewedType = dimensions.categories["most_viewed_product_type_90d"] ?? ""
        largestFamily = dimensions.categories["largest_product_type"] ?? ""
    }

    init(customerID: String, blob: Data) throws {
        self.customerID = customerID
        var reader = ByteReader(bytes: [UInt8](blob))
        let count = Int(try reader.u32())
        guard count == Self.names.count else { throw SnapshotError.stale }
        values = try (0..<count).map { _ in Float(bitPattern: try reader.u32()) }
        mostViewedType = try reader.string()
        largestFamily = try reader.string()
    }

    func encoded() -> Data {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * 4 + 40)
        func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        u32(UInt32(values.count))
        for value in values { u32(value.bitPattern) }
        for text in [mostViewedType, largestFamily] {
            let utf8 = Array(text.utf8.prefix(255))
            bytes.append(UInt8(utf8.count))
            bytes.append(contentsOf: utf8)
        }
        return Data(bytes)
    }

    /// The value of a customer dimension, NaN when missing or not in the snapshot.
    func value(_ name: String) -> Float {
        Self.slot[name].map { values[$0] } ?? .nan
    }

    /// The feature row of this customer for `family` in `space`, with their behaviour as
    /// ``BehaviourFeatures/compute(_:at:)`` gave it for the row's instant and the products
    /// available to them per family on its day.
    func features(family: Int, space: FeatureSpace, behaviour: [Float], available: FamilyAvailability) -> [Float] {
        var row = [Float](repeating: .nan, count: space.count)
        for index in 0..<space.customerCount { row[index] = value(space.names[index]) }
        space.fillPair(&row, family: family, inputs: .init(mostViewedType: mostViewedType, largestFamily: largestFamily,
                                                           familyValues: Self.familyValueSlots.map { values[$0] }, behaviour: behaviour,
                                                           available: available))
        return row
    }

    enum SnapshotError: Error {
        case truncated, stale
    }

    struct ByteReader {
        let bytes: [UInt8]
        var offset = 0

        mutating func u32() throws -> UInt32 {
            guard offset + 4 <= bytes.count else { throw SnapshotError.truncated }
            var value: UInt32 = 0
            for index in 0..<4 { value |= UInt32(bytes[offset + index]) << (8 * index) }
            offset += 4
            return value
        }

        mutating func string() throws -> String {
            guard offset < bytes.count else { throw SnapshotError.truncated }
            let length = Int(bytes[offset])
            offset += 1
            guard offset + length <= bytes.count else { throw SnapshotError.truncated }
            defer { offset += length }
            return String(decoding: bytes[offset..<offset + length], as: UTF8.self)
        }
    }
}

/// Month-end snapshots in the store, fetched from profiles once and kept.
enum SnapshotStore {
    static func count(_ db: Database, asOf: Int32) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM snapshot WHERE as_of = ?", arguments: [asOf]) ?? 0
    }

    static func rows(_ db: Database, asOf: Int32) throws -> [SnapshotRow] {
        try Row.fetchAll(db, sql: "SELECT customer_id, dimensions FROM snapshot WHERE as_of = ? ORDER BY customer_id", arguments: [asOf])
            .map { try SnapshotRow(customerID: $0[0], blob: $0[1]) }
    }

    /// Fetches the snapshot for `asOf` from profiles (replacing any partial one), `page` customers
    /// a call: profiles recomputes each page from its whole event log (it has no index by
    /// customer), so the number of pages multiplies the work.
    static func fetch(asOf: Int32, from profiles: RPCClient, into database: DatabasePool, page pageSize: Int = 20_000) async throws -> Int {
        try await database.write { db in try db.execute(sql: "DELETE FROM snapshot WHERE as_of = ?", arguments: [asOf]) }
        var after = ""
        var total = 0
        while true {
            let page = try await profiles.serverStreaming(
                Crm_Profiles_V1_Profiles.streamDimensionsAsOf,
                Crm_Profiles_V1_StreamDimensionsAsOfRequest.with {
                    $0.asOf = BusinessDays.date(asOf)
                    $0.afterCustomerID = after
                    $0.limit = UInt32(pageSize)
                },
                options: .timeout(.seconds(600))
            ).collect()
            guard let last = page.last else { return total }
            let rows = page.map(SnapshotRow.init)
            try await database.write { db in
                let insert = try db.makeStatement(sql: "INSERT OR REPLACE INTO snapshot (as_of, customer_id, dimensions) VALUES (?, ?, ?)")
                for row in rows { try insert.execute(arguments: [asOf, row.customerID, row.encoded()]) }
            }
            total += rows.count
            after = last.customerID
            if page.count < pageSize { return total }
        }
    }
}

import CRMProtos
import CustomerDimensions
import Foundation
import GRDB

/// A customer's dimensions and classes as the store keeps them: dense arrays aligned with the
/// catalog and the classifier's schemes, in a compact binary form. The wire's name-keyed maps are
/// built only when a caller asks (360 view, the feed), so loading a million customers into the
/// in-memory index is a copy of numbers, not a million map decodes.
///
/// Binary layout (little-endian): version u8 (1); as_of i32; n u32, then n f64; m u32, then m
/// strings; k u32, then k strings; a string is a u32 byte length then UTF-8 bytes.
struct StoredDimensions: Sendable, Equatable {
    var asOf: DayNumber
    /// Aligned with ``DimensionCatalog/numeric``; NaN = missing.
    var numbers: [Double]
    /// Aligned with ``DimensionCatalog/categorical``; empty = missing.
    var categories: [String]
    /// Aligned with the classifier's schemes.
    var classes: [String]

    init(asOf: DayNumber, numbers: [Double], categories: [String], classes: [String]) {
        self.asOf = asOf
        self.numbers = numbers
        self.categories = categories
        self.classes = classes
    }

    /// The values looked up definition by definition: the reference that ``aligned(_:classes:)``
    /// (what the service uses) is checked against.
    init(values: DimensionValues, classes: [String]) {
        self.init(
            asOf: values.asOf,
            numbers: DimensionCatalog.numeric.map { values.number($0) ?? .nan },
            categories: DimensionCatalog.categorical.map { values.category($0) ?? "" },
            classes: classes
        )
    }

    // MARK: Binary form (implemented in StoredDimensions+Bytes.swift)

    func serialized() -> Data { encodedBytes() }

    struct DecodingError: Error, CustomStringConvertible {
        let description: String
    }

    init(serialized data: Data) throws {
        self = try Self.decoded(data)
    }

    /// Equal when every value is the same, numbers bit for bit: two missing values (NaN) are the
    /// same value here, where IEEE `==` would find every customer with a missing number changed.
    static func == (lhs: StoredDimensions, rhs: StoredDimensions) -> Bool {
        lhs.isIdentical(to: rhs)
    }

    // MARK: Wire form

    /// The wire message; with `since`, only the entries that differ from it (a feed delta). With
    /// `positional`, the numbers go in `number_positions`/`number_values` (the feed's and the
    /// snapshot's compact form) rather than the name-keyed map (the 360 view's).
    func message(customerID: String, schemes: [String], since previous: StoredDimensions? = nil, positional: Bool = false) -> Crm_Profiles_V1_CustomerDimensions {
        var message = Crm_Profiles_V1_CustomerDimensions()
        message.customerID = customerID
        let civil = Days.civil(asOf)
        message.asOf = .init(year: civil.year, month: civil.month, day: civil.day)
        // Built in local arrays and assigned once (the message's storage is copy-on-write), with
        // names and positions from precomputed arrays: this runs per customer for the snapshot.
        let numbers = Self.changed(self.numbers, since: previous?.numbers, names: DimensionCatalog.numericNames,
                                   positions: DimensionCatalog.numericPositions, positional: positional,
                                   same: { $0.bitPattern == $1.bitPattern }, present: { !$0.isNaN })
        let categories = Self.changed(self.categories, since: previous?.categories, names: DimensionCatalog.categoricalNames,
                                      positions: DimensionCatalog.categoricalPositions, positional: positional,
                                      same: { $0 == $1 }, present: { !$0.isEmpty })
        // Classes by the scheme's position in `schemes`, which is ListClassificationSchemes' order.
        let classes = Self.changed(self.classes, since: previous?.classes, names: schemes, positions: schemes.indices.map { UInt32($0) },
                                   positional: positional, same: { $0 == $1 }, present: { _ in true })
        if positional {
            (message.numberPositions, message.numberValues) = (numbers.positions, numbers.values)
            (message.categoryPositions, message.categoryValues) = (categories.positions, categories.values)
            (message.classPositions, message.classValues) = (classes.positions, classes.values)
        } else {
            (message.numbers, message.categories, message.classes) = (numbers.named, categories.named, classes.named)
        }
        return message
    }

    /// The values of one kind (numbers, categories or classes) to announce: every one that differs
    /// from `previous` (all present ones when there is none), by position or by name.
    private static func changed<Value>(
        _ current: [Value], since previous: [Value]?, names: [String], positions: [UInt32], positional: Bool,
        same: (Value, Value) -> Bool, present: (Value) -> Bool
    ) -> (positions: [UInt32], values: [Value], named: [String: Value]) {
        var changedPositions: [UInt32] = [], values: [Value] = [], named: [String: Value] = [:]
        if positional {
            changedPositions.reserveCapacity(current.count)
            values.reserveCapacity(current.count)
        }
        for slot in 0..<min(current.count, names.count) {
            let value = current[slot]
            if let previous, slot < previous.count, same(previous[slot], value) { continue }
            guard present(value) || previous != nil else { continue }
            if positional {
                changedPositions.append(positions[slot])
                values.append(value)
            } else {
                named[names[slot]] = value
            }
        }
        return (changedPositions, values, named)
    }
}

/// Name-keyed reads over ``StoredDimensions`` (a missing customer row reads as all missing), with
/// the same shape as the wire message's maps: `view.numbers["total_assets"]`.
struct DimensionsView: Sendable {
    struct Lookup<Value: Sendable>: Sendable {
        let read: @Sendable (String) -> Value?
        subscript(_ name: String) -> Value? { read(name) }
    }

    let stored: StoredDimensions?

    static let numericSlots: [String: Int] = Dictionary(uniqueKeysWithValues: DimensionCatalog.numeric.enumerated().map { ($1.name, $0) })
    static let categorySlots: [String: Int] = Dictionary(uniqueKeysWithValues: DimensionCatalog.categorical.enumerated().map { ($1.name, $0) })
    static let schemeNames: [String] = SchemeName.allCases.map(\.rawValue)
    static let schemeSlots: [String: Int] = Dictionary(uniqueKeysWithValues: schemeNames.enumerated().map { ($1, $0) })

    init(_ stored: StoredDimensions?) {
        self.stored = stored
    }

    init(serialized data: Data?) throws {
        self.init(try data.map { try StoredDimensions(serialized: $0) })
    }

    var numbers: Lookup<Double> {
        let stored = stored
        return Lookup { name in
            guard let stored, let slot = Self.numericSlots[name], slot < stored.numbers.count, !stored.numbers[slot].isNaN else { return nil }
            return stored.numbers[slot]
        }
    }

    var categories: Lookup<String> {
        let stored = stored
        return Lookup { name in
            guard let stored, let slot = Self.categorySlots[name], slot < stored.categories.count, !stored.categories[slot].isEmpty else { return nil }
            return stored.categories[slot]
        }
    }

    var classes: Lookup<String> {
        let stored = stored
        return Lookup { name in
            guard let stored, let slot = Self.schemeSlots[name], slot < stored.classes.count else { return nil }
            return stored.classes[slot]
        }
    }

    /// The wire message (every value), for the 360 view.
    func message(customerID: String) -> Crm_Profiles_V1_CustomerDimensions {
        stored?.message(customerID: customerID, schemes: Self.schemeNames) ?? .with { $0.customerID = customerID }
    }
}

import CRMPartitions
import CRMProtos
import CRMRPC
import CRMWire
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
    /// The day profiles computed the row for (the message's `as_of`), when read from its bytes:
    /// a call for several days answers each customer once per day.
    var asOf: Int32?

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

    /// The row of one `CustomerDimensions` message read straight from its encoded bytes: only
    /// the customer id, the numbers this row keeps and the two categories are read, and no map
    /// is built. Decoding the message (238 numbers, the categories and classes into dictionaries)
    /// took two thirds of the replica's time when fetching a month-end snapshot, minutes per
    /// month at 100,000 customers. Either form is read: the name-keyed maps, or the positional
    /// fields (StreamDimensionsAsOf's `positional`) through `layout`, profiles' dictionary.
    init(wire bytes: Data, layout: SnapshotLayout = .names) throws {
        var customerID = ""
        var values = [Float](repeating: .nan, count: Self.names.count)
        var mostViewed = ""
        var largest = ""
        var asOf: Int32?
        // The positional fields: positions and values arrive as separate (packed) fields.
        var numberPositions: [UInt32] = []
        var numberValues: [Double] = []
        var categoryPositions: [UInt32] = []
        var categoryValues: [String] = []
        try bytes.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            var reader = WireCursor(buffer: buffer, from: 0, to: buffer.count)
            while !reader.atEnd {
                let (field, type) = try reader.tag()
                switch (field, type) {
                case (1, 2):
                    customerID = try reader.string()
                case (2, 2):
                    // numbers: map<string, double> entry {1: key, 2: value}
                    var entry = try reader.nested()
                    var slot: Int?
                    var value = Double.nan
                    while !entry.atEnd {
                        let (inner, innerType) = try entry.tag()
                        if inner == 1 && innerType == 2 {
                            slot = try entry.withString { Self.slot[$0] }
                        } else if inner == 2 && innerType == 1 {
                            value = Double(bitPattern: try entry.fixed64())
                        } else {
                            try entry.skip(innerType)
                        }
                    }
                    if let slot { values[slot] = Float(value) }
                case (3, 2):
                    // categories: map<string, string> entry {1: key, 2: value}
                    var entry = try reader.nested()
                    var key = ""
                    var value = ""
                    while !entry.atEnd {
                        let (inner, innerType) = try entry.tag()
                        if inner == 1 && innerType == 2 {
                            key = try entry.string()
                        } else if inner == 2 && innerType == 2 {
                            value = try entry.string()
                        } else {
                            try entry.skip(innerType)
                        }
                    }
                    if key == "most_viewed_product_type_90d" { mostViewed = value }
                    if key == "largest_product_type" { largest = value }
                case (6, 2):
                    // number_positions, packed varints
                    var packed = try reader.nested()
                    numberPositions.reserveCapacity(256)
                    while !packed.atEnd { numberPositions.append(UInt32(truncatingIfNeeded: try packed.varint())) }
                case (6, 0):
                    numberPositions.append(UInt32(truncatingIfNeeded: try reader.varint()))
                case (7, 2):
                    // number_values, packed doubles
                    var packed = try reader.nested()
                    numberValues.reserveCapacity(256)
                    while !packed.atEnd { numberValues.append(Double(bitPattern: try packed.fixed64())) }
                case (7, 1):
                    numberValues.append(Double(bitPattern: try reader.fixed64()))
                case (8, 2):
                    var packed = try reader.nested()
                    while !packed.atEnd { categoryPositions.append(UInt32(truncatingIfNeeded: try packed.varint())) }
                case (8, 0):
                    categoryPositions.append(UInt32(truncatingIfNeeded: try reader.varint()))
                case (9, 2):
                    categoryValues.append(try reader.string())
                case (5, 2):
                    // as_of: Date {1: year, 2: month, 3: day}
                    var date = try reader.nested()
                    var parts: [Int32] = [0, 0, 0]
                    while !date.atEnd {
                        let (inner, innerType) = try date.tag()
                        if (1...3).contains(inner) && innerType == 0 {
                            parts[Int(inner) - 1] = Int32(truncatingIfNeeded: try date.varint())
                        } else {
                            try date.skip(innerType)
                        }
                    }
                    let day = Crm_Common_V1_Date.with { $0.year = parts[0]; $0.month = parts[1]; $0.day = parts[2] }
                    asOf = day.isValid ? BusinessDays.day(day) : nil
                default:
                    try reader.skip(type)
                }
            }
        }
        for (position, value) in zip(numberPositions, numberValues) {
            if let slot = layout.slot(ofNumberAt: position) { values[slot] = Float(value) }
        }
        for (position, value) in zip(categoryPositions, categoryValues) {
            if position == layout.mostViewedPosition { mostViewed = value }
            if position == layout.largestPosition { largest = value }
        }
        self.customerID = customerID
        self.values = values
        mostViewedType = mostViewed
        largestFamily = largest
        self.asOf = asOf
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
        /// A month's snapshot rows were not the customers its plan read a moment before.
        case changed
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

/// Where the values of a positional `CustomerDimensions` go in a ``SnapshotRow``: profiles'
/// dictionary (ListDimensions, whose order the positions index) turned into row slots once, so a
/// row is read by array lookups rather than by hashing a name per value.
struct SnapshotLayout: Sendable {
    /// By position in the dictionary: the slot in ``SnapshotRow/values``, or -1 when a row does not keep it.
    let numberSlots: [Int32]
    /// The positions of the two categories a row keeps (`UInt32.max` when the dictionary lacks one).
    let mostViewedPosition: UInt32
    let largestPosition: UInt32

    /// From the dictionary's names in its order.
    init(dimensions names: [String]) {
        numberSlots = names.map { name in SnapshotRow.slot[name].map(Int32.init) ?? -1 }
        mostViewedPosition = names.firstIndex(of: "most_viewed_product_type_90d").map(UInt32.init) ?? .max
        largestPosition = names.firstIndex(of: "largest_product_type").map(UInt32.init) ?? .max
    }

    /// No dictionary: only the name-keyed maps are read (positions are ignored).
    static let names = SnapshotLayout(dimensions: [])

    /// Profiles' dictionary as it is now.
    static func read(from profiles: RPCClient) async throws -> SnapshotLayout {
        let dictionary = try await profiles.unary(Crm_Profiles_V1_Profiles.listDimensions, Crm_Profiles_V1_ListDimensionsRequest())
        return SnapshotLayout(dimensions: dictionary.dimensions.map(\.name))
    }

    func slot(ofNumberAt position: UInt32) -> Int? {
        guard Int(position) < numberSlots.count else { return nil }
        let slot = numberSlots[Int(position)]
        return slot < 0 ? nil : Int(slot)
    }
}

/// Month-end snapshots in the store, fetched from profiles once and kept.
enum SnapshotStore {
    static func count(_ db: Database, asOf: Int32) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM snapshot WHERE as_of = ?", arguments: [asOf]) ?? 0
    }

    static func rows(_ db: Database, asOf: Int32) throws -> [SnapshotRow] {
        try Array(cursor(db, asOf: asOf))
    }

    /// A month-end's rows one at a time, in customer id order (byte order): a month of a large
    /// book is read without being held whole. Each of the day's runs is read in key order and
    /// the runs are merged (``RunMerge``).
    static func cursor(_ db: Database, asOf: Int32) throws -> RunMerge<SnapshotRow> {
        try merged(db, asOf: asOf, columns: "customer_id, dimensions", key: \.customerID) { try SnapshotRow(customerID: $0[0], blob: $0[1]) }
    }

    /// A month-end's customers, in the order of ``cursor(_:asOf:)``.
    static func customerIDs(_ db: Database, asOf: Int32) throws -> [String] {
        try Array(merged(db, asOf: asOf, columns: "customer_id", key: { $0 }) { $0[0] as String })
    }

    /// A run of a month-end's rows in customer order: one range of the key, no sorting.
    static func runSQL(_ columns: String) -> String {
        "SELECT \(columns) FROM snapshot WHERE as_of = ? AND run = ? ORDER BY customer_id"
    }

    /// `columns` of a month-end's rows, read run by run and merged into customer order.
    private static func merged<Element>(_ db: Database, asOf: Int32, columns: String, key: @escaping (Element) -> String,
                                        _ decode: @escaping (Row) throws -> Element) throws -> RunMerge<Element> {
        let runs = try runs(db, asOf: asOf).map { run in
            AnyCursor(try Row.fetchCursor(db, sql: runSQL(columns), arguments: [asOf, run]).map(decode))
        }
        return RunMerge(runs, key: key)
    }

    /// The runs a month-end's rows were stored in (one seek each: the key starts with the day
    /// and the run).
    private static func runs(_ db: Database, asOf: Int32) throws -> [Int] {
        var runs: [Int] = []
        let next = try db.makeStatement(sql: "SELECT run FROM snapshot WHERE as_of = ? AND run > ? ORDER BY run LIMIT 1")
        while let run = try Int.fetchOne(next, arguments: [asOf, runs.last ?? Int.min]) { runs.append(run) }
        return runs
    }

    /// The run a partition's rows are stored in when fetched alone; pages across the book are
    /// run 0.
    static func run(ofPartition partition: UInt32) -> Int {
        Int(partition) + 1
    }

    /// Fetches the snapshots for several month-ends in one pass (StreamDimensionsAsOf's
    /// `as_of_days`): profiles reads and folds each customer's events once for all the days
    /// instead of once per day, so a new replica's first training costs about one pass over the
    /// log per page rather than twelve. Rows are stored under the day each message carries, as
    /// they arrive (20,000 at a time). A profiles older than `as_of_days` answers only `as_of`
    /// (the first day): every day that got no row is then fetched alone. Returns the rows stored
    /// per day; `progress` gets the customers fetched so far after each page.
    static func fetch(
        days: [Int32], from profiles: RPCClient, into database: DatabasePool, page pageSize: Int = 20_000,
        partitions: [UInt32] = [], keeping keep: @escaping @Sendable (String) -> Bool = { _ in true }, progress: @Sendable (Int) -> Void = { _ in }
    ) async throws -> [Int32: Int] {
        let days = Array(Set(days)).sorted()
        guard !days.isEmpty else { return [:] }
        try await clear(days, in: database)
        let (stored, customers) = try await withBulkStreams(from: profiles, count: 1) { clients in
            try await pages(days: days, from: clients[0], into: database, page: pageSize, partitions: partitions, keeping: keep, progress: progress)
        }
        return try await fetchDaysAlone(stored, days: days, customers: customers, from: profiles, into: database, page: pageSize,
                                        partitions: partitions, keeping: keep)
    }

    /// The same month-ends fetched a partition at a time, `calls` partitions at once, for a profiles
    /// that keeps a file per partition (GetPartitionMap's `feeds_per_partition`): a call naming one
    /// partition reads that partition's file alone, so the book's month-ends cost one read of the
    /// event log in all, where pages across the book read every file once per page (a file has no
    /// index by customer: 50 reads of the whole log at a million customers and pages of 20,000).
    /// Profiles answers each call on a core of its own. `partitions` are the ones to fetch (a
    /// group's; empty: all of `partitioning`'s); each call keeps only its partition's customers,
    /// whatever a profiles that ignored the field sent. The rows are the ones ``fetch(days:from:into:page:partitions:keeping:progress:)``
    /// stores; `progress` gets the customers fetched so far after each partition.
    static func fetch(
        days: [Int32], from profiles: RPCClient, into database: DatabasePool, page pageSize: Int = 20_000,
        byPartition partitioning: Partitioning, partitions: [UInt32] = [], calls: Int = 2,
        keeping keep: @escaping @Sendable (String) -> Bool = { _ in true }, progress: @Sendable (Int) -> Void = { _ in }
    ) async throws -> [Int32: Int] {
        let days = Array(Set(days)).sorted()
        guard !days.isEmpty else { return [:] }
        try await clear(days, in: database)
        let each = partitions.isEmpty ? (0..<partitioning.count).map(UInt32.init) : partitions
        var stored: [Int32: Int] = [:]
        var customers = 0
        // Each call at once streams on a connection of its own (a slot), bounded.
        try await withBulkStreams(from: profiles, count: max(1, calls)) { clients in
            try await withThrowingTaskGroup(of: (slot: Int, stored: [Int32: Int], customers: Int).self) { group in
                var next = each.makeIterator()
                func start(slot: Int) {
                    guard let partition = next.next() else { return }
                    let client = clients[slot]
                    group.addTask {
                        let part = try await pages(days: days, from: client, into: database, page: pageSize, partitions: [partition],
                                                   run: run(ofPartition: partition)) { id in
                            partitioning.partition(of: id) == Int(partition) && keep(id)
                        }
                        return (slot, part.stored, part.customers)
                    }
                }
                for slot in clients.indices { start(slot: slot) }
                while let part = try await group.next() {
                    stored.merge(part.stored, uniquingKeysWith: +)
                    customers += part.customers
                    if part.customers > 0 { progress(customers) }
                    start(slot: part.slot)
                }
            }
        }
        return try await fetchDaysAlone(stored, days: days, customers: customers, from: profiles, into: database, page: pageSize,
                                        partitions: partitions, keeping: keep)
    }

    /// Runs `body` with `count` clients of profiles' own, for streams bounded to what the replica
    /// has stored (``RPCClient/forBulkStreams(backlogLimit:)``): a page of month-ends streams
    /// faster than the replica writes it, and each call's messages ahead of the writer were held
    /// by the connection: at a million customers the replica stood at 1,920–2,052 MiB through the
    /// month-ends with two calls unbounded, 1,722 MiB bounded. Closes them whatever happens.
    private static func withBulkStreams<T>(from profiles: RPCClient, count: Int, _ body: ([RPCClient]) async throws -> T) async throws -> T {
        let clients = (0..<count).map { _ in profiles.forBulkStreams() }
        do {
            let result = try await body(clients)
            for client in clients { await client.close() }
            return result
        } catch {
            for client in clients { await client.close() }
            throw error
        }
    }

    /// Drops what is stored for `days` (a partial fetch's rows are replaced whole).
    private static func clear(_ days: [Int32], in database: DatabasePool) async throws {
        try await database.write { db in
            for day in days { try db.execute(sql: "DELETE FROM snapshot WHERE as_of = ?", arguments: [day]) }
        }
    }

    /// A profiles older than `as_of_days` answered the first day only: each other day that got no
    /// row is fetched alone.
    private static func fetchDaysAlone(
        _ stored: [Int32: Int], days: [Int32], customers: Int, from profiles: RPCClient, into database: DatabasePool, page pageSize: Int,
        partitions: [UInt32], keeping keep: @escaping @Sendable (String) -> Bool
    ) async throws -> [Int32: Int] {
        var stored = stored
        for day in days.dropFirst() where stored[day, default: 0] == 0 && customers > 0 {
            stored[day] = try await fetch(asOf: day, from: profiles, into: database, page: pageSize, partitions: partitions, keeping: keep)
        }
        return stored
    }

    /// Pages through the customers of `partitions` (empty: all), `days` (ascending) in each call,
    /// storing the kept rows as they arrive, in `run` (they come in customer order: each day's
    /// rows are appended to the run). Returns the rows stored per day and the customers the pages
    /// brought (kept or not).
    private static func pages(
        days: [Int32], from profiles: RPCClient, into database: DatabasePool, page pageSize: Int, partitions: [UInt32], run: Int = 0,
        keeping keep: @Sendable (String) -> Bool, progress: @Sendable (Int) -> Void = { _ in }
    ) async throws -> (stored: [Int32: Int], customers: Int) {
        guard let first = days.first else { return ([:], 0) }
        var stored: [Int32: Int] = [:]
        var after = ""
        var customers = 0
        func store(_ batch: [SnapshotRow]) async throws {
            try await database.write { db in
                let insert = try db.makeStatement(sql: "INSERT OR REPLACE INTO snapshot (as_of, run, customer_id, dimensions) VALUES (?, ?, ?, ?)")
                for row in batch { try insert.execute(arguments: [row.asOf ?? first, run, row.customerID, row.encoded()]) }
            }
            for row in batch { stored[row.asOf ?? first, default: 0] += 1 }
        }
        while true {
            // The compact answer (values by position, no names): building, encoding and reading
            // 238 name-keyed numbers per customer and month-end was most of the work. The
            // dictionary is read per page, so a profiles upgraded between pages is read right.
            let layout = try await SnapshotLayout.read(from: profiles)
            let request = Crm_Profiles_V1_StreamDimensionsAsOfRequest.with {
                $0.asOf = BusinessDays.date(first)
                $0.asOfDays = days.map(BusinessDays.date)
                $0.afterCustomerID = after
                $0.limit = UInt32(pageSize)
                $0.positional = true
                $0.partitions = partitions
            }
            let payload: Data = try request.serializedBytes()
            let stream = try await profiles.serverStreamingRaw(
                Crm_Profiles_V1_Profiles.streamDimensionsAsOf.path, payload: payload, options: .timeout(.seconds(1_800))
            )
            var batch: [SnapshotRow] = []
            batch.reserveCapacity(20_000)
            var pageCustomers = 0
            var last = ""
            for try await message in stream {
                let row = try SnapshotRow(wire: message, layout: layout)
                if row.customerID != last {
                    pageCustomers += 1
                    last = row.customerID
                }
                // A matching group's replica keeps its own customers' rows (and pages through all).
                if keep(row.customerID) { batch.append(row) }
                if batch.count == 20_000 {
                    try await store(batch)
                    batch.removeAll(keepingCapacity: true)
                }
            }
            if !batch.isEmpty { try await store(batch) }
            customers += pageCustomers
            // The last page of a book that fills its pages exactly brings nobody: no report for it.
            if pageCustomers > 0 { progress(customers) }
            if pageCustomers < pageSize { return (stored, customers) }
            after = last
        }
    }

    /// Fetches the snapshot for `asOf` from profiles (replacing any partial one), `page` customers
    /// a call: profiles recomputes each page from its whole event log (it has no index by
    /// customer), so the number of pages multiplies the work. Training asks for all the month-ends
    /// it lacks at once (``fetch(days:from:into:page:progress:)``).
    static func fetch(asOf: Int32, from profiles: RPCClient, into database: DatabasePool, page pageSize: Int = 20_000,
                      partitions: [UInt32] = [], keeping keep: @Sendable (String) -> Bool = { _ in true }) async throws -> Int {
        try await database.write { db in try db.execute(sql: "DELETE FROM snapshot WHERE as_of = ?", arguments: [asOf]) }
        var after = ""
        var total = 0
        while true {
            // Each customer's message becomes its compact row as it arrives, read from its bytes
            // (``SnapshotRow/init(wire:)``): collecting a page of 20,000 decoded messages (name-keyed
            // maps of every dimension) first took 1.6 GB of the replica's memory.
            let layout = try await SnapshotLayout.read(from: profiles)
            let request = Crm_Profiles_V1_StreamDimensionsAsOfRequest.with {
                $0.asOf = BusinessDays.date(asOf)
                $0.afterCustomerID = after
                $0.limit = UInt32(pageSize)
                $0.positional = true
                $0.partitions = partitions
            }
            let payload: Data = try request.serializedBytes()
            let stream = try await profiles.serverStreamingRaw(
                Crm_Profiles_V1_Profiles.streamDimensionsAsOf.path, payload: payload, options: .timeout(.seconds(600))
            )
            var rows: [SnapshotRow] = []
            rows.reserveCapacity(pageSize)
            for try await message in stream { rows.append(try SnapshotRow(wire: message, layout: layout)) }
            guard let last = rows.last else { return total }
            let page = rows.filter { keep($0.customerID) }
            try await database.write { db in
                let insert = try db.makeStatement(sql: "INSERT OR REPLACE INTO snapshot (as_of, run, customer_id, dimensions) VALUES (?, 0, ?, ?)")
                for row in page { try insert.execute(arguments: [asOf, row.customerID, row.encoded()]) }
            }
            total += page.count
            after = last.customerID
            if rows.count < pageSize { return total }
        }
    }
}

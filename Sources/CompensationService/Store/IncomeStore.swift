import CompensationSettlement
import CRMProtos
import Foundation
import GRDB

/// What the feeds record: income items, asset flows, end-of-day assets, known customers, product
/// rebate rates and package subscriptions, and each feed's cursor. Static functions over a
/// `Database`, so a feed consumer applies a whole batch and advances its cursor in one transaction:
/// after a crash it resumes exactly where it stopped, nothing counted twice, nothing missed.
public enum IncomeStore {
    // MARK: Cursors

    /// The last position applied from `feed` (0 before the first).
    public static func cursor(_ db: Database, feed: String) throws -> UInt64 {
        UInt64(try Int64.fetchOne(db.cachedStatement(sql: "SELECT position FROM feed_cursor WHERE feed = ?"), arguments: [feed]) ?? 0)
    }

    public static func setCursor(_ db: Database, feed: String, position: UInt64) throws {
        try db.cachedStatement(sql: """
            INSERT INTO feed_cursor (feed, position) VALUES (?, ?)
            ON CONFLICT(feed) DO UPDATE SET position = excluded.position
            """).execute(arguments: [feed, Int64(clamping: position)])
    }

    // MARK: Income items

    /// Records `item` unless an item with its source event id is already recorded; returns whether
    /// it was new. Its ingest sequence is assigned here (the item's own is ignored).
    @discardableResult
    public static func record(_ db: Database, _ item: IncomeItem) throws -> Bool {
        let statement = try db.cachedStatement(sql: """
            INSERT INTO income_item (source_event_id, customer_id, day, occurred_at, source, amount_fen, fees_fen, other_costs,
                                     code, rebate_bp, credited_manager_id, adjustment)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(source_event_id) DO NOTHING
            """)
        var amount: Int64 = 0
        var fees: Int64 = 0
        var costs: String?
        var code: String?
        var rebate: Int?
        switch item.kind {
        case .trade(let trade):
            amount = trade.commissionFen
            fees = Fen.sum(trade.exchangeFeesFen, trade.regulatoryFeesFen)
            let other = trade.otherCosts
            costs = other.isEmpty ? nil : other.map { "\($0.name)=\($0.fen)" }.joined(separator: ";")
        case .marginInterest(let interest):
            amount = interest
        case .productSale(let sale):
            amount = sale.amountFen
            code = sale.productCode
            rebate = sale.rebateRate.value
        case .advisoryFee(let fee):
            amount = fee.feeFen
            code = fee.packageID
        }
        try statement.execute(arguments: [
            item.sourceEventID, item.customerID, item.day.daysSince1970, item.occurredAtMillis, item.source.index, amount, fees, costs,
            code, rebate, item.creditedManagerID, item.isAdjustment ? 1 : 0,
        ])
        return db.changesCount > 0
    }

    /// The highest ingest sequence recorded (0 when none).
    static func lastSequence(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(ingest_sequence), 0) FROM income_item") ?? 0
    }

    /// The earliest day with income (recorded through `through`, when given), or nil.
    static func earliestDay(_ db: Database, through: Int64 = .max) throws -> CalendarDay? {
        try Int32.fetchOne(db, sql: "SELECT MIN(day) FROM income_item WHERE ingest_sequence <= ?", arguments: [through])
            .map(CalendarDay.init(daysSince1970:))
    }

    static let columns = """
        ingest_sequence, source_event_id, customer_id, day, occurred_at, source, amount_fen, fees_fen, other_costs, code, rebate_bp,
        credited_manager_id, adjustment
        """

    /// Items whose day lies in `days` recorded up to `through`.
    static func items(_ db: Database, days: ClosedRange<CalendarDay>, through: Int64) throws -> [IncomeItem] {
        // In statement order (the day index holds each day's items by rowid), so nothing is re-sorted.
        try items(db, sql: "SELECT \(columns) FROM income_item WHERE day BETWEEN ? AND ? AND ingest_sequence <= ? ORDER BY day, ingest_sequence",
                  arguments: [days.lowerBound.daysSince1970, days.upperBound.daysSince1970, through])
    }

    /// Items dated before `day` recorded after `after` and up to `through`: the candidates for late
    /// items of closed months.
    static func items(_ db: Database, before day: CalendarDay, recordedAfter after: Int64, through: Int64) throws -> [IncomeItem] {
        guard through > after else { return [] }
        return try items(db, sql: "SELECT \(columns) FROM income_item WHERE ingest_sequence > ? AND ingest_sequence <= ? AND day < ?",
                         arguments: [after, through, day.daysSince1970])
    }

    private static func items(_ db: Database, sql: String, arguments: StatementArguments) throws -> [IncomeItem] {
        var items: [IncomeItem] = []
        let cursor = try Row.fetchCursor(db, sql: sql, arguments: arguments)
        while let row = try cursor.next() {
            items.append(try item(from: row))
        }
        return items
    }

    private static func item(from row: Row) throws -> IncomeItem {
        let sequence: Int64 = row[0]
        let amount: Int64 = row[6]
        let sourceIndex: Int = row[5]
        let kind: IncomeKind
        switch IncomeSource(index: sourceIndex) {
        case .cashCommission, .marginCommission:
            let costs: String? = row[8]
            let (first, more) = costs.map(parseCosts) ?? (nil, [])
            kind = .trade(TradeCommission(
                account: sourceIndex == IncomeSource.marginCommission.index ? .margin : .cash, commissionFen: amount,
                exchangeFeesFen: row[7], regulatoryFeesFen: 0, firstCost: first, moreCosts: more
            ))
        case .marginInterest:
            kind = .marginInterest(interestFen: amount)
        case .productRebate:
            kind = .productSale(ProductSale(productCode: row[9] ?? "", amountFen: amount, rebateRate: BasisPoints(row[10] ?? 0)))
        case .advisoryFee:
            kind = .advisoryFee(AdvisoryFee(packageID: row[9] ?? "", feeFen: amount))
        case nil:
            throw DatabaseError(message: "income item \(sequence) has an unknown source \(sourceIndex)")
        }
        return IncomeItem(
            sourceEventID: row[1], customerID: row[2], day: CalendarDay(daysSince1970: row[3]), occurredAtMillis: row[4], kind: kind,
            isAdjustment: (row[12] as Int) != 0, ingestSequence: sequence, creditedManagerID: row[11]
        )
    }

    /// "transfer=12;channel=3" → the first cost and the others. Scans the bytes once and allocates
    /// nothing for a single cost (this runs for every trade read).
    static func parseCosts(_ text: String) -> (first: NamedCost?, more: [NamedCost]) {
        var first: NamedCost?
        var costs: [NamedCost] = []
        var utf8 = text.utf8[...]
        while !utf8.isEmpty {
            let end = utf8.firstIndex(of: UInt8(ascii: ";")) ?? utf8.endIndex
            let part = utf8[..<end]
            if let equals = part.firstIndex(of: UInt8(ascii: "=")) {
                var fen: Int64 = 0
                var negative = false
                var valid = equals != part.index(before: part.endIndex)
                for byte in part[part.index(after: equals)...] {
                    if byte == UInt8(ascii: "-"), fen == 0, !negative {
                        negative = true
                    } else if (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
                        fen = fen &* 10 &+ Int64(byte - UInt8(ascii: "0"))
                    } else {
                        valid = false
                    }
                }
                if valid {
                    let cost = NamedCost(name: String(decoding: part[..<equals], as: UTF8.self), fen: negative ? -fen : fen)
                    if first == nil { first = cost } else { costs.append(cost) }
                }
            }
            utf8 = end == utf8.endIndex ? utf8[end...] : utf8[utf8.index(after: end)...]
        }
        return (first, costs)
    }

    // MARK: Assets, flows, customers

    /// A deposit (+) or withdrawal (-) from the profiles event whose identity is `key`
    /// (``ProfilesEventIdentity``), unless recorded already; returns whether it was new.
    @discardableResult
    public static func recordFlow(_ db: Database, key: String, _ flow: AssetFlow) throws -> Bool {
        try db.cachedStatement(sql: "INSERT INTO asset_flow (flow_key, customer_id, day, amount_fen) VALUES (?, ?, ?, ?) ON CONFLICT(flow_key) DO NOTHING")
            .execute(arguments: [key, flow.customerID, flow.day.daysSince1970, flow.amountFen])
        return db.changesCount > 0
    }

    /// Whether the profiles event with identity `key` was recorded under its legacy id
    /// (`pe:<event_id>`, before events were keyed by identity): see ``LegacyEventKeys``.
    static func isLegacyRecorded(_ db: Database, key: String) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM legacy_profiles_event WHERE identity = ?"), arguments: [key]) != nil
    }

    /// A customer's end-of-day total assets; a later report of the same day replaces it.
    public static func recordAssets(_ db: Database, _ assets: CustomerAssets) throws {
        try db.cachedStatement(sql: """
            INSERT INTO customer_assets (customer_id, day, total_fen) VALUES (?, ?, ?)
            ON CONFLICT(customer_id, day) DO UPDATE SET total_fen = excluded.total_fen
            """).execute(arguments: [assets.customerID, assets.day.daysSince1970, assets.totalAssetsFen])
    }

    /// A customer profiles knows, with its open date when it has an account.
    public static func recordCustomer(_ db: Database, id: String, branchID: String, status: Int, openDay: CalendarDay?) throws {
        try db.cachedStatement(sql: """
            INSERT INTO customer (customer_id, branch_id, status, open_day) VALUES (?, ?, ?, ?)
            ON CONFLICT(customer_id) DO UPDATE SET branch_id = excluded.branch_id, status = excluded.status, open_day = excluded.open_day
            """).execute(arguments: [id, branchID, status, openDay?.daysSince1970])
    }

    /// The ids among `ids` that are known customers.
    static func knownCustomers(_ db: Database, among ids: [String]) throws -> Set<String> {
        var known: Set<String> = []
        for start in stride(from: 0, to: ids.count, by: 500) {
            let part = Array(ids[start..<min(start + 500, ids.count)])
            let marks = Array(repeating: "?", count: part.count).joined(separator: ",")
            known.formUnion(try String.fetchAll(db, sql: "SELECT customer_id FROM customer WHERE customer_id IN (\(marks))", arguments: StatementArguments(part)))
        }
        return known
    }

    // MARK: Products and subscriptions

    public static func recordProductVersion(_ db: Database, code: String, version: UInt32, rebate: BasisPoints, effectiveAtMillis: Int64) throws {
        try db.cachedStatement(sql: """
            INSERT INTO product_version (product_code, version, rebate_bp, effective_at) VALUES (?, ?, ?, ?)
            ON CONFLICT(product_code, version) DO UPDATE SET rebate_bp = excluded.rebate_bp, effective_at = excluded.effective_at
            """).execute(arguments: [code, Int64(version), rebate.value, effectiveAtMillis])
    }

    /// The rebate rate of a product version; without that version, of the latest version in force at
    /// `atMillis`; nil when the product is unknown.
    static func rebate(_ db: Database, code: String, version: UInt32, atMillis: Int64) throws -> BasisPoints? {
        if let exact = try Int.fetchOne(db.cachedStatement(sql: "SELECT rebate_bp FROM product_version WHERE product_code = ? AND version = ?"),
                                        arguments: [code, Int64(version)]) {
            return BasisPoints(exact)
        }
        let latest = try db.cachedStatement(sql: """
            SELECT rebate_bp FROM product_version WHERE product_code = ? AND effective_at <= ? ORDER BY version DESC LIMIT 1
            """)
        return try Int.fetchOne(latest, arguments: [code, atMillis]).map { BasisPoints($0) }
    }

    public static func recordSubscription(_ db: Database, _ subscription: AdvisorySubscription) throws {
        var monthly: Int64?
        var percentage: Int?
        switch subscription.fee {
        case .monthly(let fen): monthly = fen
        case .assetPercentage(let rate): percentage = rate.value
        }
        try db.cachedStatement(sql: """
            INSERT INTO advisory_subscription (customer_id, package_code, monthly_fee_fen, asset_bp, start_day) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT(customer_id, package_code) DO NOTHING
            """).execute(arguments: [subscription.customerID, subscription.packageCode, monthly, percentage, subscription.startDay.daysSince1970])
    }

    static func subscriptions(_ db: Database) throws -> [AdvisorySubscription] {
        try Row.fetchAll(db, sql: "SELECT * FROM advisory_subscription ORDER BY customer_id, package_code").map { row in
            let monthly: Int64? = row["monthly_fee_fen"]
            let fee: AdvisorySubscription.Fee = monthly.map { .monthly(fen: $0) } ?? .assetPercentage(BasisPoints(row["asset_bp"] ?? 0))
            return AdvisorySubscription(customerID: row["customer_id"], packageCode: row["package_code"], fee: fee,
                                        startDay: CalendarDay(daysSince1970: row["start_day"]))
        }
    }

    /// A customer's total assets at the end of `day` (the latest report on or before it; 0 if none).
    static func assets(_ db: Database, customerID: String, on day: CalendarDay) throws -> Int64 {
        try Int64.fetchOne(db.cachedStatement(sql: """
            SELECT total_fen FROM customer_assets WHERE customer_id = ? AND day <= ? ORDER BY day DESC LIMIT 1
            """), arguments: [customerID, day.daysSince1970]) ?? 0
    }

    // MARK: Assessment inputs

    /// The asset points that matter for `month`: each customer's last report before it, and every
    /// report in it.
    static func assetPoints(_ db: Database, month: CalendarMonth) throws -> [CustomerAssets] {
        let first = month.firstDay.daysSince1970, last = month.lastDay.daysSince1970
        var points: [CustomerAssets] = []
        let carried = try Row.fetchCursor(db, sql: """
            SELECT a.customer_id, a.day, a.total_fen FROM customer_assets a
            JOIN (SELECT customer_id, MAX(day) AS day FROM customer_assets WHERE day < ? GROUP BY customer_id) m
              ON a.customer_id = m.customer_id AND a.day = m.day
            """, arguments: [first])
        while let row = try carried.next() {
            points.append(CustomerAssets(customerID: row[0], day: CalendarDay(daysSince1970: row[1]), totalAssetsFen: row[2]))
        }
        let inMonth = try Row.fetchCursor(db, sql: "SELECT customer_id, day, total_fen FROM customer_assets WHERE day BETWEEN ? AND ?", arguments: [first, last])
        while let row = try inMonth.next() {
            points.append(CustomerAssets(customerID: row[0], day: CalendarDay(daysSince1970: row[1]), totalAssetsFen: row[2]))
        }
        return points
    }

    static func flows(_ db: Database, month: CalendarMonth) throws -> [AssetFlow] {
        try Row.fetchAll(db, sql: "SELECT customer_id, day, amount_fen FROM asset_flow WHERE day BETWEEN ? AND ?",
                         arguments: [month.firstDay.daysSince1970, month.lastDay.daysSince1970]).map {
            AssetFlow(customerID: $0[0], day: CalendarDay(daysSince1970: $0[1]), amountFen: $0[2])
        }
    }

    static func openings(_ db: Database, month: CalendarMonth) throws -> [CustomerOpening] {
        try Row.fetchAll(db, sql: "SELECT customer_id, open_day FROM customer WHERE open_day BETWEEN ? AND ?",
                         arguments: [month.firstDay.daysSince1970, month.lastDay.daysSince1970]).map {
            CustomerOpening(customerID: $0[0], openedOn: CalendarDay(daysSince1970: $0[1]))
        }
    }
}

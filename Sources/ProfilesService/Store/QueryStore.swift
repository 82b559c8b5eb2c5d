import CRMProtos
import CRMRPC
import CRMRules
import CustomerDimensions
import Foundation
import GRDB

/// Read-only views over customers and their dimensions: the 360° view, rule searches, books,
/// branch figures and class distributions. Scans read one snapshot (a read transaction).
struct QueryStore: Sendable {
    let database: DatabasePool

    typealias Summary = Crm_Profiles_V1_CustomerSummary

    struct Scanned: Sendable {
        let customer: Crm_Profiles_V1_Customer
        let dimensions: DimensionsView
    }

    /// Every customer (of one manager, or one branch) with its dimensions, in id order.
    func scan(managerID: String? = nil, branchID: String? = nil, _ visit: @escaping @Sendable (Scanned) throws -> Bool) async throws {
        try await database.read { db in
            var sql = "SELECT c.*, d.dimensions AS dims FROM customer c LEFT JOIN customer_dimensions d ON d.customer_id = c.customer_id"
            var arguments: StatementArguments = []
            if let managerID {
                sql += " WHERE c.manager_id = ?"
                arguments += [managerID]
            } else if let branchID {
                sql += " WHERE c.branch_id = ?"
                arguments += [branchID]
            }
            sql += " ORDER BY c.customer_id"
            let cursor = try Row.fetchCursor(db, sql: sql, arguments: arguments)
            while let row = try cursor.next() {
                let dims: Data? = row["dims"]
                let scanned = Scanned(
                    customer: CustomerStore.customer(from: row),
                    dimensions: DimensionsView(try dims.map(StoredDimensions.decoded))
                )
                if try !visit(scanned) { return }
            }
        }
    }

    /// The customers `ids` with their dimensions, in the order given.
    func scanned(ids: [String]) async throws -> [Scanned] {
        guard !ids.isEmpty else { return [] }
        return try await database.read { db in
            let placeholders = Array(repeating: "?", count: ids.count).joined(separator: ",")
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT c.*, d.dimensions AS dims FROM customer c LEFT JOIN customer_dimensions d ON d.customer_id = c.customer_id WHERE c.customer_id IN (\(placeholders))",
                arguments: StatementArguments(ids)
            )
            var byID: [String: Scanned] = [:]
            for row in rows {
                let dims: Data? = row["dims"]
                let customer = CustomerStore.customer(from: row)
                byID[customer.customerID] = Scanned(
                    customer: customer,
                    dimensions: DimensionsView(try dims.map(StoredDimensions.decoded))
                )
            }
            return ids.compactMap { byID[$0] }
        }
    }

    func view360(id: String, recentLimit: Int, segments: [(String, CompiledRule)]) async throws -> Crm_Profiles_V1_Customer360? {
        try await database.read { db in
            guard let customer = try CustomerStore.fetch(db, id: id) else { return nil }
            var view = Crm_Profiles_V1_Customer360()
            view.customer = customer
            var dimensions = DimensionsView(nil)
            view.statusHistory = try CustomerStore.statusHistory(db, id: id)
            view.assessmentHistory = try CustomerStore.assessments(db, id: id)
            if let current = view.assessmentHistory.last { view.currentAssessment = current }
            // From the dimensions: a customer with no event yet (a prospect, a seeded customer) has
            // dimensions and no ledger row.
            if let row = try Row.fetchOne(db.cachedStatement(sql: """
                SELECT l.ledger, l.recent, d.dimensions FROM customer_dimensions d LEFT JOIN customer_ledger l ON l.customer_id = d.customer_id
                WHERE d.customer_id = ?
                """), arguments: [id]) {
                let ledger = try (row[0] as Data?).map { try CustomerLedger(serialized: [UInt8]($0)) } ?? CustomerLedger()
                let recent = try (row[1] as Data?).map { try RecentActivity(stored: $0) } ?? RecentActivity()
                dimensions = DimensionsView(try StoredDimensions.decoded(row[2] as Data))
                view.dimensions = dimensions.message(customerID: id)
                view.recentTrades = try recent.tradeMessages(limit: recentLimit)
                view.recentContacts = try recent.contactMessages(limit: recentLimit)
                if let position = ledger.position {
                    view.cash = .fen(position.cashFen)
                    view.totalAssets = .fen(position.totalAssetsFen)
                    view.positions = position.holdings.map { holding in
                        .with {
                            $0.instrument = holding.instrument
                            $0.instrumentType = Crm_Profiles_V1_InstrumentType(rawValue: Int(holding.instrumentType.rawValue)) ?? .other
                            $0.sector = holding.sector
                            $0.quantity = holding.quantity
                            $0.marketValue = .fen(holding.marketValueFen)
                            $0.cost = .fen(holding.costFen)
                        }
                    }
                    view.products = position.products.map { product in
                        .with {
                            $0.productCode = product.productCode
                            $0.productType = product.productType
                            $0.marketValue = .fen(product.marketValueFen)
                            $0.cost = .fen(product.costFen)
                        }
                    }
                }
                if let margin = ledger.margin {
                    let civil = Days.civil(margin.day)
                    view.margin = .with {
                        $0.asOf = .init(year: civil.year, month: civil.month, day: civil.day)
                        $0.collateralValue = .fen(margin.collateralFen)
                        $0.financingLiability = .fen(margin.financingFen)
                        $0.securitiesBorrowedValue = .fen(margin.securitiesBorrowedFen)
                        $0.interestAccrued = .fen(margin.interestAccruedFen)
                        $0.creditLimit = .fen(margin.creditLimitFen)
                        $0.maintenanceRatioBp = margin.maintenanceRatioBP
                    }
                }
            }
            let record = ProfileRecord(customer: customer, dimensions: dimensions)
            view.segments = segments.filter { $0.1.matches(record) }.map(\.0)
            return view
        }
    }

    static func summary(_ scanned: Scanned) -> Summary {
        let numbers = scanned.dimensions.numbers
        return .with {
            $0.customerID = scanned.customer.customerID
            $0.name = scanned.customer.name
            $0.status = scanned.customer.status
            $0.branchID = scanned.customer.branchID
            $0.managerID = scanned.customer.managerID
            $0.totalAssets = .fen(Int64((numbers["total_assets"] ?? 0).rounded()))
            $0.avgAssets90D = .fen(Int64((numbers["avg_assets_90d"] ?? 0).rounded()))
            $0.positionRatio = numbers["position_ratio"] ?? 0
            $0.assetTier = scanned.dimensions.classes["asset_tier"] ?? ""
            $0.lifecycleStage = scanned.dimensions.classes["lifecycle_stage"] ?? ""
            if let tolerance = scanned.dimensions.classes["risk_tolerance"], tolerance.count == 2, let level = Int(tolerance.dropFirst()) {
                $0.riskTolerance = Crm_Common_V1_RiskTolerance(rawValue: level) ?? .unspecified
            }
        }
    }
}

extension Crm_Common_V1_Money {
    static func fen(_ value: Int64) -> Crm_Common_V1_Money {
        .with { $0.minorUnits = value }
    }
}

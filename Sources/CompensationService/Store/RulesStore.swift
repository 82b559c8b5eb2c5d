import CompensationSettlement
import CRMProtos
import Foundation
import CRMStore
import GRDB

/// Scheme versions and per-manager-month coefficients.
public enum RulesStore {
    // MARK: Schemes

    /// Every stored version as the wire message, by grade then version.
    static func schemes(_ db: Database, grade: String = "") throws -> [Crm_Compensation_V1_Scheme] {
        let filter = grade.isEmpty ? "" : "WHERE grade = ?"
        let arguments: StatementArguments = grade.isEmpty ? [] : [grade]
        return try Data.fetchAll(db, sql: "SELECT body FROM scheme \(filter) ORDER BY grade, version", arguments: arguments).map {
            try Crm_Compensation_V1_Scheme(serializedBytes: $0)
        }
    }

    /// Every version as domain schemes, validated as a catalog.
    static func catalog(_ db: Database) throws -> SchemeCatalog {
        let schemes = try Self.schemes(db).map { CompensationScheme(wire: $0, version: Int($0.version)) }
        do {
            return try SchemeCatalog(schemes)
        } catch {
            throw DatabaseError(message: "the stored schemes are inconsistent: \(error)")
        }
    }

    /// Stores a version (new or replaced, e.g. when a later version ends it).
    public static func save(_ db: Database, _ scheme: Crm_Compensation_V1_Scheme) throws {
        try db.cachedStatement(sql: """
            INSERT INTO scheme (grade, version, effective_from, effective_until, body) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT(grade, version) DO UPDATE SET effective_from = excluded.effective_from,
              effective_until = excluded.effective_until, body = excluded.body
            """).execute(arguments: [
                scheme.grade, Int64(scheme.version), CalendarDay(scheme.effectiveFrom)?.daysSince1970,
                scheme.hasEffectiveUntil ? CalendarDay(scheme.effectiveUntil)?.daysSince1970 : nil, try scheme.serializedData(),
            ])
    }

    // MARK: Coefficients

    static func save(_ db: Database, _ coefficients: Crm_Compensation_V1_ManagerCoefficients, atMillis: Int64) throws {
        try db.cachedStatement(sql: """
            INSERT INTO coefficient (month, manager_id, assessment, compliance, breach, note, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(month, manager_id) DO UPDATE SET assessment = excluded.assessment, compliance = excluded.compliance,
              breach = excluded.breach, note = excluded.note, updated_at = excluded.updated_at
            """).execute(arguments: [
                coefficients.month, coefficients.managerID, coefficients.assessment, coefficients.compliance,
                coefficients.complianceBreach ? 1 : 0, coefficients.note, atMillis,
            ])
    }

    static func coefficients(_ db: Database, month: CalendarMonth, managerIDs: [String]? = nil) throws -> [Crm_Compensation_V1_ManagerCoefficients] {
        var sql = "SELECT * FROM coefficient WHERE month = ?"
        var arguments: [any DatabaseValueConvertible] = [month.description]
        if let managerIDs {
            sql += " AND manager_id IN (\(Array(repeating: "?", count: managerIDs.count).joined(separator: ",")))"
            arguments += managerIDs
        }
        return try Row.fetchAll(db, sql: sql + " ORDER BY manager_id", arguments: StatementArguments(arguments)).map { row in
            .with {
                $0.month = row["month"]
                $0.managerID = row["manager_id"]
                $0.assessment = row["assessment"]
                $0.compliance = row["compliance"]
                $0.complianceBreach = (row["breach"] as Int) != 0
                $0.note = row["note"]
                $0.updatedAt = .with { $0.unixMillis = row["updated_at"] }
            }
        }
    }

    /// The month's coefficients as the domain reads them (absent: 1 and 1).
    static func domainCoefficients(_ db: Database, month: CalendarMonth) throws -> [String: ManagerCoefficients] {
        var result: [String: ManagerCoefficients] = [:]
        for stored in try coefficients(db, month: month) {
            result[stored.managerID] = ManagerCoefficients(
                assessment: stored.assessment.isEmpty ? .one : Coefficient(stored.assessment) ?? .one,
                compliance: stored.complianceBreach ? .zero : stored.compliance.isEmpty ? .one : Coefficient(stored.compliance) ?? .one
            )
        }
        return result
    }
}

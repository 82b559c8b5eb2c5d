import CRMProtos
import CRMStore
import GRDB

/// Reads and writes campaigns. Every method is one transaction.
struct CampaignStore: Sendable {
    let database: DatabasePool

    /// Inserts `campaign` unless its id is taken; returns the stored campaign (this one or the one
    /// already there) and whether this call inserted it.
    ///
    /// `INSERT ... ON CONFLICT DO NOTHING` then a read in the same transaction: two creators of one
    /// id, even in two processes, never see a constraint error; the loser reads the winner's row.
    func insertIfAbsent(_ campaign: Crm_Matching_V1_Campaign) async throws -> (Crm_Matching_V1_Campaign, inserted: Bool) {
        let now = currentUnixMillis()
        return try await database.write { db -> (Crm_Matching_V1_Campaign, inserted: Bool) in
            try db.execute(
                sql: """
                INSERT INTO campaign (campaign_id, product_code, name, created_at) VALUES (?, ?, ?, ?)
                ON CONFLICT(campaign_id) DO NOTHING
                """,
                arguments: [campaign.campaignID, campaign.productCode, campaign.name, now]
            )
            let inserted = db.changesCount > 0
            guard let stored = try Self.campaign(db, id: campaign.campaignID) else {
                // Unreachable inside one transaction: the row was just inserted or already there.
                throw DatabaseError(resultCode: .SQLITE_INTERNAL, message: "campaign \(campaign.campaignID) vanished")
            }
            return (stored, inserted)
        }
    }

    func campaign(id: String) async throws -> Crm_Matching_V1_Campaign? {
        try await database.read { db in
            try Self.campaign(db, id: id)
        }
    }

    private static func campaign(_ db: Database, id: String) throws -> Crm_Matching_V1_Campaign? {
        try Row.fetchOne(db, sql: "SELECT * FROM campaign WHERE campaign_id = ?", arguments: [id]).map(campaign(from:))
    }

    private static func campaign(from row: Row) -> Crm_Matching_V1_Campaign {
        var campaign = Crm_Matching_V1_Campaign()
        campaign.campaignID = row["campaign_id"]
        campaign.productCode = row["product_code"]
        campaign.name = row["name"]
        campaign.createdAt = .with { $0.unixMillis = row["created_at"] }
        return campaign
    }
}

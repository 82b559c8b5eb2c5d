import CRMProtos
import CRMStore
import Foundation
import GRDB

/// Campaigns, their target lists (fixed at creation), contacts and outcomes. Every method is one
/// transaction; every change is logged with it (``CampaignLog``) for the sibling replicas.
struct CampaignStore: Sendable {
    let database: DatabasePool

    struct Target: Sendable {
        let customerID: String
        let score: Double
    }

    /// Inserts `campaign` with its target list unless its id is taken; returns the stored campaign
    /// (this one or the one already there) and whether this call inserted it.
    ///
    /// `INSERT ... ON CONFLICT DO NOTHING` then a read in the same transaction: two creators of one
    /// id, even in two processes, never see a constraint error; the loser reads the winner's row.
    func insertIfAbsent(_ campaign: Crm_Matching_V1_Campaign, targets: [Target], modelVersion: String) async throws -> (Crm_Matching_V1_Campaign, inserted: Bool) {
        let now = currentUnixMillis()
        return try await database.write { db -> (Crm_Matching_V1_Campaign, inserted: Bool) in
            try db.execute(
                sql: """
                INSERT INTO campaign (campaign_id, product_code, name, created_at, target_size, model_version, targets)
                VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(campaign_id) DO NOTHING
                """,
                arguments: [campaign.campaignID, campaign.productCode, campaign.name, now,
                            CampaignValidation.targetSize(campaign), modelVersion, targets.count]
            )
            let inserted = db.changesCount > 0
            guard let stored = try Self.campaign(db, id: campaign.campaignID) else {
                // Unreachable inside one transaction: the row was just inserted or already there.
                throw DatabaseError(resultCode: .SQLITE_INTERNAL, message: "campaign \(campaign.campaignID) vanished")
            }
            if inserted {
                let created = Crm_Matching_V1_CampaignCreated.with {
                    $0.campaign = stored
                    $0.targets = targets.enumerated().map { index, target in
                        .with { $0.rank = UInt32(index + 1); $0.customerID = target.customerID; $0.score = target.score }
                    }
                }
                try CampaignLog.insertTargets(db, created)
                try CampaignLog.append(db, .created(created))
            }
            return (stored, inserted)
        }
    }

    func campaign(id: String) async throws -> Crm_Matching_V1_Campaign? {
        try await database.read { db in
            try Self.campaign(db, id: id)
        }
    }

    func targets(campaignID: String, afterRank: Int, limit: Int) async throws -> [Crm_Matching_V1_CampaignTarget] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT rank, customer_id, score FROM campaign_target WHERE campaign_id = ? AND rank > ? ORDER BY rank LIMIT ?",
                             arguments: [campaignID, afterRank, limit]).map { row in
                .with {
                    $0.rank = UInt32(row[0] as Int)
                    $0.customerID = row[1]
                    $0.score = row[2]
                }
            }
        }
    }

    enum ContactResult: Sendable {
        case recorded(created: Bool)
        case notATarget
    }

    func record(_ contact: Crm_Matching_V1_CampaignContact, at: Int64) async throws -> ContactResult {
        try await database.write { db -> ContactResult in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM campaign_target WHERE campaign_id = ? AND customer_id = ?",
                                    arguments: [contact.campaignID, contact.customerID]) == true
            else { return .notATarget }
            try db.execute(
                sql: "INSERT INTO campaign_contact (campaign_id, customer_id, outcome, at, manager_id) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                arguments: [contact.campaignID, contact.customerID, contact.outcome.rawValue, at, contact.managerID]
            )
            let created = db.changesCount > 0
            if created {
                var stored = contact
                stored.at = .with { $0.unixMillis = at }
                try CampaignLog.append(db, .contact(.with { $0.contact = stored }))
            }
            return .recorded(created: created)
        }
    }

    /// The campaign's figures from its targets, contacts and the purchases in the replica's copy.
    func report(_ campaign: Crm_Matching_V1_Campaign, eligibleCustomers: [String]) async throws -> Crm_Matching_V1_CampaignReport {
        try await database.read { db in
            let id = campaign.campaignID
            let since = campaign.createdAt.unixMillis
            let targets = Set(try String.fetchAll(db, sql: "SELECT customer_id FROM campaign_target WHERE campaign_id = ?", arguments: [id]))
            var outcomes: [String: Set<Int>] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT customer_id, outcome FROM campaign_contact WHERE campaign_id = ?", arguments: [id]) {
                outcomes[row[0], default: []].insert(row[1])
            }
            var buyers = Set<String>()
            var salesFen: Int64 = 0
            for row in try Row.fetchAll(db, sql: "SELECT customer_id, amount_minor FROM purchase WHERE product_code = ? AND accepted_at >= ?",
                                        arguments: [campaign.productCode, since]) {
                let customer: String = row[0]
                buyers.insert(customer)
                if targets.contains(customer) { salesFen += row[1] }
            }
            let boughtOutcome = Crm_Matching_V1_ContactOutcome.bought.rawValue
            let targetBuyers = targets.filter { buyers.contains($0) || outcomes[$0]?.contains(boughtOutcome) == true }
            let reached = targets.filter { outcomes[$0] != nil }
            let declined = targets.filter { outcomes[$0]?.contains(Crm_Matching_V1_ContactOutcome.declined.rawValue) == true }
            let untargeted = eligibleCustomers.filter { !targets.contains($0) }
            let untargetedBought = untargeted.count(where: { buyers.contains($0) })
            return .with {
                $0.campaign = campaign
                $0.targets = UInt32(targets.count)
                $0.reached = UInt32(reached.count)
                $0.declined = UInt32(declined.count)
                $0.bought = UInt32(targetBuyers.count)
                $0.hitRate = targets.isEmpty ? 0 : Double(targetBuyers.count) / Double(targets.count)
                $0.conversion = reached.isEmpty ? 0 : Double(reached.count(where: { targetBuyers.contains($0) })) / Double(reached.count)
                $0.sales = .with { $0.minorUnits = salesFen }
                $0.untargetedEligible = UInt32(untargeted.count)
                $0.untargetedBought = UInt32(untargetedBought)
                $0.baselineRate = untargeted.isEmpty ? 0 : Double(untargetedBought) / Double(untargeted.count)
                $0.lift = $0.baselineRate > 0 ? $0.hitRate / $0.baselineRate : 0
            }
        }
    }

    // MARK: Sibling replicas (``CampaignSync``)

    /// This replica's log after `sequence` (`StreamCampaignLog`); from its start when `logID` names
    /// another log (the reader's position belongs to a store made before this one).
    func log(logID: String, after sequence: UInt64, limit: Int) async throws -> [Crm_Matching_V1_CampaignLogEntry] {
        try await database.read { db in
            let own = try CampaignLog.logID(db)
            return try CampaignLog.entries(db, after: logID.isEmpty || logID == own ? sequence : 0, limit: limit)
        }
    }

    /// Where the sibling at `endpoint` has been read.
    func position(sibling endpoint: String) async throws -> (logID: String, sequence: UInt64) {
        try await database.read { db in try CampaignLog.position(db, sibling: endpoint) }
    }

    /// Applies a page of the sibling's log with its new position, in one transaction; answers how
    /// many entries changed this store.
    func apply(_ entries: [Crm_Matching_V1_CampaignLogEntry], sibling endpoint: String) async throws -> Int {
        guard let last = entries.last else { return 0 }
        return try await database.write { db in
            var changed = 0
            for entry in entries where try CampaignLog.apply(db, entry) { changed += 1 }
            try CampaignLog.setPosition(db, sibling: endpoint, logID: last.logID, sequence: last.sequence)
            return changed
        }
    }

    static func campaign(_ db: Database, id: String) throws -> Crm_Matching_V1_Campaign? {
        try Row.fetchOne(db, sql: "SELECT * FROM campaign WHERE campaign_id = ?", arguments: [id]).map(campaign(from:))
    }

    private static func campaign(from row: Row) -> Crm_Matching_V1_Campaign {
        var campaign = Crm_Matching_V1_Campaign()
        campaign.campaignID = row["campaign_id"]
        campaign.productCode = row["product_code"]
        campaign.name = row["name"]
        campaign.createdAt = .with { $0.unixMillis = row["created_at"] }
        campaign.targetSize = UInt32(row["target_size"] as Int)
        campaign.modelVersion = row["model_version"]
        campaign.targets = UInt32(row["targets"] as Int)
        return campaign
    }
}

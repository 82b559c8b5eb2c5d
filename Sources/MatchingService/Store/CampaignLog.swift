import CRMProtos
import Foundation
import GRDB

/// The replica's campaign log: every change to its campaigns, in order, so sibling replicas can
/// apply them (``CampaignSync``, `StreamCampaignLog`).
///
/// Why a log and not a shared store: each replica keeps its own store (it must answer while the
/// others are down, and a replica's store can be made again from the feeds), but campaigns are
/// records, not a copy — a campaign created on one replica and a contact recorded on another must
/// be answered by every replica, and survive the loss of any one store. So each replica logs a
/// change when it makes it, whether a client asked or a sibling's log brought it, and only if it
/// changed something: entries reach every replica through any path and never circulate.
///
/// Entries are stored as `CampaignLogEntry` bodies without identity and sequence; the log's
/// identity (`log_id`, random, made with the store) and the row's sequence are added when read.
enum CampaignLog {
    /// Creates the log's tables, gives the log its identity and logs every campaign and contact
    /// already stored (a store from before the log: its siblings learn them too).
    static func migrate(_ db: Database) throws {
        try db.create(table: "campaign_log") { table in
            table.autoIncrementedPrimaryKey("sequence")
            table.column("body", .blob).notNull()  // crm.matching.v1.CampaignLogEntry, change only
        }
        try db.create(table: "campaign_log_identity") { table in
            table.column("log_id", .text).notNull()
        }
        try db.execute(sql: "INSERT INTO campaign_log_identity (log_id) VALUES (?)", arguments: [UUID().uuidString.lowercased()])
        // Where this replica has read each sibling's log: by the sibling's endpoint, with the
        // identity of the log the position belongs to.
        try db.create(table: "campaign_sibling") { table in
            table.primaryKey("endpoint", .text)
            table.column("log_id", .text).notNull()
            table.column("sequence", .integer).notNull()
        }
        for id in try String.fetchAll(db, sql: "SELECT campaign_id FROM campaign ORDER BY created_at, campaign_id") {
            if let created = try created(db, campaignID: id) { try append(db, .created(created)) }
        }
        for row in try Row.fetchAll(db, sql: "SELECT campaign_id, customer_id, outcome, at, manager_id FROM campaign_contact ORDER BY at, campaign_id, customer_id, outcome") {
            try append(db, .contact(.with { $0.contact = contact(from: row) }))
        }
    }

    static func logID(_ db: Database) throws -> String {
        try String.fetchOne(db, sql: "SELECT log_id FROM campaign_log_identity") ?? ""
    }

    static func append(_ db: Database, _ change: Crm_Matching_V1_CampaignLogEntry.OneOf_Change) throws {
        let body = try Crm_Matching_V1_CampaignLogEntry.with { $0.change = change }.serializedBytes() as [UInt8]
        try db.execute(sql: "INSERT INTO campaign_log (body) VALUES (?)", arguments: [Data(body)])
    }

    /// Up to `limit` entries after `sequence`, each with the log's identity and its sequence.
    static func entries(_ db: Database, after sequence: UInt64, limit: Int) throws -> [Crm_Matching_V1_CampaignLogEntry] {
        let logID = try logID(db)
        return try Row.fetchAll(db, sql: "SELECT sequence, body FROM campaign_log WHERE sequence > ? ORDER BY sequence LIMIT ?",
                                arguments: [Int64(clamping: sequence), limit]).map { row in
            var entry = try Crm_Matching_V1_CampaignLogEntry(serializedBytes: [UInt8](row["body"] as Data))
            entry.logID = logID
            entry.sequence = UInt64(row["sequence"] as Int64)
            return entry
        }
    }

    /// The campaign `campaignID` with its whole target list, as stored.
    static func created(_ db: Database, campaignID: String) throws -> Crm_Matching_V1_CampaignCreated? {
        guard let campaign = try CampaignStore.campaign(db, id: campaignID) else { return nil }
        let targets = try Row.fetchAll(db, sql: "SELECT rank, customer_id, score FROM campaign_target WHERE campaign_id = ? ORDER BY rank",
                                       arguments: [campaignID]).map { row in
            Crm_Matching_V1_CampaignTarget.with {
                $0.rank = UInt32(row[0] as Int)
                $0.customerID = row[1]
                $0.score = row[2]
            }
        }
        return .with {
            $0.campaign = campaign
            $0.targets = targets
        }
    }

    static func contact(from row: Row) -> Crm_Matching_V1_CampaignContact {
        .with {
            $0.campaignID = row["campaign_id"]
            $0.customerID = row["customer_id"]
            $0.outcome = Crm_Matching_V1_ContactOutcome(rawValue: row["outcome"]) ?? .unspecified
            $0.at = .with { $0.unixMillis = row["at"] }
            $0.managerID = row["manager_id"]
        }
    }

    // MARK: Applying a sibling's entries

    /// Applies `entry` from a sibling's log; true (and logged here) when it changed this store.
    static func apply(_ db: Database, _ entry: Crm_Matching_V1_CampaignLogEntry) throws -> Bool {
        switch entry.change {
        case .created(let incoming):
            return try applyCreated(db, incoming)
        case .contact(let recorded):
            return try applyContact(db, recorded.contact)
        case nil:
            return false  // a kind of change this version does not know: skipped
        }
    }

    /// A campaign: stored if absent; replacing the stored one only if the incoming one was
    /// created first (``precedes(_:_:)``), so every replica settles on the same campaign.
    private static func applyCreated(_ db: Database, _ incoming: Crm_Matching_V1_CampaignCreated) throws -> Bool {
        let id = incoming.campaign.campaignID
        guard !id.isEmpty else { return false }
        if let existing = try created(db, campaignID: id) {
            guard existing != incoming, precedes(incoming, existing) else { return false }
            try db.execute(sql: "DELETE FROM campaign_target WHERE campaign_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM campaign WHERE campaign_id = ?", arguments: [id])
        }
        let campaign = incoming.campaign
        try db.execute(
            sql: """
            INSERT INTO campaign (campaign_id, product_code, name, created_at, target_size, model_version, targets)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """,
            arguments: [id, campaign.productCode, campaign.name, campaign.createdAt.unixMillis, Int(campaign.targetSize), campaign.modelVersion,
                        incoming.targets.count]
        )
        try insertTargets(db, incoming)
        try append(db, .created(incoming))
        return true
    }

    /// Stores `created`'s target list (its campaign row is the caller's).
    static func insertTargets(_ db: Database, _ created: Crm_Matching_V1_CampaignCreated) throws {
        let insert = try db.makeStatement(sql: "INSERT INTO campaign_target (campaign_id, rank, customer_id, score) VALUES (?, ?, ?, ?)")
        for target in created.targets {
            try insert.execute(arguments: [created.campaign.campaignID, Int(target.rank), target.customerID, target.score])
        }
    }

    /// A contact: stored if absent (its target was checked where it was recorded); replacing the
    /// stored one only if recorded earlier (then by the smaller manager id).
    private static func applyContact(_ db: Database, _ contact: Crm_Matching_V1_CampaignContact) throws -> Bool {
        let key: [any DatabaseValueConvertible] = [contact.campaignID, contact.customerID, contact.outcome.rawValue]
        if let row = try Row.fetchOne(db, sql: "SELECT at, manager_id FROM campaign_contact WHERE campaign_id = ? AND customer_id = ? AND outcome = ?",
                                      arguments: StatementArguments(key)) {
            let stored = (row["at"] as Int64, row["manager_id"] as String)
            guard (contact.at.unixMillis, contact.managerID) < stored else { return false }
            try db.execute(sql: "UPDATE campaign_contact SET at = ?, manager_id = ? WHERE campaign_id = ? AND customer_id = ? AND outcome = ?",
                           arguments: StatementArguments([contact.at.unixMillis, contact.managerID] + key))
        } else {
            try db.execute(sql: "INSERT INTO campaign_contact (campaign_id, customer_id, outcome, at, manager_id) VALUES (?, ?, ?, ?, ?)",
                           arguments: StatementArguments(key + [contact.at.unixMillis, contact.managerID]))
        }
        try append(db, .contact(.with { $0.contact = contact }))
        return true
    }

    /// Whether campaign `a` was created before `b`: the smaller created_at, then model version,
    /// then target list read as text (any total order every replica computes the same way).
    static func precedes(_ a: Crm_Matching_V1_CampaignCreated, _ b: Crm_Matching_V1_CampaignCreated) -> Bool {
        func text(_ created: Crm_Matching_V1_CampaignCreated) -> String {
            created.targets.map { "\($0.rank):\($0.customerID):\($0.score)" }.joined(separator: ",")
                + "|\(created.campaign.productCode)|\(created.campaign.name)|\(created.campaign.targetSize)"
        }
        return (a.campaign.createdAt.unixMillis, a.campaign.modelVersion, text(a)) < (b.campaign.createdAt.unixMillis, b.campaign.modelVersion, text(b))
    }

    // MARK: Siblings' positions

    /// Where this replica has read the log of the sibling at `endpoint`: the log's identity and the
    /// last sequence applied (empty and 0 before the first read).
    static func position(_ db: Database, sibling endpoint: String) throws -> (logID: String, sequence: UInt64) {
        guard let row = try Row.fetchOne(db, sql: "SELECT log_id, sequence FROM campaign_sibling WHERE endpoint = ?", arguments: [endpoint]) else {
            return ("", 0)
        }
        return (row["log_id"], UInt64(row["sequence"] as Int64))
    }

    static func setPosition(_ db: Database, sibling endpoint: String, logID: String, sequence: UInt64) throws {
        try db.execute(sql: """
            INSERT INTO campaign_sibling (endpoint, log_id, sequence) VALUES (?, ?, ?)
            ON CONFLICT(endpoint) DO UPDATE SET log_id = excluded.log_id, sequence = excluded.sequence
            """, arguments: [endpoint, logID, Int64(clamping: sequence)])
    }
}

import GRDB

/// The matching store's schema, one migration per released change. Never edit a migration that has
/// shipped: add the next one.
enum MatchingSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-campaigns") { db in
            try db.create(table: "campaign") { table in
                table.primaryKey("campaign_id", .text)
                table.column("product_code", .text).notNull()
                table.column("name", .text).notNull()
                table.column("created_at", .integer).notNull()  // unix millis
            }
            try db.create(index: "campaign_by_product", on: "campaign", columns: ["product_code"])
        }
        migrator.registerMigration("v2-copy-model-campaign-results") { db in
            // The replica's copy of profiles and products, as their feeds last said.
            try db.create(table: "copy_customer") { table in
                table.primaryKey("customer_id", .text)
                table.column("customer", .blob).notNull()       // crm.profiles.v1.Customer
                table.column("assessment", .blob)                // crm.profiles.v1.SuitabilityAssessment, newest
                table.column("dimensions", .blob)                // crm.profiles.v1.CustomerDimensions, merged
            }
            try db.create(table: "copy_product") { table in
                table.primaryKey("product_code", .text)
                table.column("product", .blob).notNull()         // crm.products.v1.Product
            }
            // Accepted subscriptions: the labels of the propensity model and campaign outcomes.
            try db.create(table: "purchase") { table in
                table.primaryKey("order_id", .text)
                table.column("customer_id", .text).notNull()
                table.column("product_code", .text).notNull()
                table.column("amount_minor", .integer).notNull()
                table.column("accepted_at", .integer).notNull()  // unix millis
                table.column("month", .text).notNull()           // YYYY-MM, Beijing time
            }
            try db.create(index: "purchase_by_month", on: "purchase", columns: ["month", "product_code"])
            try db.create(index: "purchase_by_product", on: "purchase", columns: ["product_code", "accepted_at"])
            // The last change applied from each feed, written in the same transaction as the change.
            try db.create(table: "feed_cursor") { table in
                table.primaryKey("source", .text)
                table.column("position", .integer).notNull()
            }
            // The data dictionary of profiles (dimension types, ordered classes) for target rules.
            try db.create(table: "dictionary") { table in
                table.primaryKey("name", .text)
                table.column("body", .blob).notNull()
            }
            try db.create(table: "decision") { table in
                table.primaryKey("id", .integer)
                table.column("customer_id", .text).notNull()
                table.column("order_id", .text).notNull()
                table.column("decided_at", .integer).notNull()
                table.column("body", .blob).notNull()            // crm.matching.v1.RecordedDecision
            }
            try db.create(index: "decision_by_customer", on: "decision", columns: ["customer_id", "id"])
            try db.create(index: "decision_by_order", on: "decision", columns: ["order_id", "id"])
            try db.create(table: "model") { table in
                table.primaryKey("version", .text)
                table.column("trained_at", .integer).notNull()
                table.column("summary", .blob).notNull()         // crm.matching.v1.ModelSummary
                table.column("model", .blob).notNull()
                table.column("weights", .blob).notNull()         // crm.matching.v1.ExportModelResponse.product_weights
            }
            // Point-in-time dimensions fetched from profiles for training (end of a month).
            try db.create(table: "snapshot", options: .withoutRowID) { table in
                table.column("as_of", .integer).notNull()
                table.column("customer_id", .text).notNull()
                table.column("dimensions", .blob).notNull()
                table.primaryKey(["as_of", "customer_id"])
            }
            try db.alter(table: "campaign") { table in
                table.add(column: "target_size", .integer).notNull().defaults(to: 1000)
                table.add(column: "model_version", .text).notNull().defaults(to: "")
                table.add(column: "targets", .integer).notNull().defaults(to: 0)
            }
            try db.create(table: "campaign_target", options: .withoutRowID) { table in
                table.column("campaign_id", .text).notNull()
                table.column("rank", .integer).notNull()
                table.column("customer_id", .text).notNull()
                table.column("score", .double).notNull()
                table.primaryKey(["campaign_id", "rank"])
            }
            try db.create(index: "campaign_target_by_customer", on: "campaign_target", columns: ["campaign_id", "customer_id"], unique: true)
            try db.create(table: "campaign_contact", options: .withoutRowID) { table in
                table.column("campaign_id", .text).notNull()
                table.column("customer_id", .text).notNull()
                table.column("outcome", .integer).notNull()
                table.column("at", .integer).notNull()
                table.column("manager_id", .text).notNull()
                table.primaryKey(["campaign_id", "customer_id", "outcome"])
            }
        }
        migrator.registerMigration("v3-behaviour") { db in
            // The copy of what the per-family behaviour features read: product views and service
            // contacts from profiles' event log, subscriptions and redemptions from products' feed.
            // `key` makes applying a page twice harmless (e<event id>, o<order id>; profiles' events
            // are keyed by identity since, pe:<kind>:<customer>:<key>, ProfilesEventIdentity); `family` is
            // the product family when it was known as the row was written (-1 otherwise: resolved
            // again from the catalogue when read).
            try db.create(table: "behaviour", options: .withoutRowID) { table in
                table.primaryKey("key", .text)
                table.column("customer_id", .text).notNull()
                table.column("at", .integer).notNull()            // unix millis
                table.column("kind", .integer).notNull()          // BehaviourEvent.Kind
                table.column("product_code", .text).notNull()     // empty for a contact about no product
                table.column("family", .integer).notNull()
                table.column("amount_minor", .integer).notNull()  // orders; 0 otherwise
            }
            try db.create(index: "behaviour_by_time", on: "behaviour", columns: ["at"])
            // Snapshots now keep the value held per family: the older rows are a cache of another
            // shape, fetched again when next needed.
            try db.execute(sql: "DELETE FROM snapshot")
        }
        migrator.registerMigration("v4-behaviour-from-purchases") { db in
            // A store made before v3 had followed products' feed past its orders already, so its
            // subscriptions were only in `purchase` and the behaviour features missed every earlier
            // order. They come back from there, as the feed writes them (key o<order id>, family
            // resolved from the catalogue when read); a row the feed wrote since stays as it is.
            // Redemptions from before v3 were never kept and cannot come back.
            try db.execute(sql: """
                INSERT INTO behaviour (key, customer_id, at, kind, product_code, family, amount_minor)
                SELECT 'o' || order_id, customer_id, accepted_at, ?, product_code, -1, amount_minor FROM purchase WHERE true
                ON CONFLICT(key) DO NOTHING
                """, arguments: [Int(BehaviourEvent.Kind.subscription.rawValue)])
        }
        migrator.registerMigration("v5-campaign-log") { db in
            // Campaigns shared between replicas: each replica's log of its campaign changes.
            try CampaignLog.migrate(db)
        }
        migrator.registerMigration("v6-replica-layout") { db in
            // Which customers the store was made for (matching groups); no row: every customer.
            try ReplicaLayout.migrate(db)
        }
        migrator.registerMigration("v7-behaviour-by-kind") { db in
            // Training reads a month's views (90 days), contacts (30 days) and every order; by time
            // alone that was every event before the month, each looked up in the table by its
            // key (3 minutes a month at a million customers, 30 M events). By kind and time, and
            // holding every column those reads ask for, each kind's window is one range of this
            // index and the table is not visited (11 s for the same month). Events arrive mostly
            // in time order, so its inserts land at the end of each kind's range.
            try db.execute(sql: "DROP INDEX IF EXISTS behaviour_by_time")
            try db.create(index: "behaviour_by_kind_time", on: "behaviour",
                          columns: ["kind", "at", "customer_id", "product_code", "family", "amount_minor"], options: .ifNotExists)
        }
        migrator.registerMigration("v8-snapshot-runs") { db in
            // A month-end's rows fetched a partition at a time arrive in id order within the
            // partition, but a partition's customers are spread over the whole id range: keyed by
            // (day, customer) they went to random places of a table of several GB (half the
            // replica's time in pwrite/pread/fdatasync at a million customers). Keyed by (day,
            // run, customer), each run (a partition fetched alone; 0 for pages across the book)
            // is appended, and a day is read in customer order by merging its runs
            // (SnapshotStore.cursor). The rows kept become run 0, copied in key order.
            try db.create(table: "snapshot_by_run", options: .withoutRowID) { table in
                table.column("as_of", .integer).notNull()
                table.column("run", .integer).notNull()
                table.column("customer_id", .text).notNull()
                table.column("dimensions", .blob).notNull()
                table.primaryKey(["as_of", "run", "customer_id"])
            }
            try db.execute(sql: """
                INSERT INTO snapshot_by_run (as_of, run, customer_id, dimensions)
                SELECT as_of, 0, customer_id, dimensions FROM snapshot ORDER BY as_of, customer_id
                """)
            try db.drop(table: "snapshot")
            try db.rename(table: "snapshot_by_run", to: "snapshot")
        }
        return migrator
    }
}

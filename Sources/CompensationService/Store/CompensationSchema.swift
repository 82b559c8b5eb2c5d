import CompensationSettlement
import CRMProtos
import GRDB

/// The compensation store's schema, one migration per released change. Never edit a migration that
/// has shipped: add the next one.
///
/// Days are stored as days since 1970-01-01 (Beijing business days), months as "YYYY-MM" text (which
/// sorts as months do), money as integer fen.
enum CompensationSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-client-managers") { db in
            try db.create(table: "client_manager") { table in
                table.primaryKey("manager_id", .text)
                table.column("name", .text).notNull()
                table.column("branch_id", .text).notNull()
                table.column("team_id", .text).notNull().defaults(to: "")
                table.column("grade", .text).notNull().defaults(to: "")
                table.column("status", .integer).notNull()
                table.column("updated_at", .integer).notNull()  // unix millis
            }
            try db.create(index: "client_manager_by_branch", on: "client_manager", columns: ["branch_id"])
        }
        migrator.registerMigration("v2-settlement") { db in
            try db.execute(sql: """
                CREATE TABLE branch (
                  branch_id TEXT PRIMARY KEY, name TEXT NOT NULL, updated_at INTEGER NOT NULL
                );
                CREATE TABLE team (
                  team_id TEXT PRIMARY KEY, branch_id TEXT NOT NULL, name TEXT NOT NULL, updated_at INTEGER NOT NULL
                );
                CREATE INDEX client_manager_by_team ON client_manager(team_id);

                -- Customers known from profiles (its change feed, or asked directly).
                CREATE TABLE customer (
                  customer_id TEXT PRIMARY KEY, branch_id TEXT NOT NULL DEFAULT '', status INTEGER NOT NULL DEFAULT 0,
                  open_day INTEGER
                ) WITHOUT ROWID;

                CREATE TABLE assignment (
                  assignment_id INTEGER PRIMARY KEY,
                  customer_id TEXT NOT NULL, manager_id TEXT NOT NULL,
                  effective_from INTEGER NOT NULL, effective_until INTEGER,   -- days; until exclusive, NULL open
                  recorded_at INTEGER NOT NULL
                );
                CREATE INDEX assignment_by_customer ON assignment(customer_id, effective_from);
                CREATE INDEX assignment_by_manager ON assignment(manager_id);

                -- Scheme versions; body is the crm.compensation.v1.Scheme as stored.
                CREATE TABLE scheme (
                  grade TEXT NOT NULL, version INTEGER NOT NULL,
                  effective_from INTEGER NOT NULL, effective_until INTEGER,
                  body BLOB NOT NULL,
                  PRIMARY KEY (grade, version)
                );

                CREATE TABLE coefficient (
                  month TEXT NOT NULL, manager_id TEXT NOT NULL,
                  assessment TEXT NOT NULL, compliance TEXT NOT NULL, breach INTEGER NOT NULL,
                  note TEXT NOT NULL, updated_at INTEGER NOT NULL,
                  PRIMARY KEY (month, manager_id)
                ) WITHOUT ROWID;

                -- Every income item, once. The rowid is the ingest sequence: assigned in commit order,
                -- never reused (rows are never deleted), so "recorded after sequence N" is well defined.
                CREATE TABLE income_item (
                  ingest_sequence INTEGER PRIMARY KEY,
                  source_event_id TEXT NOT NULL UNIQUE,
                  customer_id TEXT NOT NULL,
                  day INTEGER NOT NULL,
                  occurred_at INTEGER,
                  source INTEGER NOT NULL,             -- IncomeSource.index
                  amount_fen INTEGER NOT NULL,         -- commission, interest, sale amount or fee
                  fees_fen INTEGER NOT NULL DEFAULT 0, -- trades: exchange and regulatory fees
                  other_costs TEXT,                    -- trades: "name=fen;name=fen"
                  code TEXT,                           -- product or package code
                  rebate_bp INTEGER,                   -- sales: the product version's rebate rate
                  credited_manager_id TEXT,            -- orders: the manager the sale is credited to
                  adjustment INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX income_item_by_day ON income_item(day);

                -- Deposits (+) and withdrawals (-), by profiles event id.
                CREATE TABLE asset_flow (
                  event_id INTEGER PRIMARY KEY, customer_id TEXT NOT NULL, day INTEGER NOT NULL, amount_fen INTEGER NOT NULL
                );
                CREATE INDEX asset_flow_by_day ON asset_flow(day);

                -- End-of-day total assets (cash + holdings + products); the latest report of a day wins.
                CREATE TABLE customer_assets (
                  customer_id TEXT NOT NULL, day INTEGER NOT NULL, total_fen INTEGER NOT NULL,
                  PRIMARY KEY (customer_id, day)
                ) WITHOUT ROWID;
                CREATE INDEX customer_assets_by_day ON customer_assets(day);

                CREATE TABLE product_version (
                  product_code TEXT NOT NULL, version INTEGER NOT NULL, rebate_bp INTEGER NOT NULL, effective_at INTEGER NOT NULL,
                  PRIMARY KEY (product_code, version)
                ) WITHOUT ROWID;

                CREATE TABLE advisory_subscription (
                  customer_id TEXT NOT NULL, package_code TEXT NOT NULL,
                  monthly_fee_fen INTEGER, asset_bp INTEGER, start_day INTEGER NOT NULL,
                  PRIMARY KEY (customer_id, package_code)
                ) WITHOUT ROWID;

                -- The last position applied from each feed, written in the transaction that applied it.
                CREATE TABLE feed_cursor (feed TEXT PRIMARY KEY, position INTEGER NOT NULL);

                CREATE TABLE closed_month (
                  month TEXT PRIMARY KEY, through_sequence INTEGER NOT NULL, settled_at INTEGER NOT NULL,
                  summary BLOB NOT NULL                -- crm.compensation.v1.SettleMonthResponse
                );
                -- A statement's header (crm.compensation.v1.Statement without lines) and its lines in
                -- chunks of StatementStore.chunkSize (StatementLineChunk messages).
                CREATE TABLE statement (
                  month TEXT NOT NULL, manager_id TEXT NOT NULL, branch_id TEXT NOT NULL, team_id TEXT NOT NULL,
                  total_fen INTEGER NOT NULL, line_count INTEGER NOT NULL, header BLOB NOT NULL,
                  PRIMARY KEY (month, manager_id)
                ) WITHOUT ROWID;
                CREATE INDEX statement_by_manager ON statement(manager_id, month);
                CREATE INDEX statement_by_branch ON statement(branch_id, month);
                CREATE TABLE statement_chunk (
                  month TEXT NOT NULL, manager_id TEXT NOT NULL, chunk INTEGER NOT NULL, body BLOB NOT NULL,
                  PRIMARY KEY (month, manager_id, chunk)
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v3-manager-left-on") { db in
            // A LEFT manager's last working day (days since 1970, Beijing); for those LEFT before
            // the column existed, the business day they were last written (when they were marked).
            try db.execute(sql: "ALTER TABLE client_manager ADD COLUMN left_on INTEGER")
            try db.execute(sql: """
                UPDATE client_manager SET left_on = (updated_at + 28800000) / 86400000
                WHERE status = \(Crm_Compensation_V1_ManagerStatus.left.rawValue)
                """)
        }
        migrator.registerMigration("v4-profiles-event-identity") { db in
            // Profiles events are keyed by their identity from now on (ProfilesEventIdentity), since
            // each profiles process numbers its own log. Rows keyed before by one process's event id
            // keep their text (statements stay as they were); each such id is listed here, and its
            // identity is learnt from that process's log before anything new is applied
            // (LegacyEventKeys), so a re-delivered old event is recognised by identity.
            try db.execute(sql: """
                CREATE TABLE legacy_profiles_event (
                  event_id INTEGER PRIMARY KEY,        -- the id the single profiles process gave it
                  identity TEXT UNIQUE                 -- "pe:<kind>:<customer>:<key>"; NULL until learnt
                );
                INSERT INTO legacy_profiles_event (event_id)
                  SELECT CAST(substr(source_event_id, 4) AS INTEGER) FROM income_item WHERE source_event_id GLOB 'pe:[0-9]*';
                INSERT INTO legacy_profiles_event (event_id)
                  SELECT event_id FROM asset_flow WHERE true ON CONFLICT(event_id) DO NOTHING;

                -- Deposits (+) and withdrawals (-), by the event's identity ("pe:<event_id>" for a
                -- legacy row, whose identity is in legacy_profiles_event).
                CREATE TABLE asset_flow_by_key (
                  flow_key TEXT PRIMARY KEY, customer_id TEXT NOT NULL, day INTEGER NOT NULL, amount_fen INTEGER NOT NULL
                ) WITHOUT ROWID;
                INSERT INTO asset_flow_by_key (flow_key, customer_id, day, amount_fen)
                  SELECT 'pe:' || event_id, customer_id, day, amount_fen FROM asset_flow;
                DROP TABLE asset_flow;
                ALTER TABLE asset_flow_by_key RENAME TO asset_flow;
                CREATE INDEX asset_flow_by_day ON asset_flow(day);
                """)
        }
        return migrator
    }
}

import CSQLiteSettings
import Foundation
import GRDB

/// Opens the SQLite database of a data directory: WAL, `foreign_keys=ON`,
/// `synchronous=FULL` (a committed write survives power loss), and the numbered migrations.
public enum Storage {
    /// Page cache sizes (KiB) and readers: together they bound the server's memory.
    ///
    /// The writer's cache is small for the group commit: at every commit SQLite drops cached
    /// pages past the end of the database (`sqlite3PcacheTruncate`), and a B-tree balance
    /// that reorders pages parks one at the lock-byte page's number (262,145) on the way, so
    /// that drop walks the whole cache's hash table almost every commit; at 48 MiB it was an
    /// eighth of the writer's CPU on the scan path. A batch import, which commits once per
    /// batch and inserts on random index pages, has `bulkWriterCacheKiB` (`withBulkCache`).
    static let writerCacheKiB = 16 * 1024
    static let bulkWriterCacheKiB = 48 * 1024
    static let readerCacheKiB = 8 * 1024
    static let maximumReaders = 4
    /// The write-ahead log's length (pages) at which it is checkpointed: by `WALCheckpointer`
    /// beside the group commit's writer, or by a lone pool's commits (SQLite's automatic
    /// checkpoint). SQLite's 1,000 made the group commit copy the same hot pages (the audit
    /// tree's edge, the indexes' last leaves) back to the database about four times as often,
    /// each time with an fsync of the database file: a twentieth of the writer's time on
    /// scans, an eighth on claims. 4,000 pages (16 MiB) stay under `WarmSnapshots.restartFrames`.
    static let walCheckpointPages = 4000

    /// `body` with the writer's page cache at `bulkWriterCacheKiB`, and back after it.
    static func withBulkCache<T>(_ db: Database, _ body: () throws -> T) throws -> T {
        try db.execute(sql: "PRAGMA cache_size = -\(bulkWriterCacheKiB)")
        defer { try? db.execute(sql: "PRAGMA cache_size = -\(writerCacheKiB)") }
        return try body()
    }

    /// Opens (creating if needed) the database file and brings the schema up to date.
    public static func open(at url: URL) throws -> DatabasePool {
        let pool = try DatabasePool(path: url.path, configuration: configuration())
        // GRDB sets synchronous=NORMAL for WAL after prepareDatabase; FULL must be set
        // afterwards, on the one writer connection.
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        try migrator.migrate(pool)
        return pool
    }

    /// Whether SQLite counts no memory statistics in this process (`CSQLiteSettings`, set at
    /// program load): with them, every allocation SQLite makes on any connection takes one
    /// process-wide mutex, about a fiftieth of the server's CPU on the scan path.
    static var memoryStatisticsOff: Bool { msb_sqlite_memstatus_result() == 0 }

    /// Every connection's set-up: foreign keys, busy timeout, page caches, and 码上查's ranking function.
    static func configuration() -> Configuration {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(5)
        configuration.label = "mashangban"
        // SQLite's page cache is per connection and fills up with whatever was touched, so it
        // is what the server's memory grows to under load. The one writer gets the most
        // (SQLite's default is 2 MiB; see `writerCacheKiB`), a batch import more: random-key
        // indexes (ids, keyed digests) otherwise miss the cache on every insert. Readers keep
        // a small one and read misses from the OS's page cache. At most 48 + 4 × 8 MiB.
        configuration.maximumReaderCount = maximumReaders
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA cache_size = -\(db.configuration.readonly ? readerCacheKiB : writerCacheKiB)")
            // A group commit runs each unit in a savepoint, whose journal of the pages it changes
            // SQLite keeps in memory only up to 64 KiB, then spills to a new file in /var/tmp
            // for the rest of the transaction: a file created, written and unlinked for most
            // batches of scans, about five more writes a scan. The writer keeps it in memory
            // (it holds one unit's changed pages at most). Readers keep files for their sorts.
            // The writer's automatic checkpoint runs at `walCheckpointPages` (see there), until
            // `Transactions` hands it to a `WALCheckpointer`.
            if !db.configuration.readonly {
                try db.execute(sql: "PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = \(walCheckpointPages)")
            }
            try PolicyRank.register(db)
        }
        return configuration
    }

    /// Append-only, numbered migrations. Never edit a shipped one; add the next number.
    public static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for (name, sql) in Migrations.all {
            migrator.registerMigration(name) { db in
                try db.execute(sql: sql)
                try Migrations.afterwards[name]?(db)
            }
        }
        return migrator
    }
}

enum Migrations {
    static let all: [(String, String)] = [("0001_init", init0001), ("0002_licence_types", licenceTypes0002),
                                          ("0003_licences", licences0003), ("0004_items", items0004),
                                          ("0005_consents", consents0005), ("0006_window_sessions", windowSessions0006),
                                          ("0007_outbox_parks_dead", outboxParksDead0007), ("0008_scans_hold_refusals", scansHoldRefusals0008),
                                          ("0009_checks_compare_in_place", checksCompareInPlace0009),
                                          ("0010_issuers_own_licences", issuersOwnLicences0010),
                                          ("0011_attestations_bound", attestationsBound0011),
                                          ("0012_holder_sessions", holderSessions0012),
                                          ("0013_clients_end_their_grants", clientsEndTheirGrants0013),
                                          ("0014_code_tokens_hashed", codeTokensHashed0014),
                                          ("0015_visits", visits0015), ("0016_calendar", calendar0016),
                                          ("0017_questions", questions0017), ("0018_policies", policies0018),
                                          ("0019_policy_filters_in_the_index", policyFiltersInTheIndex0019),
                                          ("0020_policy_index_generation", policyIndexGeneration0020),
                                          ("0021_audit_merkle_tree", auditMerkleTree0021), ("0022_peers", peers0022),
                                          ("0023_peer_items", peerItems0023),
                                          ("0024_cross_region_submissions", crossRegionSubmissions0024), ("0025_witnesses", witnesses0025),
                                          ("0026_disclosures_findable", disclosuresFindable0026),
                                          ("0027_disclosure_generation", disclosureGeneration0027),
                                          ("0028_presentations_by_consent_alone", presentationsByConsentAlone0028),
                                          ("0029_consent_licences_in_order", consentLicencesInOrder0029)]

    /// Steps in Swift that follow a migration's SQL, by its name.
    static let afterwards: [String: @Sendable (Database) throws -> Void] = [
        "0019_policy_filters_in_the_index": PolicyStore.indexAfresh,
        "0021_audit_merkle_tree": AuditTree.plantAfresh,
    ]

    static let init0001 = """
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY NOT NULL,
        value TEXT NOT NULL
    ) STRICT;

    CREATE TABLE signing_keys (
        kid            TEXT PRIMARY KEY NOT NULL,
        alg            TEXT NOT NULL CHECK (alg IN ('EdDSA', 'SM2')),
        public_key_pem TEXT NOT NULL,
        status         TEXT NOT NULL CHECK (status IN ('active', 'retired')),
        created_at     TEXT NOT NULL,
        retired_at     TEXT
    ) STRICT;
    CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys(status) WHERE status = 'active';

    CREATE TABLE clients (
        id         TEXT PRIMARY KEY NOT NULL,
        role       TEXT NOT NULL CHECK (role IN ('admin', 'issuer', 'app', 'terminal')),
        name       TEXT NOT NULL CHECK (length(name) > 0),
        hall       TEXT,
        window     TEXT,
        token_hash BLOB NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        deleted_at TEXT,
        CHECK (role <> 'terminal' OR hall IS NOT NULL)
    ) STRICT;

    CREATE TABLE audit_records (
        seq    INTEGER PRIMARY KEY NOT NULL CHECK (seq > 0),
        ts     TEXT NOT NULL,
        actor  TEXT NOT NULL,
        action TEXT NOT NULL,
        object TEXT NOT NULL,
        detail TEXT NOT NULL,
        prev   TEXT NOT NULL,
        hash   TEXT NOT NULL
    ) STRICT;
    CREATE TRIGGER audit_records_no_update BEFORE UPDATE ON audit_records
        BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
    CREATE TRIGGER audit_records_no_delete BEFORE DELETE ON audit_records
        BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;

    CREATE TABLE audit_checkpoints (
        size      INTEGER PRIMARY KEY NOT NULL CHECK (size > 0),
        head      TEXT NOT NULL,
        ts        TEXT NOT NULL,
        kid       TEXT NOT NULL REFERENCES signing_keys(kid),
        signature TEXT NOT NULL
    ) STRICT;
    """

    static let licenceTypes0002 = """
    CREATE TABLE licence_types (
        code       TEXT PRIMARY KEY NOT NULL,
        definition TEXT NOT NULL CHECK (json_valid(definition)),
        created_at TEXT NOT NULL
    ) STRICT;
    """

    /// Licences: the number, holder id and fields are sealed together in `data_box`, the
    /// revocation reason in `revoke_reason_box` (AEAD); lookups go through keyed digests
    /// (`number_key`, `holder_ref`).
    static let licences0003 = """
    CREATE TABLE licences (
        id                TEXT PRIMARY KEY NOT NULL,
        type              TEXT NOT NULL,
        number_key        BLOB NOT NULL,
        holder_kind       TEXT NOT NULL CHECK (holder_kind IN ('person', 'enterprise')),
        holder_ref        TEXT NOT NULL,
        data_box          BLOB NOT NULL,
        valid_from        TEXT NOT NULL,
        valid_until       TEXT CHECK (valid_until IS NULL OR valid_until >= valid_from),
        issuer            TEXT NOT NULL,
        revoked_at        TEXT,
        revoke_reason_box BLOB,
        created_at        TEXT NOT NULL,
        updated_at        TEXT NOT NULL,
        UNIQUE (type, number_key)
    ) STRICT;
    CREATE INDEX licences_by_holder ON licences(holder_ref);

    CREATE TABLE wallet_entries (
        holder_ref TEXT NOT NULL,
        licence_id TEXT NOT NULL REFERENCES licences(id),
        added_at   TEXT NOT NULL,
        PRIMARY KEY (holder_ref, licence_id)
    ) STRICT;
    """

    /// Approval systems (审批系统) that receive submissions, and items (事项) handled at windows.
    static let items0004 = """
    CREATE TABLE approval_systems (
        code        TEXT PRIMARY KEY NOT NULL,
        name        TEXT NOT NULL,
        webhook_url TEXT NOT NULL,
        secret_box  BLOB NOT NULL,
        created_at  TEXT NOT NULL
    ) STRICT;

    CREATE TABLE items (
        code            TEXT PRIMARY KEY NOT NULL,
        approval_system TEXT NOT NULL REFERENCES approval_systems(code),
        definition      TEXT NOT NULL CHECK (json_valid(definition)),
        created_at      TEXT NOT NULL
    ) STRICT;
    """

    /// Face-auth providers and challenges, enterprise agents, consents, presentations
    /// (一码出示), scans, submissions and their outbox. Holder and agent ids appear only as
    /// keyed references (`*_ref`) or sealed (`*_box`); submission bodies are sealed.
    static let consents0005 = """
    CREATE TABLE face_auth_providers (
        id             TEXT PRIMARY KEY NOT NULL,
        name           TEXT NOT NULL,
        alg            TEXT NOT NULL CHECK (alg IN ('EdDSA', 'SM2')),
        public_key_pem TEXT NOT NULL,
        created_at     TEXT NOT NULL
    ) STRICT;

    CREATE TABLE face_auth_challenges (
        nonce       TEXT PRIMARY KEY NOT NULL,
        subject_ref TEXT NOT NULL,
        expires_at  TEXT NOT NULL,
        used_at     TEXT
    ) STRICT;

    CREATE TABLE agent_authorisations (
        enterprise_ref TEXT NOT NULL,
        agent_ref      TEXT NOT NULL,
        valid_until    TEXT NOT NULL,
        created_at     TEXT NOT NULL,
        withdrawn_at   TEXT,
        PRIMARY KEY (enterprise_ref, agent_ref)
    ) STRICT;

    CREATE TABLE consents (
        id           TEXT PRIMARY KEY NOT NULL,
        client_id    TEXT NOT NULL REFERENCES clients(id),
        holder_kind  TEXT NOT NULL CHECK (holder_kind IN ('person', 'enterprise')),
        holder_ref   TEXT NOT NULL,
        agent_ref    TEXT,
        agent_box    BLOB,
        item         TEXT REFERENCES items(code),
        hall         TEXT,
        created_at   TEXT NOT NULL,
        expires_at   TEXT NOT NULL,
        withdrawn_at TEXT,
        CHECK ((agent_ref IS NULL) = (agent_box IS NULL))
    ) STRICT;
    CREATE INDEX consents_by_agent ON consents(holder_ref, agent_ref);

    CREATE TABLE consent_licences (
        consent_id TEXT NOT NULL REFERENCES consents(id),
        licence_id TEXT NOT NULL REFERENCES licences(id),
        position   INTEGER NOT NULL,
        PRIMARY KEY (consent_id, licence_id)
    ) STRICT;

    CREATE TABLE presentations (
        id         TEXT PRIMARY KEY NOT NULL,
        consent_id TEXT NOT NULL REFERENCES consents(id),
        client_id  TEXT NOT NULL REFERENCES clients(id),
        jti        TEXT NOT NULL UNIQUE,
        token      TEXT NOT NULL,
        state      TEXT NOT NULL CHECK (state IN ('active', 'used', 'revoked')),
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        ended_at   TEXT
    ) STRICT;
    CREATE INDEX presentations_by_consent ON presentations(consent_id, state);

    CREATE TABLE submissions (
        id              TEXT PRIMARY KEY NOT NULL,
        item            TEXT NOT NULL REFERENCES items(code),
        approval_system TEXT NOT NULL REFERENCES approval_systems(code),
        consent_id      TEXT NOT NULL REFERENCES consents(id),
        presentation_id TEXT REFERENCES presentations(id),
        terminal_id     TEXT NOT NULL REFERENCES clients(id),
        status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        last_error      TEXT,
        delivered_at    TEXT,
        created_at      TEXT NOT NULL
    ) STRICT;
    CREATE INDEX submissions_by_status ON submissions(status, item);

    CREATE TABLE outbox (
        submission_id   TEXT PRIMARY KEY NOT NULL REFERENCES submissions(id),
        body_box        BLOB NOT NULL,
        next_attempt_at TEXT NOT NULL,
        created_at      TEXT NOT NULL
    ) STRICT;
    CREATE INDEX outbox_by_due ON outbox(next_attempt_at);

    CREATE TABLE scans (
        id          INTEGER PRIMARY KEY,
        at          TEXT NOT NULL,
        terminal_id TEXT NOT NULL,
        item        TEXT,
        outcome     TEXT NOT NULL,
        submission_id TEXT REFERENCES submissions(id)
    ) STRICT;
    CREATE INDEX scans_by_item ON scans(item, outcome);
    """

    /// Window sessions (一码获取): the window shows a code, the holder's app claims it.
    static let windowSessions0006 = """
    CREATE TABLE window_sessions (
        id            TEXT PRIMARY KEY NOT NULL,
        terminal_id   TEXT NOT NULL REFERENCES clients(id),
        item          TEXT NOT NULL REFERENCES items(code),
        jti           TEXT NOT NULL UNIQUE,
        token         TEXT NOT NULL,
        state         TEXT NOT NULL CHECK (state IN ('waiting', 'claimed')),
        created_at    TEXT NOT NULL,
        expires_at    TEXT NOT NULL,
        claimed_at    TEXT,
        submission_id TEXT REFERENCES submissions(id),
        result_box    BLOB
    ) STRICT;
    ALTER TABLE submissions ADD COLUMN window_session_id TEXT REFERENCES window_sessions(id);
    """

    /// A dead submission's outbox row is parked at `Deliveries.parked`, after every real
    /// due time, so the delivery worker's polls walk `outbox_by_due` from its start and stop
    /// at the first row not yet due, however many dead ones there are.
    static let outboxParksDead0007 = """
    UPDATE outbox SET next_attempt_at = '9999-12-31T23:59:59Z'
    WHERE submission_id IN (SELECT id FROM submissions WHERE status = 'dead');
    """

    /// An accepted scan or claim is its submission (same transaction, same time, terminal,
    /// item and id), so `scans` keeps only the refused ones, which have no submission: one
    /// insert less on every hand-over. Its accepted rows repeated their submissions.
    static let scansHoldRefusals0008 = """
    DELETE FROM scans WHERE outcome = 'accepted';
    """

    /// SQLite checks `x IN ('a', 'b', 'c')` (three values or more) by building a temporary
    /// index of the list each time the constraint is checked: a pager opened, filled and
    /// closed for every code issued and every scan, about a fifteenth of the writer's work
    /// on a scan. The same check written with `OR` compares in place. A table's CHECK cannot be
    /// altered, so `presentations` and `submissions` are rebuilt with the same columns, rows
    /// (rowids kept) and indexes: SQLite's procedure for other schema changes; GRDB turns
    /// foreign keys off for the migration and checks them all before it commits.
    static let checksCompareInPlace0009 = """
    CREATE TABLE presentations_0009 (
        id         TEXT PRIMARY KEY NOT NULL,
        consent_id TEXT NOT NULL REFERENCES consents(id),
        client_id  TEXT NOT NULL REFERENCES clients(id),
        jti        TEXT NOT NULL UNIQUE,
        token      TEXT NOT NULL,
        state      TEXT NOT NULL CHECK (state = 'active' OR state = 'used' OR state = 'revoked'),
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        ended_at   TEXT
    ) STRICT;
    INSERT INTO presentations_0009 (rowid, id, consent_id, client_id, jti, token, state, created_at, expires_at, ended_at)
        SELECT rowid, id, consent_id, client_id, jti, token, state, created_at, expires_at, ended_at FROM presentations;
    DROP TABLE presentations;
    ALTER TABLE presentations_0009 RENAME TO presentations;
    CREATE INDEX presentations_by_consent ON presentations(consent_id, state);

    CREATE TABLE submissions_0009 (
        id              TEXT PRIMARY KEY NOT NULL,
        item            TEXT NOT NULL REFERENCES items(code),
        approval_system TEXT NOT NULL REFERENCES approval_systems(code),
        consent_id      TEXT NOT NULL REFERENCES consents(id),
        presentation_id TEXT REFERENCES presentations(id),
        terminal_id     TEXT NOT NULL REFERENCES clients(id),
        status          TEXT NOT NULL CHECK (status = 'pending' OR status = 'delivered' OR status = 'dead'),
        attempts        INTEGER NOT NULL DEFAULT 0,
        last_error      TEXT,
        delivered_at    TEXT,
        created_at      TEXT NOT NULL,
        window_session_id TEXT REFERENCES window_sessions(id)
    ) STRICT;
    INSERT INTO submissions_0009 (rowid, id, item, approval_system, consent_id, presentation_id, terminal_id, status, attempts,
                                  last_error, delivered_at, created_at, window_session_id)
        SELECT rowid, id, item, approval_system, consent_id, presentation_id, terminal_id, status, attempts,
               last_error, delivered_at, created_at, window_session_id FROM submissions;
    DROP TABLE submissions;
    ALTER TABLE submissions_0009 RENAME TO submissions;
    CREATE INDEX submissions_by_status ON submissions(status, item);
    """

    /// Issuers own what they issue. An issuer client carries its authority's credit code and
    /// the licence types it may issue; a licence remembers the code (`issuer_code`) and the
    /// client that last wrote it (`issuer_client`). Licences written before this change go to
    /// the client the audit log shows last importing or updating them; those no client wrote
    /// (the demo's, a bench's) stay without an owner until `mashangban licences assign-issuer`.
    /// An agent authorisation remembers the legal representative who granted it, so a change
    /// of representative ends exactly the grants the old one made (NULL: granted before this).
    static let issuersOwnLicences0010 = """
    ALTER TABLE clients ADD COLUMN issuer_code TEXT;
    ALTER TABLE clients ADD COLUMN licence_types TEXT CHECK (licence_types IS NULL OR json_valid(licence_types));
    ALTER TABLE licences ADD COLUMN issuer_code TEXT;
    ALTER TABLE licences ADD COLUMN issuer_client TEXT;
    UPDATE licences SET issuer_client = last.client
    FROM (SELECT substr(object, 9) AS id, substr(actor, 8) AS client, max(seq) AS seq FROM audit_records
          WHERE action IN ('licence.imported', 'licence.updated') AND actor LIKE 'client:%' GROUP BY object) AS last
    WHERE licences.id = last.id;
    ALTER TABLE agent_authorisations ADD COLUMN granted_by_ref TEXT;
    """

    /// A face-auth challenge remembers the app client that asked and what for; a nonce made
    /// before this (live for two minutes at most) has neither and is refused. A provider can
    /// be revoked: its attestations are refused from then on.
    static let attestationsBound0011 = """
    ALTER TABLE face_auth_challenges ADD COLUMN client_id TEXT;
    ALTER TABLE face_auth_challenges ADD COLUMN purpose TEXT;
    ALTER TABLE face_auth_providers ADD COLUMN revoked_at TEXT;
    """

    /// Holder sessions: an app acts for a holder only while the holder is present (a face
    /// check with purpose `holder_session`). Only a hash of the session token is stored.
    static let holderSessions0012 = """
    CREATE TABLE holder_sessions (
        id         TEXT PRIMARY KEY NOT NULL,
        token_hash BLOB NOT NULL UNIQUE,
        client_id  TEXT NOT NULL REFERENCES clients(id),
        person_ref TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        ended_at   TEXT
    ) STRICT;
    CREATE INDEX holder_sessions_by_client ON holder_sessions(client_id) WHERE ended_at IS NULL;
    """

    /// Deleting an app client withdraws its live consents, and deleting a terminal expires its
    /// waiting window sessions: these find them without reading every consent or session.
    static let clientsEndTheirGrants0013 = """
    CREATE INDEX consents_by_client ON consents(client_id) WHERE withdrawn_at IS NULL;
    CREATE INDEX window_sessions_waiting ON window_sessions(terminal_id) WHERE state = 'waiting';
    """

    /// A code's token is a credential until it is scanned: the database keeps only its hash
    /// (hex), and the server keeps live tokens in memory to draw their QR images. Tokens
    /// stored before this are wiped (their codes still scan: a scan finds its code by `jti`).
    static let codeTokensHashed0014 = """
    ALTER TABLE presentations RENAME COLUMN token TO token_hash;
    UPDATE presentations SET token_hash = '';
    """

    /// 赋码入企 (docs/DESIGN.md "Visit codes"). Clients gain three roles and the party a unit or
    /// enterprise client speaks for (`clients` is rebuilt: a CHECK cannot be altered). Units,
    /// their officials (name and credential number sealed), protected enterprises and annual
    /// filings; visits with their officials, door events, ratings and appointments; and
    /// `notices`, the outbox of supervisor webhooks, which the delivery worker drains beside
    /// the submissions' `outbox`.
    static let visits0015 = """
    CREATE TABLE clients_0015 (
        id            TEXT PRIMARY KEY NOT NULL,
        role          TEXT NOT NULL CHECK (role IN ('admin', 'issuer', 'app', 'terminal', 'unit', 'enterprise', 'supervisor')),
        name          TEXT NOT NULL CHECK (length(name) > 0),
        hall          TEXT,
        window        TEXT,
        token_hash    BLOB NOT NULL UNIQUE,
        created_at    TEXT NOT NULL,
        deleted_at    TEXT,
        issuer_code   TEXT,
        licence_types TEXT CHECK (licence_types IS NULL OR json_valid(licence_types)),
        party         TEXT,
        CHECK (role <> 'terminal' OR hall IS NOT NULL),
        CHECK ((role = 'unit' OR role = 'enterprise') = (party IS NOT NULL))
    ) STRICT;
    INSERT INTO clients_0015 (rowid, id, role, name, hall, window, token_hash, created_at, deleted_at, issuer_code, licence_types)
        SELECT rowid, id, role, name, hall, window, token_hash, created_at, deleted_at, issuer_code, licence_types FROM clients;
    DROP TABLE clients;
    ALTER TABLE clients_0015 RENAME TO clients;

    CREATE TABLE units (
        code               TEXT PRIMARY KEY NOT NULL,
        name               TEXT NOT NULL,
        head_ref           TEXT NOT NULL,
        head_box           BLOB NOT NULL,
        supervisor_webhook TEXT NOT NULL,
        secret_box         BLOB NOT NULL,
        created_at         TEXT NOT NULL
    ) STRICT;
    CREATE TABLE officials (
        unit           TEXT NOT NULL REFERENCES units(code),
        id             TEXT NOT NULL,
        name_box       BLOB NOT NULL,
        credential_box BLOB,
        created_at     TEXT NOT NULL,
        withdrawn_at   TEXT,
        PRIMARY KEY (unit, id)
    ) STRICT;
    CREATE TABLE protected_enterprises (
        credit_code TEXT PRIMARY KEY NOT NULL,
        name        TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL
    ) STRICT;
    CREATE TABLE filings (
        unit       TEXT NOT NULL REFERENCES units(code),
        year       INTEGER NOT NULL,
        enterprise TEXT NOT NULL REFERENCES protected_enterprises(credit_code),
        type       TEXT NOT NULL,
        count      INTEGER NOT NULL CHECK (count >= 0),
        updated_at TEXT NOT NULL,
        PRIMARY KEY (unit, year, enterprise, type)
    ) STRICT;
    CREATE TABLE visits (
        id              TEXT PRIMARY KEY NOT NULL,
        unit            TEXT NOT NULL REFERENCES units(code),
        enterprise      TEXT NOT NULL REFERENCES protected_enterprises(credit_code),
        type            TEXT NOT NULL CHECK (type = 'inspection' OR type = 'survey' OR type = 'tour' OR type = 'service'),
        matter          TEXT NOT NULL,
        legal_basis     TEXT NOT NULL,
        purpose         TEXT NOT NULL,
        from_day        TEXT NOT NULL,
        until_day       TEXT NOT NULL,
        proposed_days   TEXT NOT NULL CHECK (json_valid(proposed_days)),
        counter_days    TEXT CHECK (counter_days IS NULL OR json_valid(counter_days)),
        booked_day      TEXT,
        unannounced     INTEGER NOT NULL DEFAULT 0,
        approved_at     TEXT,
        approval_order  INTEGER UNIQUE,
        decision        TEXT CHECK (decision IS NULL OR decision = 'agree' OR decision = 'refuse'),
        decision_reason TEXT,
        decided_at      TEXT,
        joins           TEXT REFERENCES visits(id),
        joined_at       TEXT,
        withdrawn_at    TEXT,
        jti             TEXT UNIQUE,
        appointment     TEXT,
        created_at      TEXT NOT NULL
    ) STRICT;
    CREATE INDEX visits_by_enterprise ON visits(enterprise, from_day);
    CREATE INDEX visits_by_unit ON visits(unit, created_at);
    CREATE INDEX visits_by_lead ON visits(joins) WHERE joins IS NOT NULL;
    CREATE INDEX visits_live_by_day ON visits(enterprise, coalesce(booked_day, from_day)) WHERE withdrawn_at IS NULL AND joined_at IS NULL;
    CREATE INDEX visits_inspections ON visits(unit, enterprise, from_day) WHERE type = 'inspection' AND withdrawn_at IS NULL;
    CREATE INDEX visits_approved_inspections ON visits(enterprise, approval_order)
        WHERE type = 'inspection' AND approval_order IS NOT NULL AND withdrawn_at IS NULL AND joined_at IS NULL;
    CREATE TABLE visit_officials (
        visit_id TEXT NOT NULL REFERENCES visits(id),
        unit     TEXT NOT NULL,
        official TEXT NOT NULL,
        PRIMARY KEY (visit_id, unit, official),
        FOREIGN KEY (unit, official) REFERENCES officials(unit, id)
    ) STRICT;
    CREATE TABLE visit_events (
        id         INTEGER PRIMARY KEY,
        visit_id   TEXT REFERENCES visits(id),
        enterprise TEXT NOT NULL,
        event      TEXT NOT NULL CHECK (event = 'enter' OR event = 'exit' OR event = 'refused'),
        day        TEXT NOT NULL,
        at         TEXT NOT NULL,
        client_id  TEXT NOT NULL,
        reasons    TEXT NOT NULL CHECK (json_valid(reasons))
    ) STRICT;
    CREATE INDEX visit_events_by_visit ON visit_events(visit_id);
    CREATE TABLE visit_ratings (
        visit_id    TEXT PRIMARY KEY NOT NULL REFERENCES visits(id),
        unit        TEXT NOT NULL,
        score       INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
        comment_box BLOB,
        created_at  TEXT NOT NULL
    ) STRICT;
    CREATE TABLE appointments (
        id             TEXT PRIMARY KEY NOT NULL,
        enterprise     TEXT NOT NULL,
        unit           TEXT NOT NULL REFERENCES units(code),
        topic          TEXT NOT NULL,
        preferred_days TEXT NOT NULL CHECK (json_valid(preferred_days)),
        status         TEXT NOT NULL CHECK (status = 'requested' OR status = 'accepted' OR status = 'declined'),
        reason         TEXT,
        visit_id       TEXT REFERENCES visits(id),
        created_at     TEXT NOT NULL,
        decided_at     TEXT
    ) STRICT;
    CREATE INDEX appointments_by_unit ON appointments(unit, created_at);
    CREATE INDEX appointments_by_enterprise ON appointments(enterprise, created_at);
    CREATE TABLE notices (
        id              TEXT PRIMARY KEY NOT NULL,
        unit            TEXT NOT NULL REFERENCES units(code),
        event           TEXT NOT NULL,
        body            TEXT NOT NULL CHECK (json_valid(body)),
        status          TEXT NOT NULL CHECK (status = 'pending' OR status = 'delivered' OR status = 'dead'),
        attempts        INTEGER NOT NULL DEFAULT 0,
        last_error      TEXT,
        next_attempt_at TEXT NOT NULL,
        delivered_at    TEXT,
        created_at      TEXT NOT NULL
    ) STRICT;
    CREATE INDEX notices_by_due ON notices(next_attempt_at) WHERE status = 'pending';
    """

    /// 码上问's working-day calendar: each year's holidays and adjusted working days (调休).
    static let calendar0016 = """
    CREATE TABLE calendar_years (
        year       INTEGER PRIMARY KEY NOT NULL CHECK (year BETWEEN 2000 AND 2100),
        holidays   TEXT NOT NULL CHECK (json_valid(holidays)),
        workdays   TEXT NOT NULL CHECK (json_valid(workdays)),
        updated_at TEXT NOT NULL
    ) STRICT;
    """

    /// 码上问 / 马上答: categories with their time limits per unit, questions on three
    /// working-day clocks (the text sealed), their history, ratings, and the alerts sent
    /// (each reminder and overdue notice once). A unit may have a webhook of its own for
    /// reminders, with its own secret; a notice says which webhook it goes to.
    static let questions0017 = """
    ALTER TABLE units ADD COLUMN webhook TEXT;
    ALTER TABLE units ADD COLUMN webhook_secret_box BLOB;
    ALTER TABLE notices ADD COLUMN destination TEXT NOT NULL DEFAULT 'supervisor' CHECK (destination = 'supervisor' OR destination = 'unit');
    CREATE TABLE question_categories (
        unit               TEXT NOT NULL REFERENCES units(code),
        name               TEXT NOT NULL,
        limit_working_days INTEGER NOT NULL CHECK (limit_working_days BETWEEN 1 AND 60),
        created_at         TEXT NOT NULL,
        PRIMARY KEY (unit, name)
    ) STRICT;
    CREATE TABLE questions (
        id               TEXT PRIMARY KEY NOT NULL,
        enterprise       TEXT NOT NULL,
        unit             TEXT NOT NULL REFERENCES units(code),
        category         TEXT NOT NULL,
        limit_days       INTEGER NOT NULL,
        title_box        BLOB NOT NULL,
        body_box         BLOB NOT NULL,
        handler_box      BLOB,
        status           TEXT NOT NULL CHECK (status = 'submitted' OR status = 'accepted' OR status = 'in_progress' OR status = 'completed'),
        accept_by        TEXT NOT NULL,
        reply_by         TEXT NOT NULL,
        complete_by      TEXT NOT NULL,
        accepted_at      TEXT,
        replied_at       TEXT,
        completed_at     TEXT,
        overdue_accept   INTEGER NOT NULL DEFAULT 0,
        overdue_reply    INTEGER NOT NULL DEFAULT 0,
        overdue_complete INTEGER NOT NULL DEFAULT 0,
        created_at       TEXT NOT NULL
    ) STRICT;
    CREATE INDEX questions_by_enterprise ON questions(enterprise, created_at);
    CREATE INDEX questions_by_unit ON questions(unit, created_at);
    CREATE INDEX questions_open_accept ON questions(accept_by) WHERE accepted_at IS NULL;
    CREATE INDEX questions_open_reply ON questions(reply_by) WHERE replied_at IS NULL;
    CREATE INDEX questions_open_complete ON questions(complete_by) WHERE completed_at IS NULL;
    CREATE TABLE question_events (
        id          INTEGER PRIMARY KEY,
        question_id TEXT NOT NULL REFERENCES questions(id),
        kind        TEXT NOT NULL,
        unit        TEXT NOT NULL,
        to_unit     TEXT,
        text_box    BLOB,
        at          TEXT NOT NULL
    ) STRICT;
    CREATE INDEX question_events_by_question ON question_events(question_id);
    CREATE TABLE question_ratings (
        question_id TEXT PRIMARY KEY NOT NULL REFERENCES questions(id),
        unit        TEXT NOT NULL,
        score       INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
        comment_box BLOB,
        created_at  TEXT NOT NULL
    ) STRICT;
    CREATE TABLE question_alerts (
        question_id TEXT NOT NULL REFERENCES questions(id),
        clock       TEXT NOT NULL CHECK (clock = 'accept' OR clock = 'reply' OR clock = 'complete'),
        kind        TEXT NOT NULL CHECK (kind = 'reminder' OR kind = 'overdue'),
        at          TEXT NOT NULL,
        PRIMARY KEY (question_id, clock, kind)
    ) STRICT;
    """

    /// 惠企政策 码上查: policies (public text), their filter tags (`*`: every industry, region
    /// or scale), an external-content FTS5 index with the `trigram` tokenizer over title and
    /// body, and the enterprises' profiles.
    static let policies0018 = """
    CREATE TABLE policies (
        id           TEXT PRIMARY KEY NOT NULL,
        title        TEXT NOT NULL,
        body         TEXT NOT NULL,
        unit         TEXT REFERENCES units(code),
        industries   TEXT NOT NULL CHECK (json_valid(industries)),
        regions      TEXT NOT NULL CHECK (json_valid(regions)),
        scales       TEXT NOT NULL CHECK (json_valid(scales)),
        valid_from   TEXT NOT NULL,
        valid_until  TEXT,
        benefit      TEXT NOT NULL,
        created_at   TEXT NOT NULL,
        updated_at   TEXT NOT NULL,
        withdrawn_at TEXT
    ) STRICT;
    CREATE TABLE policy_tags (
        kind   TEXT NOT NULL CHECK (kind = 'industry' OR kind = 'region' OR kind = 'scale'),
        value  TEXT NOT NULL,
        policy INTEGER NOT NULL,
        PRIMARY KEY (kind, value, policy)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX policy_tags_by_policy ON policy_tags(policy);
    CREATE VIRTUAL TABLE policies_fts USING fts5(title, body, content = 'policies', content_rowid = 'rowid', tokenize = 'trigram');
    CREATE TABLE enterprise_profiles (
        enterprise TEXT PRIMARY KEY NOT NULL,
        industry   TEXT NOT NULL,
        region     TEXT NOT NULL,
        scale      TEXT NOT NULL,
        updated_at TEXT NOT NULL
    ) STRICT;
    """

    /// 码上查's filters move into the FTS index (a `tags` column of one token per value, see
    /// `PolicyStore.Tag`): a filtered search then ranks only what passes the filters, where
    /// it ranked every match and looked each one up in `policy_tags`. The index is made anew
    /// (a Swift step fills it).
    static let policyFiltersInTheIndex0019 = """
    ALTER TABLE policies ADD COLUMN tags TEXT NOT NULL DEFAULT '';
    DROP TABLE policy_tags;
    DROP TABLE policies_fts;
    CREATE VIRTUAL TABLE policies_fts USING fts5(title, body, tags, content = 'policies', content_rowid = 'rowid', tokenize = 'trigram');
    """

    /// A number that changes whenever 码上查's index does (every policy stored, replaced or
    /// withdrawn goes through a row of `policies`, and so through these triggers): what
    /// `msb_bm25` remembers of the index (rows per word, each row's length) holds for one
    /// generation only.
    static let policyIndexGeneration0020 = """
    CREATE TABLE policy_index_generation (
        only       INTEGER PRIMARY KEY CHECK (only = 1),
        generation INTEGER NOT NULL
    ) STRICT;
    INSERT INTO policy_index_generation (only, generation) VALUES (1, 0);
    CREATE TRIGGER policies_insert_changes_the_index AFTER INSERT ON policies
    BEGIN UPDATE policy_index_generation SET generation = generation + 1; END;
    CREATE TRIGGER policies_update_changes_the_index AFTER UPDATE OF title, body, tags, withdrawn_at ON policies
    BEGIN UPDATE policy_index_generation SET generation = generation + 1; END;
    CREATE TRIGGER policies_delete_changes_the_index AFTER DELETE ON policies
    BEGIN UPDATE policy_index_generation SET generation = generation + 1; END;
    """

    /// 跨域通办's checkable audit log: the log as an RFC 9162 Merkle tree, its subtrees of 256
    /// records and more stored by level and index (`AuditTree`; a Swift step stores those of
    /// the records already there), and each checkpoint's root (hex) and C2SP signed note.
    /// Checkpoints from before have neither.
    static let auditMerkleTree0021 = """
    CREATE TABLE audit_tree (
        level INTEGER NOT NULL CHECK (level >= 8),
        idx   INTEGER NOT NULL CHECK (idx >= 0),
        hash  BLOB NOT NULL,
        PRIMARY KEY (level, idx)
    ) WITHOUT ROWID, STRICT;
    ALTER TABLE audit_checkpoints ADD COLUMN root TEXT;
    ALTER TABLE audit_checkpoints ADD COLUMN note TEXT;
    """

    /// 跨域通办's peer regions, the key fingerprints pinned for each, and the keys their
    /// `GET /v1/keys` published (`PeerRegistry`).
    static let peers0022 = """
    CREATE TABLE peers (
        region        TEXT PRIMARY KEY NOT NULL,
        name          TEXT NOT NULL,
        base_url      TEXT NOT NULL,
        pins          TEXT NOT NULL,
        created_at    TEXT NOT NULL,
        refreshed_at  TEXT,
        refresh_error TEXT
    ) STRICT;
    CREATE TABLE peer_keys (
        region         TEXT NOT NULL REFERENCES peers(region),
        kid            TEXT NOT NULL,
        alg            TEXT NOT NULL,
        public_key_pem TEXT NOT NULL,
        fingerprint    TEXT NOT NULL,
        status         TEXT NOT NULL CHECK (status IN ('active', 'retired', 'refused')),
        retired_at     TEXT,
        added_at       TEXT NOT NULL,
        PRIMARY KEY (region, kid)
    ) STRICT;
    """

    /// The cross-region items each peer decides, synced from its `GET /v1/federation/items`.
    static let peerItems0023 = """
    CREATE TABLE peer_items (
        region        TEXT NOT NULL REFERENCES peers(region),
        national_code TEXT NOT NULL,
        name          TEXT NOT NULL,
        required      TEXT NOT NULL,
        synced_at     TEXT NOT NULL,
        PRIMARY KEY (region, national_code)
    ) STRICT;
    """

    /// 跨域通办's submissions. An item another region decides has no approval system here (its
    /// submissions go to that region). A submission may come without a consent here (the code was a
    /// peer's, redeemed there) or a terminal here (a peer forwarded it, 异地代收), and may go to
    /// a peer instead of an approval system here, so those columns are rebuilt nullable (rows,
    /// rowids and the index kept, as in 0009). `submission_peers` holds a cross-region
    /// submission's other side: the peer, which way it went, both regions' ids for the
    /// exchange, the peer's code it used (redeemed once here), and the peer's delivery state.
    /// `redemptions`: this region's codes redeemed for a peer, by the peer's Idempotency-Key,
    /// with the sealed answer a retry gets again.
    static let crossRegionSubmissions0024 = """
    CREATE TABLE items_0024 (
        code            TEXT PRIMARY KEY NOT NULL,
        approval_system TEXT REFERENCES approval_systems(code),
        definition      TEXT NOT NULL CHECK (json_valid(definition)),
        created_at      TEXT NOT NULL
    ) STRICT;
    INSERT INTO items_0024 (rowid, code, approval_system, definition, created_at)
        SELECT rowid, code, approval_system, definition, created_at FROM items;
    DROP TABLE items;
    ALTER TABLE items_0024 RENAME TO items;

    CREATE TABLE submissions_0024 (
        id                TEXT PRIMARY KEY NOT NULL,
        item              TEXT NOT NULL REFERENCES items(code),
        approval_system   TEXT REFERENCES approval_systems(code),
        consent_id        TEXT REFERENCES consents(id),
        presentation_id   TEXT REFERENCES presentations(id),
        terminal_id       TEXT REFERENCES clients(id),
        status            TEXT NOT NULL CHECK (status = 'pending' OR status = 'delivered' OR status = 'dead'),
        attempts          INTEGER NOT NULL DEFAULT 0,
        last_error        TEXT,
        delivered_at      TEXT,
        created_at        TEXT NOT NULL,
        window_session_id TEXT REFERENCES window_sessions(id)
    ) STRICT;
    INSERT INTO submissions_0024 (rowid, id, item, approval_system, consent_id, presentation_id, terminal_id, status, attempts,
                                  last_error, delivered_at, created_at, window_session_id)
        SELECT rowid, id, item, approval_system, consent_id, presentation_id, terminal_id, status, attempts,
               last_error, delivered_at, created_at, window_session_id FROM submissions;
    DROP TABLE submissions;
    ALTER TABLE submissions_0024 RENAME TO submissions;
    CREATE INDEX submissions_by_status ON submissions(status, item);

    CREATE TABLE submission_peers (
        submission_id     TEXT NOT NULL REFERENCES submissions(id),
        region            TEXT NOT NULL REFERENCES peers(region),
        role              TEXT NOT NULL CHECK (role = 'code_from' OR role = 'forwarded_to' OR role = 'received_from'),
        request           TEXT NOT NULL,
        peer_request      TEXT,
        code_jti          TEXT,
        peer_status       TEXT,
        peer_attempts     INTEGER,
        peer_delivered_at TEXT,
        peer_checked_at   TEXT,
        PRIMARY KEY (submission_id, role)
    ) STRICT;
    CREATE UNIQUE INDEX submission_peers_by_request ON submission_peers(region, role, request);
    CREATE UNIQUE INDEX submission_peers_by_code ON submission_peers(region, code_jti) WHERE code_jti IS NOT NULL;

    CREATE TABLE redemptions (
        id              TEXT PRIMARY KEY NOT NULL,
        region          TEXT NOT NULL REFERENCES peers(region),
        request         TEXT NOT NULL,
        request_hash    TEXT NOT NULL,
        presentation_id TEXT NOT NULL REFERENCES presentations(id),
        answer_box      BLOB NOT NULL,
        created_at      TEXT NOT NULL,
        UNIQUE (region, request)
    ) STRICT;
    """
    /// Witnessing (跨域通办): `witnessed` holds, per peer, the last checkpoint of its log this
    /// region cosigned (and a later one refused as inconsistent, as evidence);
    /// `audit_cosignatures` the peers' cosignatures of this region's checkpoints.
    static let witnesses0025 = """
    CREATE TABLE witnessed (
        region      TEXT PRIMARY KEY NOT NULL REFERENCES peers(region),
        size        INTEGER NOT NULL,
        root        TEXT NOT NULL,
        note        TEXT NOT NULL,
        cosignature TEXT NOT NULL,
        cosigned_at TEXT NOT NULL,
        fork_note   TEXT,
        fork_at     TEXT
    ) STRICT;
    CREATE TABLE audit_cosignatures (
        size        INTEGER NOT NULL REFERENCES audit_checkpoints(size),
        region      TEXT NOT NULL REFERENCES peers(region),
        line        TEXT NOT NULL,
        timestamp   INTEGER NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (size, region)
    ) STRICT;
    """

    /// A holder's disclosures (`GET /v1/holders/{holder}/disclosures`): each submission and
    /// each redemption for a peer keeps the `seq` of its audit record (its inclusion proof's
    /// record; older rows have none) and is found by its consent's holder; a redemption
    /// keeps this region's item whose rules it applied.
    static let disclosuresFindable0026 = """
    ALTER TABLE submissions ADD COLUMN audit_seq INTEGER;
    CREATE INDEX submissions_by_consent ON submissions(consent_id);
    ALTER TABLE redemptions ADD COLUMN item TEXT;
    ALTER TABLE redemptions ADD COLUMN audit_seq INTEGER;
    CREATE INDEX redemptions_by_presentation ON redemptions(presentation_id);
    """

    /// A scan or a claim works out what it discloses on a warm snapshot, before its write unit; the
    /// unit uses that work only if nothing it rests on changed meanwhile. This number moves
    /// with every such change (a consent withdrawn, a licence reissued or revoked, an agent's
    /// authorisation, an item, a licence type, a client, a peer), so one read in the unit
    /// tells. A code's or a window session's own state is checked by its conditional update.
    static let disclosureGeneration0027 = """
    CREATE TABLE disclosure_generation (
        only       INTEGER PRIMARY KEY CHECK (only = 1),
        generation INTEGER NOT NULL
    ) STRICT;
    INSERT INTO disclosure_generation (only, generation) VALUES (1, 0);
    """ + [("consents", "UPDATE DELETE"), ("consent_licences", "UPDATE DELETE"), ("licences", "UPDATE DELETE"),
           ("agent_authorisations", "UPDATE DELETE"), ("items", "UPDATE DELETE"), ("licence_types", "UPDATE DELETE"),
           ("clients", "UPDATE DELETE"), ("peers", "UPDATE DELETE")].map { table, events in
        events.split(separator: " ").map { event in
            """
            CREATE TRIGGER \(table)_\(event.lowercased())_moves_disclosures AFTER \(event) ON \(table)
            BEGIN UPDATE disclosure_generation SET generation = generation + 1; END;

            """
        }.joined()
    }.joined()

    /// A code's consumption changed its entry in `presentations_by_consent` (consent, state):
    /// a leaf page of a random place in that index rewritten on every scan. A consent's codes
    /// are few (each new one revokes the last), so the consent alone finds its active one.
    static let presentationsByConsentAlone0028 = """
    DROP INDEX presentations_by_consent;
    CREATE INDEX presentations_by_consent ON presentations(consent_id);
    """

    /// A consent's licences in their order, from the index alone: every scan and claim reads
    /// them, and without it each row was looked up in the table, then sorted.
    static let consentLicencesInOrder0029 = """
    CREATE INDEX consent_licences_in_order ON consent_licences(consent_id, position, licence_id);
    """
}

extension MSBError {
    /// Storage failures a client can meet but not cause (disk full, I/O error, database
    /// locked or read-only) as 503 `storage_unavailable`; nil for anything else.
    public init?(storageFailure error: any Error) {
        guard let error = error as? DatabaseError else { return nil }
        switch error.resultCode {
        case .SQLITE_FULL, .SQLITE_IOERR, .SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_READONLY, .SQLITE_CANTOPEN, .SQLITE_NOMEM:
            self = .storageUnavailable()
        default:
            return nil
        }
    }

}

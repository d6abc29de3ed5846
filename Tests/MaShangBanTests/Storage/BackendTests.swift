import Foundation
import GRDB
import Testing
@testable import MaShangBan
import MaShangBanTestSupport

@Suite("Data directory, storage, profile and keys")
struct BackendTests {
    @Test func firstStartCreatesTheDataDirectoryWithPrivateFiles() throws {
        let dir = try TemporaryDirectory()
        let backend = try openBackend(dir)
        #expect(backend.createdAdminToken == "test-admin-token-0123456789")
        let fm = FileManager.default
        let keyFiles = try fm.contentsOfDirectory(atPath: dir.dataDirectory.keys.path).sorted()
        #expect(keyFiles == ["data.key", "holder-ref.key", "signing-\(backend.keyring.active.kid).pem"])
        for file in keyFiles {
            let mode = try fm.attributesOfItem(atPath: dir.dataDirectory.keys.appendingPathComponent(file).path)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(file)")
        }
        let tokenMode = try fm.attributesOfItem(atPath: dir.dataDirectory.adminToken.path)[.posixPermissions] as? Int
        #expect(tokenMode == 0o600)
        #expect(try String(contentsOf: dir.dataDirectory.adminToken, encoding: .utf8) == "test-admin-token-0123456789\n")
        // A second start creates nothing new.
        let again = try openBackend(dir)
        #expect(again.createdAdminToken == nil)
        #expect(again.keyring.active.kid == backend.keyring.active.kid)
    }

    @Test func pragmasAreWALFullAndForeignKeys() throws {
        let dir = try TemporaryDirectory()
        let backend = try openBackend(dir)
        let (journal, synchronous, foreignKeys) = try backend.transactions.pool.write { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA synchronous"),
             try Int.fetchOne(db, sql: "PRAGMA foreign_keys"))
        }
        #expect(journal == "wal")
        #expect(synchronous == 2, "2 = FULL")
        #expect(foreignKeys == 1)
    }

    /// The page caches are what the server's memory grows to under load: most of the budget
    /// goes to the one writer, a small cache to each of a bounded number of readers. The writer's
    /// is larger only inside a batch import's transaction (`Storage.withBulkCache`), and is
    /// given back after it, also when it fails.
    @Test func pageCachesAreBoundedAndMostlyTheWriters() throws {
        struct Refused: Error {}
        let dir = try TemporaryDirectory()
        let backend = try openBackend(dir)
        let cacheSize = { @Sendable (db: Database) in try Int.fetchOne(db, sql: "PRAGMA cache_size") }
        let writer = try backend.transactions.pool.write { db in
            let sizes = (try cacheSize(db), try Storage.withBulkCache(db) { try cacheSize(db) })
            _ = try? Storage.withBulkCache(db) { throw Refused() }
            return (sizes.0, sizes.1, try cacheSize(db))
        }
        let reader = try backend.transactions.pool.read { db in try cacheSize(db) }
        #expect(writer.0 == -16 * 1024, "negative: KiB")
        #expect(writer.1 == -48 * 1024 && writer.2 == -16 * 1024)
        #expect(reader == -8 * 1024)
        #expect(backend.transactions.pool.configuration.maximumReaderCount == 4)
    }

    /// SQLite keeps no memory statistics in this process: set at program load, before any
    /// connection (else SQLite refuses the setting, and every allocation takes a global mutex).
    @Test func sqliteCountsNoMemoryStatistics() throws {
        let dir = try TemporaryDirectory()
        _ = try openBackend(dir)
        #expect(Storage.memoryStatisticsOff)
    }

    /// The write-ahead log is checkpointed at 4,000 pages, short of the length at which warm
    /// snapshots pause to let it start again; a pool on its own checkpoints it in its
    /// commits as SQLite does, one with `Transactions` beside the writer.
    @Test func theLogIsCheckpointedAtItsOwnLength() throws {
        let dir = try TemporaryDirectory()
        let pool = try Storage.open(at: dir.url.appendingPathComponent("alone.sqlite"))
        #expect(try pool.write { db in try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint") } == 4000)
        #expect(Storage.walCheckpointPages < WarmSnapshots(pool: pool).restartFrames)
        #expect(Storage.walCheckpointPages < WALCheckpointer.inlineFrames)
        let backend = try openBackend(dir)
        // The hook replaced SQLite's automatic checkpoint (the pragma reads 0 then).
        #expect(try backend.transactions.pool.write { db in try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint") } == 0)
    }

    @Test func schemaEnforcesItsRules() throws {
        let dir = try TemporaryDirectory()
        let backend = try openBackend(dir)
        #expect(throws: DatabaseError.self) {
            try backend.transactions.pool.write { db in
                try db.execute(sql: "INSERT INTO clients (id, role, name, token_hash, created_at) VALUES ('c', 'root', 'n', x'00', 't')")
            }
        }
        #expect(throws: DatabaseError.self) {
            try backend.transactions.pool.write { db in
                try db.execute(sql: "INSERT INTO clients (id, role, name, token_hash, created_at) VALUES ('c', 'terminal', 'n', x'00', 't')")
            }
        }
        #expect(throws: DatabaseError.self) {
            try backend.transactions.pool.write { db in
                try db.execute(sql: "INSERT INTO audit_checkpoints (size, head, ts, kid, signature) VALUES (1, 'h', 't', 'no-such-key', 's')")
            }
        }
    }

    @Test func migration8KeepsOnlyRefusedScansWhoseAcceptedOnesAreSubmissions() throws {
        let queue = try DatabaseQueue()
        try Storage.migrator.migrate(queue, upTo: "0007_outbox_parks_dead")
        try queue.write { db in
            try db.execute(sql: """
                INSERT INTO scans (at, terminal_id, item, outcome) VALUES
                  ('2026-11-26T08:00:00Z', 'c1', 'sb-transfer', 'accepted'), ('2026-11-26T08:00:01Z', 'c1', 'sb-transfer', 'token_used'),
                  ('2026-11-26T08:00:02Z', 'c1', NULL, 'token_invalid')
                """)
        }
        try Storage.migrator.migrate(queue)
        let outcomes = try queue.read { try String.fetchAll($0, sql: "SELECT outcome FROM scans ORDER BY id") }
        #expect(outcomes == ["token_used", "token_invalid"])
    }

    /// Migration 9 rebuilds presentations and submissions so their CHECKs compare in place:
    /// rows and rowids stay, the checks and foreign keys still hold, the indexes are back, and
    /// the writer's statements on them no longer build a temporary index of the CHECK's list.
    @Test func migration9KeepsRowsAndChecksWithoutListIndexes() throws {
        let queue = try DatabaseQueue()  // GRDB's default: foreign keys on, as in Storage.open
        try Storage.migrator.migrate(queue, upTo: "0008_scans_hold_refusals")
        try queue.write { db in
            try db.execute(sql: """
                INSERT INTO clients (id, role, name, hall, token_hash, created_at) VALUES
                  ('app1', 'app', 'App', NULL, x'01', 't'), ('term1', 'terminal', 'Window', 'H1', x'02', 't');
                INSERT INTO approval_systems (code, name, webhook_url, secret_box, created_at) VALUES ('as1', 'AS', 'http://x', x'00', 't');
                INSERT INTO items (code, approval_system, definition, created_at) VALUES ('it1', 'as1', '{}', 't');
                INSERT INTO consents (id, client_id, holder_kind, holder_ref, created_at, expires_at) VALUES ('con1', 'app1', 'person', 'r', 't', 't');
                INSERT INTO presentations (rowid, id, consent_id, client_id, jti, token, state, created_at, expires_at)
                  VALUES (7, 'pre1', 'con1', 'app1', 'j1', 'tok', 'used', 't', 't'), (9, 'pre2', 'con1', 'app1', 'j2', 'tok', 'active', 't', 't');
                INSERT INTO submissions (id, item, approval_system, consent_id, presentation_id, terminal_id, status, attempts, created_at)
                  VALUES ('sub1', 'it1', 'as1', 'con1', 'pre1', 'term1', 'dead', 3, 't');
                INSERT INTO outbox (submission_id, body_box, next_attempt_at, created_at) VALUES ('sub1', x'00', 't', 't');
                """)
        }
        try Storage.migrator.migrate(queue)
        try queue.write { db in
            let presentations = try Row.fetchAll(db, sql: "SELECT rowid, id, state FROM presentations ORDER BY rowid")
            #expect(presentations.map { $0[0] as Int64 } == [7, 9])
            #expect(presentations.map { $0[2] as String } == ["used", "active"])
            #expect(try Row.fetchOne(db, sql: "SELECT status, attempts, presentation_id FROM submissions WHERE id = 'sub1'")
                == ["status": "dead", "attempts": 3, "presentation_id": "pre1"])
            for table in ["presentations", "submissions"] {
                let sql = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_schema WHERE name = ?", arguments: [table]) ?? ""
                #expect(sql.contains(" OR ") && !sql.contains(" IN ("), "\(sql)")
            }
            #expect(Set(try String.fetchAll(db, sql: "SELECT name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL"))
                .isSuperset(of: ["presentations_by_consent", "submissions_by_status", "outbox_by_due", "licences_by_holder"]))
            #expect(try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").isEmpty)
            // The checks and foreign keys still refuse what they refused.
            #expect(throws: DatabaseError.self) { try db.execute(sql: "UPDATE presentations SET state = 'lost' WHERE id = 'pre2'") }
            #expect(throws: DatabaseError.self) { try db.execute(sql: "UPDATE submissions SET status = 'gone' WHERE id = 'sub1'") }
            #expect(throws: DatabaseError.self) { try db.execute(sql: "UPDATE submissions SET presentation_id = 'none' WHERE id = 'sub1'") }
            #expect(throws: DatabaseError.self) { try db.execute(sql: "DELETE FROM submissions WHERE id = 'sub1'") }  // its outbox row
            for statement in ["UPDATE presentations SET state = 'used', ended_at = 't' WHERE rowid = 9",
                              "INSERT INTO submissions (id, item, approval_system, consent_id, terminal_id, status, created_at) VALUES ('s', 'it1', 'as1', 'con1', 'term1', 'pending', 't')"] {
                let program = try Row.fetchAll(db, sql: "EXPLAIN " + statement).map { $0["opcode"] as String }
                #expect(!program.contains("OpenEphemeral"), "\(statement)")
            }
        }
    }

    @Test func cryptoProfileIsFixedAtFirstStart() throws {
        let dir = try TemporaryDirectory()
        let gm = try openBackend(dir, crypto: .gm)
        #expect(gm.suite.profile == .gm)
        #expect(gm.keyring.active.signer.verifier.algorithm == .sm2)
        try gm.transactions.pool.close()
        #expect(throws: StartupError.self) { try openBackend(dir, crypto: .intl) }
        do {
            _ = try openBackend(dir, crypto: .intl)
        } catch let error as StartupError {
            #expect(error.description.contains("--crypto gm"))
        }
        // Without the flag the recorded profile is used.
        #expect(try openBackend(dir).suite.profile == .gm)
    }

    @Test(arguments: CryptoProfile.allCases)
    func keyRotationKeepsTheOldKeyVerifying(crypto: CryptoProfile) throws {
        let dir = try TemporaryDirectory()
        let backend = try openBackend(dir, crypto: crypto)
        let oldKid = backend.keyring.active.kid
        let oldSignature = try backend.keyring.active.signer.sign([1, 2, 3])
        let (retired, active) = try Keyring.rotate(backend: backend)
        #expect(retired == oldKid)
        #expect(active != oldKid)
        let published = try backend.transactions.pool.read { db in try SigningKeyStore.published(db) }
        #expect(Set(published.map(\.kid)) == [oldKid, active])
        #expect(published.first { $0.kid == oldKid }?.status == "retired")
        #expect(published.first { $0.kid == active }?.status == "active")
        let audit = try backend.transactions.pool.read { db in try AuditStore.records(after: 0, limit: 100, db) }
        #expect(audit.last?.action == "key.rotated")
        try backend.transactions.pool.close()

        let restarted = try openBackend(dir)
        #expect(restarted.keyring.active.kid == active)
        let oldVerifier = try #require(restarted.keyring.verifier(kid: oldKid))
        #expect(oldVerifier.isValidSignature(oldSignature, for: [1, 2, 3]))
        #expect(try AuditVerifier.verify(dataDirectory: dir.dataDirectory).ok)
    }

    @Test func adminTokenFromTheEnvironmentMustBeStrong() throws {
        let dir = try TemporaryDirectory()
        #expect(throws: StartupError.self) {
            try Backend.open(BackendOptions(dataDirectory: dir.dataDirectory, adminToken: "short"))
        }
    }

    @Test func holderReferencesAreKeyedAndStable() throws {
        let dir = try TemporaryDirectory()
        let backend = try openBackend(dir)
        let ref = backend.holderReference.ref("430405198501011235")
        #expect(ref == backend.holderReference.ref("430405198501011235"))
        #expect(!ref.contains("430405"))
        let other = try openBackend(try TemporaryDirectory())
        #expect(other.holderReference.ref("430405198501011235") != ref)
    }
}

extension BackendTests {
    /// The data directory and every file in it are owner-only at start; a wider one is tightened.
    @Test func theDataDirectoryIsOwnerOnly() throws {
        let dir = try TemporaryDirectory()
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.url.path)
        let stray = dir.url.appendingPathComponent("notes.txt")
        #expect(FileManager.default.createFile(atPath: stray.path, contents: Data("x".utf8), attributes: [.posixPermissions: 0o644]))
        let backend = try openBackend(dir)
        try backend.transactions.pool.close()
        func mode(_ url: URL) throws -> Int { try #require(FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int) }
        #expect(try mode(dir.url) == 0o700)
        #expect(try mode(stray) == 0o600)
        for file in [dir.dataDirectory.database, dir.dataDirectory.adminToken, dir.dataDirectory.dataKey] {
            #expect(try mode(file) == 0o600, "\(file.lastPathComponent)")
        }
        #expect(try mode(dir.dataDirectory.keys) == 0o700)
        #expect(try dir.dataDirectory.restrictPermissions().isEmpty, "nothing left to tighten")
    }
}

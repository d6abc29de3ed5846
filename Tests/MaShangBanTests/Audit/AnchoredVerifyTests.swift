import Foundation
import GRDB
import Testing
@testable import MaShangBan
import MaShangBanTestSupport

/// `audit verify --trusted-keys --checkpoint`: whoever holds the data directory holds its
/// keys, so the log is checked against keys and a checkpoint kept off the machine.
@Suite("Audit verify against keys and a checkpoint kept elsewhere")
struct AnchoredVerifyTests {
    let chain = AuditChainTests()

    /// The operator's copies, taken from a healthy server: `GET /v1/keys` and `GET /v1/audit/checkpoints/latest`.
    func saveAnchors(_ dir: TemporaryDirectory, into folder: TemporaryDirectory) throws -> (keys: URL, checkpoint: URL) {
        let backend = try openBackend(dir)
        defer { try? backend.transactions.pool.close() }
        let (keys, checkpoint) = try backend.transactions.pool.read { db in (try SigningKeyStore.published(db), try AuditStore.latestCheckpoint(db)) }
        let keysFile = folder.url.appendingPathComponent("keys.json")
        let checkpointFile = folder.url.appendingPathComponent("checkpoint.json")
        // What GET /v1/keys answers (the server's KeysBody), as an operator saves it.
        let answer = JSONValue.object(["region": "430400", "keys": .array(keys.map { key in
            .object(["kid": .string(key.kid), "alg": .string(key.alg), "public_key_pem": .string(key.publicKeyPEM),
                     "status": .string(key.status), "retired_at": key.retiredAt.map { .string($0.text) } ?? .null])
        })])
        try Data(answer.canonicalBytes).write(to: keysFile)
        try JSONEncoder().encode(try #require(checkpoint)).write(to: checkpointFile)
        return (keysFile, checkpointFile)
    }

    /// As someone holding the whole data directory (its keys too) would: rewrite the log from
    /// record `from` on with a consistent chain and fresh checkpoints signed with the directory's key.
    func rewrite(_ dir: TemporaryDirectory, from seq: Int64, keeping: Int64? = nil, newRecords: Int64) throws {
        let queue = try DatabaseQueue(path: dir.dataDirectory.database.path)
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "DROP TRIGGER audit_records_no_delete")
            try db.execute(sql: "DELETE FROM audit_records WHERE seq >= ?; DELETE FROM audit_checkpoints", arguments: [seq])
        }
        try queue.close()
        try FileManager.default.removeItem(at: dir.dataDirectory.checkpointFile)
        let backend = try openBackend(dir)
        let audit = backend.audit
        _ = try backend.transactions.pool.write { db in
            for i in 0..<newRecords {
                try audit.append(db, actor: .system, action: "client.created", object: "client:forged_\(i)")
            }
            try audit.checkpointIfNeeded(db)
        }
        try backend.transactions.pool.close()
    }

    @Test func aTruncatedLogWithItsCheckpointsIsCaught() throws {
        let dir = try TemporaryDirectory()
        try chain.populated(dir)
        let folder = try TemporaryDirectory()  // off the machine, as far as the data directory goes
        let anchors = try saveAnchors(dir, into: folder)
        #expect(try AuditVerifier.verify(dataDirectory: dir.dataDirectory, trustedKeys: anchors.keys, anchor: anchors.checkpoint).ok)
        // The last 40 records go, with every checkpoint that would tell (database and file),
        // and a new checkpoint is signed at 110 with the directory's own key.
        try rewrite(dir, from: 111, newRecords: 0)
        #expect(try AuditVerifier.verify(dataDirectory: dir.dataDirectory).ok, "the directory alone cannot tell")
        let result = try AuditVerifier.verify(dataDirectory: dir.dataDirectory, trustedKeys: anchors.keys, anchor: anchors.checkpoint)
        #expect(!result.ok)
        #expect(result.reason == "truncated")
        #expect(result.firstBadSeq == 111)
    }

    @Test func aForkedLogIsCaught() throws {
        let dir = try TemporaryDirectory()
        try chain.populated(dir)
        let folder = try TemporaryDirectory()  // off the machine, as far as the data directory goes
        let anchors = try saveAnchors(dir, into: folder)
        // Records from 120 on are replaced by others, as many and more: a consistent chain, newly signed.
        try rewrite(dir, from: 120, newRecords: 60)
        #expect(try AuditVerifier.verify(dataDirectory: dir.dataDirectory).ok, "the directory alone cannot tell")
        let result = try AuditVerifier.verify(dataDirectory: dir.dataDirectory, trustedKeys: anchors.keys, anchor: anchors.checkpoint)
        #expect(!result.ok)
        #expect(result.reason == "forked")
        #expect(result.firstBadSeq == 150)
    }

    @Test func onlyTrustedKeysAreBelieved() throws {
        let dir = try TemporaryDirectory()
        try chain.populated(dir)
        let folder = try TemporaryDirectory()  // off the machine, as far as the data directory goes
        let anchors = try saveAnchors(dir, into: folder)
        // Someone replaces the directory's key with one of their own and re-signs everything.
        let backend = try openBackend(dir)
        _ = try Keyring.rotate(backend: backend)
        try backend.transactions.pool.close()
        try rewrite(dir, from: 2, newRecords: 200)
        #expect(try AuditVerifier.verify(dataDirectory: dir.dataDirectory).ok, "the directory alone cannot tell")
        let result = try AuditVerifier.verify(dataDirectory: dir.dataDirectory, trustedKeys: anchors.keys)
        #expect(!result.ok)
        #expect(result.reason?.contains("unknown key") == true)
        #expect(throws: StartupError.self) {
            try AuditVerifier.verify(dataDirectory: dir.dataDirectory, trustedKeys: anchors.checkpoint)
        }
    }

    /// A retired key's checkpoints verify up to its retirement, and none signed after it.
    @Test func aRetiredKeySignsNoLaterCheckpoint() throws {
        let dir = try TemporaryDirectory()
        let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_000))
        let backend = try openBackend(dir, clock: clock)
        let old = backend.keyring.active
        let audit = backend.audit
        _ = try backend.transactions.pool.write { db in
            try audit.append(db, actor: .system, action: "client.created", object: "client:a")
            return try audit.checkpointIfNeeded(db)
        }
        clock.advance(60)
        let rotated = try Keyring.rotate(backend: backend)
        clock.advance(60)
        // The running backend follows the rotation: its next checkpoint is the new key's.
        let next = try backend.transactions.pool.write { db in
            try audit.append(db, actor: .system, action: "client.created", object: "client:b")
            return try audit.checkpointIfNeeded(db)
        }
        #expect(next?.kid == rotated.active)
        #expect(try AuditVerifier.verify(reader: backend.transactions.pool, suite: backend.suite, checkpointFile: dir.dataDirectory.checkpointFile).ok)
        // A checkpoint the old key signs now, after its retirement, does not verify.
        let head = try #require(try backend.transactions.pool.read { db in try AuditStore.records(after: 0, limit: 100, db) }.last)
        var late = AuditCheckpoint(size: head.seq, head: head.hash, ts: Timestamp.string(clock.now()), kid: old.kid, signature: "")
        late.signature = Encoding.base64URL(try old.signer.sign(late.signedBytes))
        try backend.transactions.pool.write { db in
            try db.execute(sql: "DELETE FROM audit_checkpoints WHERE size = ?", arguments: [head.seq])
            try db.execute(sql: "INSERT INTO audit_checkpoints (size, head, ts, kid, signature) VALUES (?, ?, ?, ?, ?)",
                           arguments: [late.size, late.head, late.ts, late.kid, late.signature])
        }
        let result = try AuditVerifier.verify(reader: backend.transactions.pool, suite: backend.suite, checkpointFile: dir.url.appendingPathComponent("none.jsonl"))
        #expect(!result.ok)
        #expect(result.reason?.contains("after it was retired") == true)
        #expect(try backend.transactions.pool.read { db in try SigningKeyStore.published(db) }.first { $0.kid == old.kid }?.retiredAt != nil)
    }
}

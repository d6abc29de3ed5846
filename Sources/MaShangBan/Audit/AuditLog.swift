import Foundation
import GRDB
import Logging

/// Appends to the audit chain inside the caller's write transaction, so a state change and
/// its record commit together or not at all, and writes signed checkpoints.
public struct AuditLog: Sendable {
    /// A checkpoint is written after this many records (and by the timer when anything is new).
    public static let checkpointInterval: Int64 = 100
    static let zeroHash = String(repeating: "0", count: 64)

    let suite: CryptoSuite
    let keyring: Keyring
    let checkpointFile: URL
    let now: Now
    let logger: Logger

    public init(suite: CryptoSuite, keyring: Keyring, checkpointFile: URL, now: @escaping Now, logger: Logger = Logger(label: "msb.audit")) {
        self.suite = suite
        self.keyring = keyring
        self.checkpointFile = checkpointFile
        self.now = now
        self.logger = logger
    }

    /// Appends one record. `detail` must hold no personal data: ids, codes, counts.
    @discardableResult
    public func append(_ db: Database, actor: AuditActor, action: String, object: String, detail: [String: JSONValue] = [:]) throws -> AuditRecord {
        let head = try Row.fetchCursor(db.cachedStatement(sql: "SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1"))
        var seq: Int64 = 1
        var prev = Self.zeroHash
        if let last = try head.next() {
            seq = last[0] + 1
            prev = last[1]
        }
        var record = AuditRecord(seq: seq, ts: Timestamp.string(now()), actor: actor.string, action: action,
                                 object: object, detail: .object(detail), prev: prev, hash: "")
        guard let hash = record.computedHash(suite: suite) else { throw CryptoError("audit chain head is not hex") }
        record.hash = hash
        try db.cachedStatement(sql: "INSERT INTO audit_records (seq, ts, actor, action, object, detail, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            .execute(arguments: [record.seq, record.ts, record.actor, record.action, record.object, record.detailJSON,
                                 record.prev, record.hash])
        if seq % Self.checkpointInterval == 0 {
            try checkpoint(db, size: seq, head: hash)
        }
        return record
    }

    /// Writes a checkpoint at the head if the head has moved since the last one.
    /// Returns the new checkpoint, or nil when there was nothing new.
    @discardableResult
    public func checkpointIfNeeded(_ db: Database) throws -> AuditCheckpoint? {
        guard let head = try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1") else { return nil }
        let size: Int64 = head["seq"]
        let covered = try Int64.fetchOne(db, sql: "SELECT MAX(size) FROM audit_checkpoints") ?? 0
        guard size > covered else { return nil }
        return try checkpoint(db, size: size, head: head["hash"])
    }

    @discardableResult
    private func checkpoint(_ db: Database, size: Int64, head: String) throws -> AuditCheckpoint {
        let signing = keyring.active
        var checkpoint = AuditCheckpoint(size: size, head: head, ts: Timestamp.string(now()), kid: signing.kid, signature: "")
        checkpoint.signature = Encoding.base64URL(try signing.signer.sign(checkpoint.signedBytes))
        try db.execute(
            sql: "INSERT INTO audit_checkpoints (size, head, ts, kid, signature) VALUES (?, ?, ?, ?, ?)",
            arguments: [checkpoint.size, checkpoint.head, checkpoint.ts, checkpoint.kid, checkpoint.signature])
        let line = checkpoint.jsonLine + "\n"
        let file = checkpointFile
        let logger = self.logger
        db.afterNextTransaction { _ in
            do { try Self.appendLine(line, to: file) } catch {
                logger.error("cannot append audit checkpoint to file", metadata: ["error": "\(error)"])
            }
        }
        return checkpoint
    }

    /// Appends and syncs one line; the file is created with mode 0600.
    static func appendLine(_ line: String, to file: URL) throws {
        let fd = Foundation.open(file.path, O_WRONLY | O_APPEND | O_CREAT, 0o600)
        guard fd >= 0 else { throw StartupError("cannot open \(file.path)") }
        defer { close(fd) }
        let bytes = Array(line.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else { throw StartupError("cannot write \(file.path)") }
    }

    // MARK: Reading

    public static func entries(_ db: Database, after: Int64, limit: Int) throws -> [AuditRecord] {
        try Row.fetchAll(db, sql: "SELECT * FROM audit_records WHERE seq > ? ORDER BY seq LIMIT ?", arguments: [after, limit])
            .map(AuditRecord.init(row:))
    }

    public static func latestCheckpoint(_ db: Database) throws -> AuditCheckpoint? {
        try Row.fetchOne(db, sql: "SELECT * FROM audit_checkpoints ORDER BY size DESC LIMIT 1").map(AuditCheckpoint.init(row:))
    }
}

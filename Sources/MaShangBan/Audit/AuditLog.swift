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
    let directory: DataDirectory
    let checkpointFile: URL
    let now: Now
    let logger: Logger
    private let exporter = CheckpointExporter()
    /// The key checkpoints are signed with: the active one, followed across `keys rotate`
    /// while the server runs (a retired key's later checkpoints would not verify).
    private let signing: Locked<SigningKey>

    public init(suite: CryptoSuite, keyring: Keyring, directory: DataDirectory, now: @escaping Now, logger: Logger = Logger(label: "msb.audit")) {
        self.suite = suite
        self.directory = directory
        self.checkpointFile = directory.checkpointFile
        self.signing = Locked(keyring.active)
        self.now = now
        self.logger = logger
    }

    /// The active key as the database names it, loaded from `DIR/keys` when it changed.
    private func activeKey(_ db: Database) throws -> SigningKey {
        let current = signing.withLock { $0 }
        guard let kid = try String.fetchOne(db.cachedStatement(sql: "SELECT kid FROM signing_keys WHERE status = 'active'")),
              kid != current.kid else { return current }
        let key = SigningKey(kid: kid, signer: try Keyring.loadSigner(directory: directory, kid: kid, suite: suite))
        signing.withLock { $0 = key }
        return key
    }

    /// Appends one record. `detail` must hold no personal data: ids, codes, counts.
    @discardableResult
    public func append(_ db: Database, actor: AuditActor, action: String, object: String, detail: [String: JSONValue] = [:]) throws -> AuditRecord {
        var chain = try self.chain(db)
        return try chain.append(actor: actor, action: action, object: object, detail: detail)
    }

    /// The chain from its current head, for appending many records in one transaction
    /// without reading the head back for each.
    public func chain(_ db: Database) throws -> AuditChain {
        let head = try db.cachedStatement(sql: "SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1")
            .firstRow([]) { row -> (Int64, String) in (try row.value(0), try row.value(1)) }
        guard let head else { return try AuditChain(log: self, db: db, seq: 0, head: Self.zeroHash) }
        return try AuditChain(log: self, db: db, seq: head.0, head: head.1)
    }

    /// Writes a checkpoint at the head if the head has moved since the last one.
    /// Returns the new checkpoint, or nil when there was nothing new.
    @discardableResult
    public func checkpointIfNeeded(_ db: Database) throws -> AuditCheckpoint? {
        guard let head = try Row.fetchOne(db.cachedStatement(sql: "SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1")) else { return nil }
        let size: Int64 = head["seq"]
        let covered = try Int64.fetchOne(db.cachedStatement(sql: "SELECT MAX(size) FROM audit_checkpoints")) ?? 0
        guard size > covered else { return nil }
        return try checkpoint(db, size: size, head: head["hash"])
    }

    /// Signs and stores a checkpoint. Once the transaction commits, every checkpoint the file
    /// lacks is appended to it from the database (one write and fsync per transaction), so
    /// a checkpoint rolled back with its savepoint never reaches the file.
    @discardableResult
    func checkpoint(_ db: Database, size: Int64, head: String) throws -> AuditCheckpoint {
        let signing = try activeKey(db)
        var checkpoint = AuditCheckpoint(size: size, head: head, ts: Timestamp.string(now()), kid: signing.kid, signature: "")
        checkpoint.signature = Encoding.base64URL(try signing.signer.sign(checkpoint.signedBytes))
        try db.execute(
            sql: "INSERT INTO audit_checkpoints (size, head, ts, kid, signature) VALUES (?, ?, ?, ?, ?)",
            arguments: [checkpoint.size, checkpoint.head, checkpoint.ts, checkpoint.kid, checkpoint.signature])
        exporter.schedule(db, file: checkpointFile, logger: logger)
        return checkpoint
    }

    // MARK: Reading

    public static func entries(_ db: Database, after: Int64, limit: Int) throws -> [AuditRecord] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM audit_records WHERE seq > ? ORDER BY seq LIMIT ?"), arguments: [after, limit])
            .map(AuditRecord.init(row:))
    }

    public static func latestCheckpoint(_ db: Database) throws -> AuditCheckpoint? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM audit_checkpoints ORDER BY size DESC LIMIT 1")).map(AuditCheckpoint.init(row:))
    }
}

/// The audit chain's head inside one write transaction. Appending through it reads the
/// head once, however many records the transaction adds. Use it only within the
/// transaction it was made in, and append only through it there.
public struct AuditChain {
    let log: AuditLog
    let db: Database
    /// The sequence number and hash of the last record (0 and 64 zeros for an empty log).
    private(set) var seq: Int64
    private(set) var head: String
    private var headBytes: [UInt8]

    init(log: AuditLog, db: Database, seq: Int64, head: String) throws {
        guard let bytes = Encoding.fromHex(head) else { throw InternalError("audit chain head is not hex") }
        (self.log, self.db, self.seq, self.head, self.headBytes) = (log, db, seq, head, bytes)
    }

    /// Appends one record. `detail` must hold no personal data: ids, codes, counts.
    @discardableResult
    public mutating func append(actor: AuditActor, action: String, object: String, detail: [String: JSONValue] = [:]) throws -> AuditRecord {
        var record = AuditRecord(seq: seq + 1, ts: Timestamp.string(log.now()), actor: actor.string, action: action,
                                 object: object, detail: .object(detail), prev: head, hash: "")
        let hashBytes = record.hash(prevBytes: headBytes, suite: log.suite)
        record.hash = Encoding.hex(hashBytes)
        try db.cachedStatement(sql: "INSERT INTO audit_records (seq, ts, actor, action, object, detail, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            .execute(arguments: [record.seq, record.ts, record.actor, record.action, record.object, record.detailJSON,
                                 record.prev, record.hash])
        (seq, head, headBytes) = (record.seq, record.hash, hashBytes)
        if seq % AuditLog.checkpointInterval == 0 {
            try log.checkpoint(db, size: seq, head: head)
        }
        return record
    }
}

/// Appends committed checkpoints to the checkpoint file: after each transaction that wrote
/// one, every checkpoint larger than the last one in the file, in one write and fsync.
final class CheckpointExporter: Sendable {
    /// The largest size in the file (nil until read), and whether an export waits for the
    /// current transaction (one observer per transaction: GRDB visits every observer on
    /// every statement).
    private let state = Locked<(exported: Int64?, scheduled: Bool)>((nil, false))

    func schedule(_ db: Database, file: URL, logger: Logger) {
        let first = state.withLock { state -> Bool in
            defer { state.scheduled = true }
            return !state.scheduled
        }
        guard first else { return }
        db.afterNextTransaction(onCommit: { [self] db in
            state.withLock { $0.scheduled = false }
            do { try export(db, to: file) } catch {
                logger.error("cannot append audit checkpoints to file", metadata: ["error": "\(error)"])
            }
        }, onRollback: { [self] _ in state.withLock { $0.scheduled = false } })
    }

    private func export(_ db: Database, to file: URL) throws {
        let after = state.withLock { $0.exported } ?? Self.largestSize(in: file)
        let rows = try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM audit_checkpoints WHERE size > ? ORDER BY size"), arguments: [after])
        guard let last = rows.last else { return }
        let lines = rows.map { AuditCheckpoint(row: $0).jsonLine + "\n" }.joined()
        try DataDirectory.appendSynced(lines, to: file)
        state.withLock { $0.exported = last["size"] }
    }

    /// The largest checkpoint size the file holds (0 when it is missing or holds none).
    static func largestSize(in file: URL) -> Int64 {
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { return 0 }
        let decoder = JSONDecoder()
        return text.split(separator: "\n").compactMap { try? decoder.decode(AuditCheckpoint.self, from: Data($0.utf8)).size }.max() ?? 0
    }
}

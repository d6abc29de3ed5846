import Foundation
import GRDB

/// `audit_records` and `audit_checkpoints`: the chain and its signed checkpoints. Records
/// and checkpoints are only ever inserted (triggers refuse updates and deletes).
enum AuditStore {
    /// The last record's sequence number and hash; nil for an empty log. Read by position
    /// (`ColumnReader`): every write unit of the hot path starts here.
    static func head(_ db: Database) throws -> (seq: Int64, hash: String)? {
        try db.cachedStatement(sql: "SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1")
            .firstRow(binding: { _ in }) { row -> (Int64, String) in (try row.value(0), try row.value(1)) }
    }

    static func insert(_ record: AuditRecord, _ db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO audit_records (seq, ts, actor, action, object, detail, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """).execute { values in
            values.bind(record.seq)
            values.bind(record.ts)
            values.bind(record.actor)
            values.bind(record.action)
            values.bind(record.object)
            values.bind(record.detailJSON)
            values.bind(record.prev)
            values.bind(record.hash)
        }
    }

    /// Up to `limit` records after sequence number `after`, in order.
    static func records(after: Int64, limit: Int, _ db: Database) throws -> [AuditRecord] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM audit_records WHERE seq > ? ORDER BY seq LIMIT ?"), arguments: [after, limit])
            .map(AuditRecord.init(row:))
    }

    /// Every record in order, one at a time (`take` returns false to stop).
    static func walk(_ db: Database, _ take: (AuditRecord) throws -> Bool) throws {
        let cursor = try Row.fetchCursor(db, sql: "SELECT * FROM audit_records ORDER BY seq")
        while let row = try cursor.next(), try take(try AuditRecord(row: row)) {}
    }

    /// How many records the log holds (its last sequence number).
    static func size(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT max(seq) FROM audit_records") ?? 0
    }

    static func insert(_ checkpoint: AuditCheckpoint, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO audit_checkpoints (size, head, ts, kid, signature, root, note) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .execute(arguments: [checkpoint.size, checkpoint.head, checkpoint.ts, checkpoint.kid, checkpoint.signature, checkpoint.root,
                                 checkpoint.note])
    }

    /// The hashes (hex) of records after `after` through `through`, in order.
    static func hashes(after: Int64, through: Int64, _ db: Database) throws -> [String] {
        try String.fetchAll(db.cachedStatement(sql: "SELECT hash FROM audit_records WHERE seq > ? AND seq <= ? ORDER BY seq"),
                            arguments: [after, through])
    }

    // MARK: The Merkle tree's stored subtrees (`AuditTree`)

    static func treeNode(level: Int, index: Int64, _ db: Database) throws -> [UInt8]? {
        try Data.fetchOne(db.cachedStatement(sql: "SELECT hash FROM audit_tree WHERE level = ? AND idx = ?"), arguments: [level, index])
            .map { [UInt8]($0) }
    }

    static func insertTreeNode(level: Int, index: Int64, hash: [UInt8], _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO audit_tree (level, idx, hash) VALUES (?, ?, ?)").execute(arguments: [level, index, Data(hash)])
    }

    /// How many nodes of `level` are stored (they are stored in order, from index 0).
    static func treeNodeCount(level: Int, _ db: Database) throws -> Int64 {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT max(idx) + 1 FROM audit_tree WHERE level = ?"), arguments: [level]) ?? 0
    }

    /// The largest size a checkpoint covers (0 before the first).
    static func coveredSize(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT MAX(size) FROM audit_checkpoints")) ?? 0
    }

    static func latestCheckpoint(_ db: Database) throws -> AuditCheckpoint? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM audit_checkpoints ORDER BY size DESC LIMIT 1")).map(AuditCheckpoint.init(row:))
    }

    /// Every checkpoint, or those covering more than `after` records, smallest first.
    static func checkpoints(after: Int64 = 0, _ db: Database) throws -> [AuditCheckpoint] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM audit_checkpoints WHERE size > ? ORDER BY size"), arguments: [after])
            .map(AuditCheckpoint.init(row:))
    }

    static func checkpoint(size: Int64, _ db: Database) throws -> AuditCheckpoint? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM audit_checkpoints WHERE size = ?"), arguments: [size]).map(AuditCheckpoint.init(row:))
    }

    /// The note of the checkpoint of `size`, if there is one and it has a note.
    static func checkpointNote(size: Int64, _ db: Database) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT note FROM audit_checkpoints WHERE size = ?"), arguments: [size])
    }

    static func checkpointCount(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT count(*) FROM audit_checkpoints") ?? 0
    }
}

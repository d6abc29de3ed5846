import Foundation
import GRDB

/// `witnessed` (the peers' checkpoints this region cosigned, and refused forks) and
/// `audit_cosignatures` (the peers' cosignatures of this region's checkpoints).
enum WitnessStore {
    static func witnessed(_ region: String, _ db: Database) throws -> (size: Int64, root: [UInt8])? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT size, root FROM witnessed WHERE region = ?"), arguments: [region]).flatMap { row in
            Encoding.fromHex(row["root"] as String).map { (row["size"], $0) }
        }
    }

    static func record(_ region: String, size: Int64, root: [UInt8], note: String, cosignature: String, at stamp: String, _ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO witnessed (region, size, root, note, cosignature, cosigned_at) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (region) DO UPDATE SET size = excluded.size, root = excluded.root, note = excluded.note,
                cosignature = excluded.cosignature, cosigned_at = excluded.cosigned_at
            """, arguments: [region, size, Encoding.hex(root), note, cosignature, stamp])
    }

    static func forkNote(_ region: String, _ db: Database) throws -> String? {
        try String.fetchOne(db, sql: "SELECT fork_note FROM witnessed WHERE region = ?", arguments: [region])
    }

    static func recordFork(_ region: String, note: String, at stamp: String, _ db: Database) throws {
        try db.execute(sql: "UPDATE witnessed SET fork_note = ?, fork_at = ? WHERE region = ?", arguments: [note, stamp, region])
    }

    /// Stores a peer's cosignature of checkpoint `size`; true when it is the peer's first for it.
    static func insertCosignature(size: Int64, region: String, line: String, timestamp: Int64, at stamp: String, _ db: Database) throws -> Bool {
        try db.execute(sql: """
            INSERT INTO audit_cosignatures (size, region, line, timestamp, received_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (size, region) DO NOTHING
            """, arguments: [size, region, line, timestamp, stamp])
        return db.changesCount > 0
    }

    static func latestCosignedSize(_ db: Database) throws -> Int64? {
        try Int64.fetchOne(db, sql: "SELECT MAX(size) FROM audit_cosignatures")
    }

    static func cosignatures(size: Int64, _ db: Database) throws -> [(region: String, line: String, timestamp: Int64)] {
        try Row.fetchAll(db, sql: "SELECT region, line, timestamp FROM audit_cosignatures WHERE size = ? ORDER BY region", arguments: [size])
            .map { ($0["region"], $0["line"], $0["timestamp"]) }
    }

    /// Every cosignature with its checkpoint's note, newest checkpoint first.
    static func cosignedNotes(_ db: Database) throws -> [(size: Int64, region: String, line: String, note: String?)] {
        try Row.fetchAll(db, sql: """
            SELECT c.size, c.region, c.line, k.note FROM audit_cosignatures c JOIN audit_checkpoints k ON k.size = c.size
            ORDER BY c.size DESC, c.region
            """).map { ($0["size"], $0["region"], $0["line"], $0["note"]) }
    }
}

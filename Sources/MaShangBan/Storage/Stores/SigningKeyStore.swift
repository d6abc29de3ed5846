import Foundation
import GRDB

/// `signing_keys`: which key files are known, which one is active, when each was retired.
enum SigningKeyStore {
    /// A key's state.
    enum Status: String {
        case active, retired
    }

    /// Every key's kid and status.
    static func all(_ db: Database) throws -> [(kid: String, status: Status)] {
        try Row.fetchAll(db, sql: "SELECT kid, status FROM signing_keys").map { row in
            (row["kid"], Status(rawValue: row["status"]) ?? .retired)
        }
    }

    static func insertActive(kid: String, algorithm: SignatureAlgorithm, publicKeyPEM: String, at instant: Date, _ db: Database) throws {
        try db.execute(
            sql: "INSERT INTO signing_keys (kid, alg, public_key_pem, status, created_at) VALUES (?, ?, ?, 'active', ?)",
            arguments: [kid, algorithm.rawValue, publicKeyPEM, Timestamp.string(instant)])
    }

    /// The active key's kid, if there is one.
    static func activeKID(_ db: Database) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT kid FROM signing_keys WHERE status = 'active'"))  // at every audit checkpoint
    }

    static func retire(kid: String, at instant: Date, _ db: Database) throws {
        try db.execute(sql: "UPDATE signing_keys SET status = 'retired', retired_at = ? WHERE kid = ?",
                       arguments: [Timestamp.string(instant), kid])
    }

    /// Every key as `GET /v1/keys` publishes it, newest first.
    static func published(_ db: Database) throws -> [PublishedKey] {
        try Row.fetchAll(db, sql: "SELECT kid, alg, public_key_pem, status, retired_at FROM signing_keys ORDER BY created_at DESC, status").map {
            PublishedKey(kid: $0["kid"], alg: $0["alg"], publicKeyPEM: $0["public_key_pem"], status: $0["status"],
                         retiredAt: ($0["retired_at"] as String?).map(Timestamp.init(stored:)))
        }
    }

    /// When each retired key was retired, by kid.
    static func retirements(_ db: Database) throws -> [String: Date] {
        let rows = try Row.fetchAll(db, sql: "SELECT kid, retired_at FROM signing_keys WHERE retired_at IS NOT NULL")
        var out: [String: Date] = [:]
        for row in rows {
            if let date = Timestamp.date(row["retired_at"]) { out[row["kid"]] = out[row["kid"]] ?? date }
        }
        return out
    }
}

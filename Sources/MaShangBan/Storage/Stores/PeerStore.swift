import Foundation
import GRDB

/// `peers` and `peer_keys`: the regions this one trusts, the fingerprints pinned for each,
/// and the keys their `GET /v1/keys` published (active, retired, or refused when unpinned).
enum PeerStore {
    /// Inserts or changes a peer; true when it is new.
    static func upsert(region: String, name: String, baseURL: String, pins: [String], at stamp: Timestamp, _ db: Database) throws -> Bool {
        let exists = try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM peers WHERE region = ?"), arguments: [region]) ?? false
        try db.execute(sql: """
            INSERT INTO peers (region, name, base_url, pins, created_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (region) DO UPDATE SET name = excluded.name, base_url = excluded.base_url, pins = excluded.pins
            """, arguments: [region, name, baseURL, ListColumn.text(pins), stamp.text])
        return !exists
    }

    static func peer(_ region: String, _ db: Database) throws -> Peer? {
        try Row.fetchOne(db, sql: "SELECT * FROM peers WHERE region = ?", arguments: [region]).map { try peer($0, db) }
    }

    static func peers(_ db: Database) throws -> [Peer] {
        try Row.fetchAll(db, sql: "SELECT * FROM peers ORDER BY region").map { try peer($0, db) }
    }

    private static func peer(_ row: Row, _ db: Database) throws -> Peer {
        let region: String = row["region"]
        return Peer(region: region, name: row["name"], baseURL: row["base_url"], pins: ListColumn.strings(row["pins"]) ?? [],
                    createdAt: Timestamp(stored: row["created_at"]), refreshedAt: (row["refreshed_at"] as String?).map(Timestamp.init(stored:)),
                    refreshError: row["refresh_error"], keys: try keys(of: region, db), items: try items(of: region, db))
    }

    static func keys(of region: String, _ db: Database) throws -> [PeerKey] {
        try Row.fetchAll(db, sql: "SELECT * FROM peer_keys WHERE region = ? ORDER BY added_at, kid", arguments: [region]).map { row in
            PeerKey(kid: row["kid"], alg: row["alg"], publicKeyPEM: row["public_key_pem"], fingerprint: row["fingerprint"], status: row["status"],
                    retiredAt: (row["retired_at"] as String?).map(Timestamp.init(stored:)))
        }
    }

    static func putKey(region: String, _ key: PeerKey, at stamp: Timestamp, _ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO peer_keys (region, kid, alg, public_key_pem, fingerprint, status, retired_at, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (region, kid) DO UPDATE SET status = excluded.status, retired_at = excluded.retired_at
            """, arguments: [region, key.kid, key.alg, key.publicKeyPEM, key.fingerprint, key.status, key.retiredAt?.text, stamp.text])
    }

    /// A peer's cross-region items, by national code.
    static func items(of region: String, _ db: Database) throws -> [PeerItem] {
        try Row.fetchAll(db, sql: "SELECT * FROM peer_items WHERE region = ? ORDER BY national_code", arguments: [region]).map { row in
            PeerItem(nationalCode: row["national_code"], name: row["name"], required: ListColumn.strings(row["required"]) ?? [])
        }
    }

    static func replaceItems(of region: String, with items: [PeerItem], at stamp: Timestamp, _ db: Database) throws {
        try db.execute(sql: "DELETE FROM peer_items WHERE region = ?", arguments: [region])
        for item in items {
            try db.execute(sql: "INSERT INTO peer_items (region, national_code, name, required, synced_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [region, item.nationalCode, item.name, ListColumn.text(item.required), stamp.text])
        }
    }

    /// The peer region holding `kid` as an active key, with the key.
    static func activeKey(kid: String, _ db: Database) throws -> (region: String, key: PeerKey)? {
        let regions = try String.fetchAll(db.cachedStatement(sql: "SELECT region FROM peer_keys WHERE kid = ? AND status = 'active'"), arguments: [kid])
        guard regions.count == 1, let region = regions.first, let key = try keys(of: region, db).first(where: { $0.kid == kid }) else { return nil }
        return (region, key)
    }

    /// The peer key that verifies a peer's QR token: active or retired (a retired key keeps
    /// verifying what it signed), of exactly one peer.
    static func verifyingKey(kid: String, _ db: Database) throws -> (region: String, publicKeyPEM: String)? {
        let rows = try Row.fetchAll(db.cachedStatement(sql: """
            SELECT region, public_key_pem FROM peer_keys WHERE kid = ? AND (status = 'active' OR status = 'retired')
            """), arguments: [kid])
        guard rows.count == 1, let row = rows.first else { return nil }
        return (row["region"], row["public_key_pem"])
    }

    /// Records a refresh: its time when the peer answered, else what went wrong.
    static func recordRefresh(_ region: String, error: String?, at stamp: Timestamp, _ db: Database) throws {
        if let error {
            try db.execute(sql: "UPDATE peers SET refresh_error = ? WHERE region = ?", arguments: [error, region])
        } else {
            try db.execute(sql: "UPDATE peers SET refreshed_at = ?, refresh_error = NULL WHERE region = ?", arguments: [stamp.text, region])
        }
    }
}

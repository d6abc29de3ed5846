import Foundation
import GRDB

/// `presentations`: the codes issued (一码出示), by their token's `jti`; only the token's hash is kept.
enum PresentationStore {
    enum State: String {
        case active, used, revoked
    }

    static func insert(id: String, consentID: String, clientID: String, jti: String, tokenHash: String, at instant: Date,
                       expiresAt: Timestamp, _ db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO presentations (id, consent_id, client_id, jti, token_hash, state, created_at, expires_at)
            VALUES (?, ?, ?, ?, ?, 'active', ?, ?)
            """).execute { values in  // once a code issued, on the writer
            values.bind(id)
            values.bind(consentID)
            values.bind(clientID)
            values.bind(jti)
            values.bind(tokenHash)
            values.bind(Timestamp.string(instant))
            values.bind(expiresAt.text)
        }
    }

    /// The active codes of a consent.
    static func active(consent consentID: String, _ db: Database) throws -> [String] {
        try String.fetchAll(db.cachedStatement(sql: "SELECT id FROM presentations WHERE consent_id = ? AND state = 'active'"),
                            arguments: [consentID])
    }

    /// A code's state, if it is `clientID`'s.
    static func state(_ id: String, clientID: String, _ db: Database) throws -> State? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT state FROM presentations WHERE id = ? AND client_id = ?"),
                            arguments: [id, clientID]).flatMap(State.init(rawValue:))
    }

    /// Revokes an active code (an ended one stays as it is).
    static func revoke(_ id: String, at instant: Date, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE presentations SET state = 'revoked', ended_at = ? WHERE id = ? AND state = 'active'")
            .execute(arguments: [Timestamp.string(instant), id])
    }

    /// The code a token's `jti` names, for consuming it: its rowid, id, consent, state and
    /// the hex hash of its token (empty for codes issued before it was kept).
    static func byJTI(_ jti: String, _ db: Database) throws
        -> (rowid: Int64, id: String, consentID: String, state: State, tokenHash: String)? {
        try db.cachedStatement(sql: "SELECT rowid, id, consent_id, state, token_hash FROM presentations WHERE jti = ?")
            .firstRow(binding: { $0.bind(jti) }) { row -> (Int64, String, String, State, String) in
                (try row.value(0), try row.value(1), try row.value(2), State(rawValue: try row.value(3)) ?? .used, try row.value(4))
            }
    }

    /// Marks a code used, by rowid, if it is still active; false if it is not (used or
    /// revoked since it was read).
    static func markUsedIfActive(rowid: Int64, at instant: Date, _ db: Database) throws -> Bool {
        try db.cachedStatement(sql: "UPDATE presentations SET state = 'used', ended_at = ? WHERE rowid = ? AND state = 'active'")
            .execute(arguments: [Timestamp.string(instant), rowid])
        return db.changesCount == 1
    }

    /// Marks a code used, by rowid (a lookup and an update by rowid cost less than one
    /// `UPDATE … RETURNING`, which builds a temporary table for its rows).
    static func markUsed(rowid: Int64, at instant: Date, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE presentations SET state = 'used', ended_at = ? WHERE rowid = ?")
            .execute(arguments: [Timestamp.string(instant), rowid])
    }
}

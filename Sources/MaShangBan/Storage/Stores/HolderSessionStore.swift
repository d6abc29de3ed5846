import Foundation
import GRDB

/// `holder_sessions`: an app's proof that a holder is present, by the hash of its token.
enum HolderSessionStore {
    static func insert(id: String, tokenHash: [UInt8], clientID: String, personRef: String, at instant: Date, expiresAt: Timestamp,
                       _ db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO holder_sessions (id, token_hash, client_id, person_ref, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)
            """).execute(arguments: [id, Data(tokenHash), clientID, personRef, Timestamp.string(instant), expiresAt.text])
    }

    /// The session a token hash names, if it is live at `instant`.
    static func live(tokenHash: [UInt8], at instant: Date, _ db: Database) throws -> (id: String, clientID: String, personRef: String)? {
        try db.cachedStatement(sql: """
            SELECT id, client_id, person_ref FROM holder_sessions WHERE token_hash = ? AND ended_at IS NULL AND expires_at > ?
            """).firstRow([Data(tokenHash), Timestamp.string(instant)]) { row in
            (try row.value(0), try row.value(1), try row.value(2))
        }
    }

    /// Ends a session; false when it had ended already.
    static func end(_ id: String, at instant: Date, _ db: Database) throws -> Bool {
        try db.cachedStatement(sql: "UPDATE holder_sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL")
            .execute(arguments: [Timestamp.string(instant), id])
        return db.changesCount == 1
    }

    /// Ends every live session of an app client.
    static func endAll(clientID: String, at instant: Date, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE holder_sessions SET ended_at = ? WHERE client_id = ? AND ended_at IS NULL")
            .execute(arguments: [Timestamp.string(instant), clientID])
    }
}

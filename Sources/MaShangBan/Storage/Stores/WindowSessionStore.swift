import Foundation
import GRDB

/// `window_sessions` (一码获取): the codes windows show, their state, and the sealed result
/// of a claim.
enum WindowSessionStore {
    enum State: String {
        case waiting, claimed
    }

    /// A session as stored.
    struct Row: Sendable {
        let id: String
        let terminalID: String
        let item: String
        /// The token it was opened with, as signed.
        let token: String
        let state: State
        let expiresAt: Date?
        let resultBox: [UInt8]?
    }

    static func insert(id: String, terminalID: String, item: String, jti: String, token: String, at instant: Date, expiresAt: Timestamp,
                       _ db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO window_sessions (id, terminal_id, item, jti, token, state, created_at, expires_at)
            VALUES (?, ?, ?, ?, ?, 'waiting', ?, ?)
            """).execute(arguments: [id, terminalID, item, jti, token, Timestamp.string(instant), expiresAt.text])
    }

    private static let columns = "id, terminal_id, item, token, state, expires_at, result_box"

    /// A session from a row of `columns`, read by index (a claim reads one on every
    /// hand-over; GRDB's `Row` cost more than SQLite's lookup).
    private static func row(_ row: ColumnReader) throws -> Row {
        Row(id: try row.value(0), terminalID: try row.value(1), item: try row.value(2), token: try row.value(3),
            state: State(rawValue: try row.value(4)) ?? .claimed, expiresAt: (try row.value(5) as String?).flatMap(Timestamp.date),
            resultBox: (try row.value(6) as Data?).map { [UInt8]($0) })
    }

    /// The session a token's `jti` names.
    static func session(jti: String, _ db: Database) throws -> Row? {
        try db.cachedStatement(sql: byJTI).firstRow(binding: { $0.bind(jti) }, row)
    }

    /// Made once: a claim runs it on every hand-over.
    private static let byJTI = "SELECT \(columns) FROM window_sessions WHERE jti = ?"

    /// A session of `terminalID`.
    static func session(_ id: String, terminalID: String, _ db: Database) throws -> Row? {
        try db.cachedStatement(sql: "SELECT \(columns) FROM window_sessions WHERE id = ? AND terminal_id = ?").firstRow([id, terminalID], row)
    }

    /// When a session expires.
    static func expiry(_ id: String, _ db: Database) throws -> Date? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT expires_at FROM window_sessions WHERE id = ?"), arguments: [id])
            .flatMap(Timestamp.date)
    }

    /// A session's token, if it is `terminalID`'s.
    static func token(_ id: String, terminalID: String, _ db: Database) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT token FROM window_sessions WHERE id = ? AND terminal_id = ?"),
                            arguments: [id, terminalID])
    }

    /// Marks a waiting session claimed; false if it was not waiting (claimed since it was read).
    static func markClaimed(_ id: String, submission: String, resultBox: [UInt8], at instant: Date, _ db: Database) throws -> Bool {
        try db.cachedStatement(sql: """
            UPDATE window_sessions SET state = 'claimed', claimed_at = ?, submission_id = ?, result_box = ? WHERE id = ? AND state = 'waiting'
            """).execute(arguments: [Timestamp.string(instant), submission, Data(resultBox), id])
        return db.changesCount == 1
    }

    /// Expires a terminal's waiting sessions at `instant` (the terminal is being deleted).
    static func expireWaiting(terminalID: String, at instant: Date, _ db: Database) throws {
        let stamp = Timestamp.string(instant)
        try db.cachedStatement(sql: """
            UPDATE window_sessions SET expires_at = ? WHERE terminal_id = ? AND state = 'waiting' AND expires_at > ?
            """).execute(arguments: [stamp, terminalID, stamp])
    }
}

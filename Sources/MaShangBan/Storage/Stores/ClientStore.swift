import Foundation
import GRDB

/// `clients`: API clients by id and by the hash of their bearer token.
enum ClientStore {
    static func insert(id: String, role: ClientRole, name: String, hall: String?, window: String?, issuerCode: String?,
                       licenceTypes: [String]?, party: String?, tokenHash: [UInt8], createdAt: String, _ db: Database) throws {
        let types = licenceTypes.map(ListColumn.text)
        try db.execute(
            sql: """
                INSERT INTO clients (id, role, name, hall, window, issuer_code, licence_types, party, token_hash, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [id, role.rawValue, name, hall, window, issuerCode, types, party, Data(tokenHash), createdAt])
    }

    private static func client(_ row: Row) throws -> Client {
        let roleName: String = row["role"]
        guard let role = ClientRole(rawValue: roleName) else { throw InternalError("unknown role in the database") }
        let types = try (row["licence_types"] as String?).map { text in
            guard let types = ListColumn.strings(text) else { throw InternalError("a client's licence types are not a list") }
            return types
        }
        return Client(id: row["id"], role: role, name: row["name"], hall: row["hall"], window: row["window"],
                      issuerCode: row["issuer_code"], licenceTypes: types, party: row["party"], createdAt: Timestamp(stored: row["created_at"]))
    }

    /// The columns `client(_: ColumnReader)` reads, in its order.
    private static let columns = "id, role, name, hall, window, issuer_code, licence_types, party, created_at"

    /// A client from a row of `columns`, read by index: a claim reads the window's client on
    /// every hand-over, and GRDB's `Row` (a dictionary of column names per fetch) cost twice
    /// SQLite's own lookup.
    private static func client(_ row: ColumnReader) throws -> Client {
        guard let role = ClientRole(rawValue: try row.value(1)) else { throw InternalError("unknown role in the database") }
        let types = try (try row.value(6) as String?).map { text in
            guard let types = ListColumn.strings(text) else { throw InternalError("a client's licence types are not a list") }
            return types
        }
        return Client(id: try row.value(0), role: role, name: try row.value(2), hall: try row.value(3), window: try row.value(4),
                      issuerCode: try row.value(5), licenceTypes: types, party: try row.value(7), createdAt: Timestamp(stored: try row.value(8)))
    }

    /// A client by id (a deleted one too if asked); nil when there is none.
    static func client(_ id: String, includingDeleted: Bool, _ db: Database) throws -> Client? {
        try db.cachedStatement(sql: includingDeleted ? byID : liveByID).firstRow(binding: { $0.bind(id) }, client)
    }

    /// Made once: a claim reads the window's client on every hand-over.
    private static let byID = "SELECT \(columns) FROM clients WHERE id = ?"
    private static let liveByID = byID + " AND deleted_at IS NULL"

    /// The live client a token hash belongs to.
    static func client(tokenHash: [UInt8], _ db: Database) throws -> Client? {
        try db.cachedStatement(sql: "SELECT \(columns) FROM clients WHERE token_hash = ? AND deleted_at IS NULL").firstRow([Data(tokenHash)], client)
    }

    static func exists(_ id: String, _ db: Database) throws -> Bool {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM clients WHERE id = ?"), arguments: [id]) != nil
    }

    /// Up to `limit` live clients in the order they were made, after the client `after` (nil: from the start).
    static func page(after: String?, limit: Int, _ db: Database) throws -> [Client] {
        let rows: [Row]
        if let after {
            rows = try Row.fetchAll(db.cachedStatement(sql: """
                SELECT * FROM clients WHERE deleted_at IS NULL
                AND (created_at, id) > (SELECT created_at, id FROM clients WHERE id = ?) ORDER BY created_at, id LIMIT ?
                """), arguments: [after, limit])
        } else {
            rows = try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM clients WHERE deleted_at IS NULL ORDER BY created_at, id LIMIT ?"),
                                    arguments: [limit])
        }
        return try rows.map(client)
    }

    static func liveAdminCount(_ db: Database) throws -> Int {
        try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM clients WHERE role = 'admin' AND deleted_at IS NULL")) ?? 0
    }

    /// Marks a client deleted; false when there was no live one.
    static func delete(_ id: String, at instant: Date, _ db: Database) throws -> Bool {
        try db.cachedStatement(sql: "UPDATE clients SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL")
            .execute(arguments: [Timestamp.string(instant), id])
        return db.changesCount == 1
    }
}

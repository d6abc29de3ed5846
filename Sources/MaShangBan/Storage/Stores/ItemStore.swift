import Foundation
import GRDB

/// `items`: each item's definition as JSON, by code.
enum ItemStore {
    static func exists(_ code: String, _ db: Database) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM items WHERE code = ?"), arguments: [code]) == true
    }

    static func insert(code: String, approvalSystem: String?, definition: String, at instant: Date, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO items (code, approval_system, definition, created_at) VALUES (?, ?, ?, ?)")
            .execute(arguments: [code, approvalSystem, definition, Timestamp.string(instant)])
    }

    /// Every definition, oldest first.
    static func definitions(_ db: Database) throws -> [String] {
        try String.fetchAll(db.cachedStatement(sql: "SELECT definition FROM items ORDER BY created_at, code"))
    }

    /// One item's definition bytes (read by position: scans look their item up on the writer).
    static func definition(_ code: String, _ db: Database) throws -> [UInt8]? {
        try db.cachedStatement(sql: "SELECT definition FROM items WHERE code = ?").firstRow(binding: { $0.bind(code) }) { row in
            row.withBytes(0) { [UInt8]($0) }
        }
    }
}

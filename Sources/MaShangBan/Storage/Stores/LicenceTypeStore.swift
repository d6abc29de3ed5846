import Foundation
import GRDB

/// `licence_types`: the types an admin added (the built-in ones are code), as JSON.
enum LicenceTypeStore {
    /// Every added definition, oldest first.
    static func definitions(_ db: Database) throws -> [String] {
        try String.fetchAll(db.cachedStatement(sql: "SELECT definition FROM licence_types ORDER BY created_at, code"))
    }

    static func definition(_ code: String, _ db: Database) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT definition FROM licence_types WHERE code = ?"), arguments: [code])
    }

    static func insert(code: String, definition: String, at instant: Date, _ db: Database) throws {
        try db.execute(sql: "INSERT INTO licence_types (code, definition, created_at) VALUES (?, ?, ?)",
                       arguments: [code, definition, Timestamp.string(instant)])
    }
}

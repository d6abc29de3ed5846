import GRDB

/// The `meta` table: one value per key, for facts fixed once per data directory (the crypto
/// profile, the admin bootstrap, the demo's sample data, the data-key layout).
public struct MetaStore: Sendable {
    let transactions: Transactions

    /// The value recorded for `key`, or nil.
    public func value(of key: String) async throws -> String? {
        try await transactions.read { db in try Self.value(of: key, db) }
    }

    /// Records `value` for a `key` that has none yet (a second insert is a constraint error).
    public func insert(_ key: String, _ value: String) async throws {
        try await transactions.write { db in try Self.insert(key, value, db) }
    }

    static func value(of key: String, _ db: Database) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT value FROM meta WHERE key = ?"), arguments: [key])
    }

    static func insert(_ key: String, _ value: String, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO meta (key, value) VALUES (?, ?)").execute(arguments: [key, value])
    }
}

/// Whether the database answers (`GET /readyz`).
public struct StorageHealth: Sendable {
    let transactions: Transactions

    public func isReady() async -> Bool {
        (try? await transactions.read { db in try Int.fetchOne(db, sql: "SELECT 1") }) == 1
    }
}

import Foundation
import GRDB

/// `units`, `officials`, `protected_enterprises` and `filings` (赋码入企's registry).
enum UnitStore {
    static func insert(_ unit: Unit, headRef: String, headBox: [UInt8], secretBox: [UInt8], _ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO units (code, name, head_ref, head_box, supervisor_webhook, secret_box, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
            """, arguments: [unit.code, unit.name, headRef, Data(headBox), unit.supervisorWebhook, Data(secretBox), unit.createdAt.text])
    }

    private static func unit(_ row: Row) -> Unit {
        Unit(code: row["code"], name: row["name"], supervisorWebhook: row["supervisor_webhook"], createdAt: Timestamp(stored: row["created_at"]))
    }

    static func unit(_ code: String, _ db: Database) throws -> Unit? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM units WHERE code = ?"), arguments: [code]).map(unit)
    }

    static func units(_ db: Database) throws -> [Unit] {
        try Row.fetchAll(db, sql: "SELECT * FROM units ORDER BY code").map(unit)
    }

    static func setSupervisorWebhook(_ code: String, to url: String, _ db: Database) throws -> Bool {
        try db.execute(sql: "UPDATE units SET supervisor_webhook = ? WHERE code = ? AND supervisor_webhook <> ?", arguments: [url, code, url])
        return db.changesCount > 0
    }

    static func setWebhook(_ code: String, to url: String, secretBox: [UInt8], _ db: Database) throws {
        try db.execute(sql: "UPDATE units SET webhook = ?, webhook_secret_box = ? WHERE code = ?", arguments: [url, Data(secretBox), code])
    }

    static func webhookSecretBox(_ code: String, _ db: Database) throws -> [UInt8]? {
        try Data.fetchOne(db.cachedStatement(sql: "SELECT webhook_secret_box FROM units WHERE code = ?"), arguments: [code]).map { [UInt8]($0) }
    }

    static func hasWebhook(_ code: String, _ db: Database) throws -> Bool {
        try String.fetchOne(db.cachedStatement(sql: "SELECT webhook FROM units WHERE code = ?"), arguments: [code]) != nil
    }

    static func headBox(_ code: String, _ db: Database) throws -> [UInt8]? {
        try Data.fetchOne(db.cachedStatement(sql: "SELECT head_box FROM units WHERE code = ?"), arguments: [code]).map { [UInt8]($0) }
    }

    static func secretBox(_ code: String, _ db: Database) throws -> [UInt8]? {
        try Data.fetchOne(db.cachedStatement(sql: "SELECT secret_box FROM units WHERE code = ?"), arguments: [code]).map { [UInt8]($0) }
    }

    // MARK: Officials

    struct OfficialRow: Sendable {
        let unit: String
        let id: String
        let nameBox: [UInt8]
        let credentialBox: [UInt8]?
        let withdrawnAt: Timestamp?
    }

    static func insertOfficial(unit: String, id: String, nameBox: [UInt8], credentialBox: [UInt8]?, at instant: Date, _ db: Database) throws {
        try db.execute(sql: "INSERT INTO officials (unit, id, name_box, credential_box, created_at) VALUES (?, ?, ?, ?, ?)",
                       arguments: [unit, id, Data(nameBox), credentialBox.map { Data($0) }, Timestamp.string(instant)])
    }

    static func officialExists(unit: String, id: String, _ db: Database) throws -> Bool {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM officials WHERE unit = ? AND id = ?"), arguments: [unit, id]) != nil
    }

    /// Marks an official withdrawn; false when they were already.
    static func withdrawOfficial(unit: String, id: String, at instant: Date, _ db: Database) throws -> Bool {
        try db.execute(sql: "UPDATE officials SET withdrawn_at = ? WHERE unit = ? AND id = ? AND withdrawn_at IS NULL",
                       arguments: [Timestamp.string(instant), unit, id])
        return db.changesCount == 1
    }

    private static func official(_ row: Row) -> OfficialRow {
        OfficialRow(unit: row["unit"], id: row["id"], nameBox: [UInt8](row["name_box"] as Data),
                    credentialBox: (row["credential_box"] as Data?).map { [UInt8]($0) },
                    withdrawnAt: (row["withdrawn_at"] as String?).map(Timestamp.init(stored:)))
    }

    static func officials(unit: String, _ db: Database) throws -> [OfficialRow] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM officials WHERE unit = ? ORDER BY id"), arguments: [unit]).map(official)
    }

    static func official(unit: String, id: String, _ db: Database) throws -> OfficialRow? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM officials WHERE unit = ? AND id = ?"), arguments: [unit, id]).map(official)
    }

    // MARK: Protected enterprises

    /// Inserts or renames; true when the enterprise is new.
    static func upsertProtected(creditCode: String, name: String, at instant: Date, _ db: Database) throws -> Bool {
        let stamp = Timestamp.string(instant)
        let existed = try protectedEnterprise(creditCode, db) != nil
        try db.execute(sql: """
            INSERT INTO protected_enterprises (credit_code, name, created_at, updated_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (credit_code) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at
            """, arguments: [creditCode, name, stamp, stamp])
        return !existed
    }

    private static func enterprise(_ row: Row) -> ProtectedEnterprise {
        ProtectedEnterprise(creditCode: row["credit_code"], name: row["name"], createdAt: Timestamp(stored: row["created_at"]))
    }

    static func protectedEnterprise(_ creditCode: String, _ db: Database) throws -> ProtectedEnterprise? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM protected_enterprises WHERE credit_code = ?"), arguments: [creditCode])
            .map(enterprise)
    }

    static func protectedEnterprises(_ db: Database) throws -> [ProtectedEnterprise] {
        try Row.fetchAll(db, sql: "SELECT * FROM protected_enterprises ORDER BY credit_code").map(enterprise)
    }

    // MARK: Filings

    static func file(_ filing: Filing, at instant: Date, _ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO filings (unit, year, enterprise, type, count, updated_at) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (unit, year, enterprise, type) DO UPDATE SET count = excluded.count, updated_at = excluded.updated_at
            """, arguments: [filing.unit, filing.year, filing.enterprise, filing.type.rawValue, filing.count, Timestamp.string(instant)])
    }

    static func filings(unit: String, _ db: Database) throws -> [Filing] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM filings WHERE unit = ? ORDER BY year, enterprise"), arguments: [unit]).map {
            Filing(unit: $0["unit"], year: $0["year"], enterprise: $0["enterprise"], type: VisitType(rawValue: $0["type"]) ?? .inspection,
                   count: $0["count"])
        }
    }

    /// The filed count, or nil when nothing was filed.
    static func filedCount(unit: String, year: Int, enterprise: String, _ db: Database) throws -> Int? {
        try Int.fetchOne(db.cachedStatement(sql: """
            SELECT count FROM filings WHERE unit = ? AND year = ? AND enterprise = ? AND type = 'inspection'
            """), arguments: [unit, year, enterprise])
    }
}

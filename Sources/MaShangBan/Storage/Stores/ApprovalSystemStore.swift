import Foundation
import GRDB

/// `approval_systems`: code, name, webhook URL and the sealed webhook secret.
enum ApprovalSystemStore {
    static func exists(_ code: String, _ db: Database) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM approval_systems WHERE code = ?"), arguments: [code]) == true
    }

    static func insert(_ system: ApprovalSystem, secretBox: [UInt8], _ db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO approval_systems (code, name, webhook_url, secret_box, created_at) VALUES (?, ?, ?, ?, ?)
            """).execute(arguments: [system.code, system.name, system.webhookURL, Data(secretBox), system.createdAt.text])
    }

    /// Every system, oldest first.
    static func all(_ db: Database) throws -> [ApprovalSystem] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT code, name, webhook_url, created_at FROM approval_systems ORDER BY created_at, code"))
            .map { ApprovalSystem(code: $0["code"], name: $0["name"], webhookURL: $0["webhook_url"], createdAt: Timestamp(stored: $0["created_at"])) }
    }

    /// A system's sealed secret; nil when there is no such system.
    static func secretBox(_ code: String, _ db: Database) throws -> [UInt8]? {
        try Data.fetchOne(db.cachedStatement(sql: "SELECT secret_box FROM approval_systems WHERE code = ?"), arguments: [code]).map { [UInt8]($0) }
    }

    /// Points a system at `url`; true when that changed anything.
    static func setWebhook(_ code: String, to url: String, _ db: Database) throws -> Bool {
        try db.execute(sql: "UPDATE approval_systems SET webhook_url = ? WHERE code = ? AND webhook_url <> ?", arguments: [url, code, url])
        return db.changesCount > 0
    }
}

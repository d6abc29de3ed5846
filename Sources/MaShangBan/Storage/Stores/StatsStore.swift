import Foundation
import GRDB

/// The counts `GET /v1/stats` reports, read across consents, presentations, submissions and scans.
enum StatsStore {
    static func itemCodes(_ db: Database) throws -> [String] {
        try String.fetchAll(db, sql: "SELECT code FROM items")
    }

    /// Consents that name an item, by item.
    static func consentsPerItem(_ db: Database) throws -> [(item: String, count: Int64)] {
        try Row.fetchAll(db, sql: "SELECT item, COUNT(*) AS n FROM consents WHERE item IS NOT NULL GROUP BY item").map { ($0["item"], $0["n"]) }
    }

    /// Submissions by item and state.
    static func submissions(_ db: Database) throws -> [(item: String, state: SubmissionState, count: Int64)] {
        try Row.fetchAll(db, sql: "SELECT item, status, COUNT(*) AS n FROM submissions GROUP BY item, status").compactMap { row in
            SubmissionState(rawValue: row["status"]).map { (row["item"], $0, row["n"]) }
        }
    }

    /// Refused scans and claims by item (nil when the request named none that looked like one) and code.
    static func refusals(_ db: Database) throws -> [(item: String?, code: String, count: Int64)] {
        try Row.fetchAll(db, sql: "SELECT item, outcome, COUNT(*) AS n FROM scans WHERE outcome <> 'accepted' GROUP BY item, outcome")
            .map { ($0["item"], $0["outcome"], $0["n"]) }
    }

    /// Consents granted, withdrawn, and live at `instant`.
    static func consents(at instant: Date, _ db: Database) throws -> (granted: Int64, withdrawn: Int64, live: Int64) {
        (try count("SELECT COUNT(*) FROM consents", in: db),
         try count("SELECT COUNT(*) FROM consents WHERE withdrawn_at IS NOT NULL", in: db),
         try count("SELECT COUNT(*) FROM consents WHERE withdrawn_at IS NULL AND expires_at > ?", [Timestamp.string(instant)], in: db))
    }

    /// Codes issued, scanned and revoked.
    static func presentations(_ db: Database) throws -> (issued: Int64, scanned: Int64, revoked: Int64) {
        (try count("SELECT COUNT(*) FROM presentations", in: db),
         try count("SELECT COUNT(*) FROM presentations WHERE state = 'used'", in: db),
         try count("SELECT COUNT(*) FROM presentations WHERE state = 'revoked'", in: db))
    }

    private static func count(_ sql: String, _ arguments: StatementArguments = [], in db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: sql, arguments: arguments) ?? 0
    }
}

import Foundation
import GRDB

/// `GET /v1/stats`: counts of consents, presentations, scans (accepted, and rejected by
/// code), submissions by delivery status — in total and per item.
public struct Stats: Sendable {
    let pool: DatabasePool
    let now: Now

    public func collect() async throws -> JSONValue {
        let instant = now()
        return try await pool.read { db in try Self.collect(db, at: instant) }
    }

    static func collect(_ db: Database, at instant: Date) throws -> JSONValue {
        let now = Timestamp.string(instant)
        func count(_ sql: String, _ arguments: StatementArguments = []) throws -> JSONValue {
            .int(Int64(try Int.fetchOne(db, sql: sql, arguments: arguments) ?? 0))
        }
        var items: [String: [String: JSONValue]] = [:]
        for code in try String.fetchAll(db, sql: "SELECT code FROM items") {
            items[code] = ["consents": .int(0), "scans": .object(["accepted": .int(0), "rejected": .object([:])]),
                           "submissions": .object(["pending": .int(0), "delivered": .int(0), "dead": .int(0)])]
        }
        for row in try Row.fetchAll(db, sql: "SELECT item, COUNT(*) AS n FROM consents WHERE item IS NOT NULL GROUP BY item") {
            items[row["item"], default: [:]]["consents"] = .int(row["n"])
        }
        // An accepted scan (or claim) is its submission, made in the same transaction; the
        // `scans` table holds the refused ones.
        var accepted: Int64 = 0
        var rejected: [String: JSONValue] = [:]
        var itemScans: [String: (accepted: Int64, rejected: [String: JSONValue])] = [:]
        var submissions: [String: JSONValue] = ["pending": .int(0), "delivered": .int(0), "dead": .int(0)]
        var itemSubmissions: [String: [String: JSONValue]] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT item, status, COUNT(*) AS n FROM submissions GROUP BY item, status") {
            let (item, status, n): (String, String, Int64) = (row["item"], row["status"], row["n"])
            submissions[status] = .int((submissions[status]?.intValue ?? 0) + n)
            itemSubmissions[item, default: ["pending": .int(0), "delivered": .int(0), "dead": .int(0)]][status] = .int(n)
            accepted += n
            itemScans[item, default: (0, [:])].accepted += n
        }
        for (item, counts) in itemSubmissions where items[item] != nil { items[item]?["submissions"] = .object(counts) }
        for row in try Row.fetchAll(db, sql: "SELECT item, outcome, COUNT(*) AS n FROM scans WHERE outcome <> 'accepted' GROUP BY item, outcome") {
            let (item, outcome, n): (String?, String, Int64) = (row["item"], row["outcome"], row["n"])
            rejected[outcome] = .int((rejected[outcome]?.intValue ?? 0) + n)
            if let item { itemScans[item, default: (0, [:])].rejected[outcome] = .int(n) }
        }
        for (item, scans) in itemScans where items[item] != nil {
            items[item]?["scans"] = .object(["accepted": .int(scans.accepted), "rejected": .object(scans.rejected)])
        }
        return .object([
            "consents": .object([
                "granted": try count("SELECT COUNT(*) FROM consents"),
                "withdrawn": try count("SELECT COUNT(*) FROM consents WHERE withdrawn_at IS NOT NULL"),
                "live": try count("SELECT COUNT(*) FROM consents WHERE withdrawn_at IS NULL AND expires_at > ?", [now]),
            ]),
            "presentations": .object([
                "issued": try count("SELECT COUNT(*) FROM presentations"),
                "scanned": try count("SELECT COUNT(*) FROM presentations WHERE state = 'used'"),
                "revoked": try count("SELECT COUNT(*) FROM presentations WHERE state = 'revoked'"),
            ]),
            "scans": .object(["accepted": .int(accepted), "rejected": .object(rejected)]),
            "submissions": .object(submissions),
            "items": .object(items.mapValues { .object($0) }),
        ])
    }
}

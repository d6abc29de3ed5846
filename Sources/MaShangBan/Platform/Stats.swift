import Foundation
import GRDB

/// `GET /v1/stats`: counts of consents, presentations, scans (accepted, and rejected by
/// code), submissions by delivery status — in total and per item.
public struct Stats: Sendable {
    let transactions: Transactions
    let now: Now

    public func collect() async throws -> JSONValue {
        let instant = now()
        return try await transactions.read { db in try Self.collect(db, at: instant) }
    }

    static func collect(_ db: Database, at instant: Date) throws -> JSONValue {
        let zeroSubmissions: [String: JSONValue] = ["pending": .int(0), "delivered": .int(0), "dead": .int(0)]
        var items: [String: [String: JSONValue]] = [:]
        for code in try StatsStore.itemCodes(db) {
            items[code] = ["consents": .int(0), "scans": .object(["accepted": .int(0), "rejected": .object([:])]),
                           "submissions": .object(zeroSubmissions)]
        }
        for (item, n) in try StatsStore.consentsPerItem(db) {
            items[item, default: [:]]["consents"] = .int(n)
        }
        // An accepted scan (or claim) is its submission, made in the same transaction; the
        // `scans` table holds the refused ones.
        var accepted: Int64 = 0
        var rejected: [String: JSONValue] = [:]
        var itemScans: [String: (accepted: Int64, rejected: [String: JSONValue])] = [:]
        var submissions = zeroSubmissions
        var itemSubmissions: [String: [String: JSONValue]] = [:]
        for (item, state, n) in try StatsStore.submissions(db) {
            submissions[state.rawValue] = .int((submissions[state.rawValue]?.intValue ?? 0) + n)
            itemSubmissions[item, default: zeroSubmissions][state.rawValue] = .int(n)
            accepted += n
            itemScans[item, default: (0, [:])].accepted += n
        }
        for (item, counts) in itemSubmissions where items[item] != nil { items[item]?["submissions"] = .object(counts) }
        for (item, code, n) in try StatsStore.refusals(db) {
            rejected[code] = .int((rejected[code]?.intValue ?? 0) + n)
            if let item { itemScans[item, default: (0, [:])].rejected[code] = .int(n) }
        }
        for (item, scans) in itemScans where items[item] != nil {
            items[item]?["scans"] = .object(["accepted": .int(scans.accepted), "rejected": .object(scans.rejected)])
        }
        let consents = try StatsStore.consents(at: instant, db)
        let presentations = try StatsStore.presentations(db)
        return .object([
            "consents": .object(["granted": .int(consents.granted), "withdrawn": .int(consents.withdrawn), "live": .int(consents.live)]),
            "presentations": .object(["issued": .int(presentations.issued), "scanned": .int(presentations.scanned),
                                      "revoked": .int(presentations.revoked)]),
            "scans": .object(["accepted": .int(accepted), "rejected": .object(rejected)]),
            "submissions": .object(submissions),
            "items": .object(items.mapValues { .object($0) }),
        ])
    }
}

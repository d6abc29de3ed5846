import Foundation
import GRDB

/// `notices`: supervisor webhooks waiting to be delivered, and what became of them.
enum NoticeStore: DeliveryQueue {
    static func insert(id: String, unit: String, event: String, body: String, destination: NoticeDestination, at instant: Date,
                       _ db: Database) throws {
        let stamp = Timestamp.string(instant)
        try db.cachedStatement(sql: """
            INSERT INTO notices (id, unit, event, body, destination, status, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)
            """).execute(arguments: [id, unit, event, body, destination.rawValue, stamp, stamp])
    }

    /// Pending notices due at `instant`, soonest first, with the webhook each goes to.
    static func due(limit: Int, at instant: Date, _ db: Database) throws -> [Deliveries.Due] {
        try Row.fetchAll(db.cachedStatement(sql: """
            SELECT n.id, n.unit, n.destination, n.attempts, n.created_at,
                   CASE n.destination WHEN 'unit' THEN u.webhook ELSE u.supervisor_webhook END AS url
            FROM notices n JOIN units u ON u.code = n.unit
            WHERE n.status = 'pending' AND n.next_attempt_at <= ? ORDER BY n.next_attempt_at LIMIT ?
            """), arguments: [Timestamp.string(instant), limit]).compactMap { row in
            guard let url = row["url"] as String?, let destination = NoticeDestination(rawValue: row["destination"]) else { return nil }
            return Deliveries.Due(kind: .notice, id: row["id"], system: Notices.destination(destination, row["unit"]), url: url,
                                  attempts: row["attempts"], createdAt: row["created_at"])
        }
    }

    /// The soonest due time of a pending notice not in `inFlight`.
    static func nextDue(excluding inFlight: Set<String>, _ db: Database) throws -> Date? {
        try Row.fetchAll(db.cachedStatement(sql: """
            SELECT id, next_attempt_at FROM notices WHERE status = 'pending' ORDER BY next_attempt_at LIMIT ?
            """), arguments: [inFlight.count + 1]).first { !inFlight.contains($0[0]) }.flatMap { Timestamp.date($0[1]) }
    }

    /// The body, and the unit and webhook whose secret signs it.
    static func body(_ id: String, _ db: Database) throws -> (body: String, unit: String, destination: NoticeDestination)? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT body, unit, destination FROM notices WHERE id = ?"), arguments: [id]).map {
            ($0[0], $0[1], NoticeDestination(rawValue: $0[2]) ?? .supervisor)
        }
    }

    static func state(_ id: String, _ db: Database) throws -> SubmissionState? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT status FROM notices WHERE id = ?"), arguments: [id])
            .flatMap(SubmissionState.init(rawValue:))
    }

    static func markDelivered(_ id: String, attempts: Int, at instant: Date, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE notices SET status = 'delivered', attempts = ?, last_error = NULL, delivered_at = ? WHERE id = ?")
            .execute(arguments: [attempts, Timestamp.string(instant), id])
    }

    static func markDead(_ id: String, attempts: Int, failure: String?, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE notices SET status = 'dead', attempts = ?, last_error = ? WHERE id = ?")
            .execute(arguments: [attempts, failure, id])
    }

    static func markFailed(_ id: String, attempts: Int, failure: String?, next: Date, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE notices SET attempts = ?, last_error = ?, next_attempt_at = ? WHERE id = ?")
            .execute(arguments: [attempts, failure, Timestamp.string(next), id])
    }

    static func pendingCount(_ db: Database) throws -> (Int, Date?) {
        let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*), MIN(created_at) FROM notices WHERE status = 'pending'"))
        return (row?[0] ?? 0, (row?[1] as String?).flatMap(Timestamp.date))
    }
}

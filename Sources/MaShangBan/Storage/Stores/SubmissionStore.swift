import Foundation
import GRDB

/// A submission's delivery state.
public enum SubmissionState: String, Sendable, CaseIterable {
    case pending, delivered, dead
}

/// A table of deliveries and their state, as the delivery worker writes an attempt's outcome.
protocol DeliveryQueue: Sendable {
    static func state(_ id: String, _ db: Database) throws -> SubmissionState?
    static func markDelivered(_ id: String, attempts: Int, at instant: Date, _ db: Database) throws
    static func markDead(_ id: String, attempts: Int, failure: String?, _ db: Database) throws
    static func markFailed(_ id: String, attempts: Int, failure: String?, next: Date, _ db: Database) throws
}

/// `submissions`, their `outbox` rows (the sealed webhook body and when to try next), and
/// `scans`, which counts the refused scans and claims (an accepted one is its submission).
enum SubmissionStore: DeliveryQueue {
    /// Where a dead submission's outbox row waits (migration 0007): after every real due
    /// time, so polls that walk `outbox_by_due` (CROSS JOIN keeps the outbox the outer loop)
    /// never step over the dead. A retry sets a real time again.
    static let parked = "9999-12-31T23:59:59Z"

    static func insert(id: String, item: String, approvalSystem: String?, consentID: String?, presentationID: String?, windowSessionID: String?,
                       terminalID: String?, auditSeq: Int64, at stamp: String, _ db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO submissions (id, item, approval_system, consent_id, presentation_id, window_session_id, terminal_id, status,
                created_at, audit_seq) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)
            """).execute { values in  // once a scan or claim, on the writer
            values.bind(id)
            values.bind(item)
            values.bind(approvalSystem)
            values.bind(consentID)
            values.bind(presentationID)
            values.bind(windowSessionID)
            values.bind(terminalID)
            values.bind(stamp)
            values.bind(auditSeq)
        }
    }

    /// Queues a submission's sealed body, due at once.
    static func enqueue(_ id: String, bodyBox: [UInt8], at stamp: String, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO outbox (submission_id, body_box, next_attempt_at, created_at) VALUES (?, ?, ?, ?)")
            .execute { values in
                values.bind(id)
                values.bind(bodyBox)
                values.bind(stamp)
                values.bind(stamp)
            }
    }

    static func bodyBox(_ id: String, _ db: Database) throws -> [UInt8]? {
        try Data.fetchOne(db.cachedStatement(sql: "SELECT body_box FROM outbox WHERE submission_id = ?"), arguments: [id]).map { [UInt8]($0) }
    }

    /// The sequence number and hash of a submission's audit record (nil for one stored before
    /// migration 0026, whose body carries them itself).
    static func auditRecord(of id: String, _ db: Database) throws -> (seq: Int64, hash: String)? {
        try db.cachedStatement(sql: "SELECT a.seq, a.hash FROM submissions s JOIN audit_records a ON a.seq = s.audit_seq WHERE s.id = ?")
            .firstRow([id]) { row -> (Int64, String) in (try row.value(0), try row.value(1)) }
    }

    static func status(_ id: String, _ db: Database) throws -> SubmissionStatus? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM submissions WHERE id = ?"), arguments: [id]).map {
            SubmissionStatus(id: $0["id"], item: $0["item"], approvalSystem: $0["approval_system"] as String?,
                             status: SubmissionState(rawValue: $0["status"]) ?? .pending, attempts: $0["attempts"],
                             lastError: $0["last_error"], deliveredAt: ($0["delivered_at"] as String?).map(Timestamp.init(stored:)),
                             createdAt: Timestamp(stored: $0["created_at"]))
        }
    }

    static func state(_ id: String, _ db: Database) throws -> SubmissionState? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT status FROM submissions WHERE id = ?"), arguments: [id])
            .flatMap(SubmissionState.init(rawValue:))
    }

    static func terminal(of id: String, _ db: Database) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT terminal_id FROM submissions WHERE id = ?"), arguments: [id])
    }

    /// Back to pending with no attempts, due at `instant`.
    static func requeue(_ id: String, at instant: Date, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE submissions SET status = 'pending', attempts = 0 WHERE id = ?").execute(arguments: [id])
        try setDue(id, Timestamp.string(instant), db)
    }

    /// Delivered: the body leaves the outbox.
    static func markDelivered(_ id: String, attempts: Int, at instant: Date, _ db: Database) throws {
        try db.cachedStatement(sql: """
            UPDATE submissions SET status = 'delivered', attempts = ?, last_error = NULL, delivered_at = ? WHERE id = ?
            """).execute(arguments: [attempts, Timestamp.string(instant), id])
        try db.cachedStatement(sql: "DELETE FROM outbox WHERE submission_id = ?").execute(arguments: [id])
    }

    /// Dead: its outbox row is parked until an admin retries it.
    static func markDead(_ id: String, attempts: Int, failure: String?, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE submissions SET status = 'dead', attempts = ?, last_error = ? WHERE id = ?")
            .execute(arguments: [attempts, failure, id])
        try setDue(id, parked, db)
    }

    /// A failed attempt, to be tried again at `next`.
    static func markFailed(_ id: String, attempts: Int, failure: String?, next: Date, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE submissions SET attempts = ?, last_error = ? WHERE id = ?").execute(arguments: [attempts, failure, id])
        try setDue(id, Timestamp.string(next), db)
    }

    private static func setDue(_ id: String, _ stamp: String, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE outbox SET next_attempt_at = ? WHERE submission_id = ?").execute(arguments: [stamp, id])
    }

    /// Pending submissions due at `instant`, soonest first, with their system's webhook, or
    /// (异地代收) the peer region they go to and its federation endpoint.
    static func due(limit: Int, at instant: Date, _ db: Database) throws -> [Deliveries.Due] {
        try Row.fetchAll(db.cachedStatement(sql: """
            SELECT s.id, s.approval_system, s.attempts, s.created_at, a.webhook_url, p.region AS peer, r.base_url FROM outbox o
            CROSS JOIN submissions s ON s.id = o.submission_id LEFT JOIN approval_systems a ON a.code = s.approval_system
            LEFT JOIN submission_peers p ON s.approval_system IS NULL AND p.submission_id = s.id AND p.role = 'forwarded_to'
            LEFT JOIN peers r ON r.region = p.region
            WHERE o.next_attempt_at <= ? AND s.status = 'pending' ORDER BY o.next_attempt_at LIMIT ?
            """), arguments: [Timestamp.string(instant), limit]).compactMap { row -> Deliveries.Due? in
            if let peer: String = row["peer"], let base: String = row["base_url"] {
                return Deliveries.Due(id: row["id"], system: "region:\(peer)", url: base + Deliveries.forwardPath, attempts: row["attempts"],
                                      createdAt: row["created_at"], peer: peer)
            }
            guard let system: String = row["approval_system"], let url: String = row["webhook_url"] else { return nil }
            return Deliveries.Due(id: row["id"], system: system, url: url, attempts: row["attempts"], createdAt: row["created_at"])
        }
    }

    /// How many are pending, and the oldest pending one's time.
    static func queueDepth(_ db: Database) throws -> (Int, Date?) {
        let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*), MIN(created_at) FROM submissions WHERE status = 'pending'"))
        return (row?[0] ?? 0, (row?[1] as String?).flatMap(Timestamp.date))
    }

    /// The soonest due time of a pending submission not in `inFlight`.
    static func nextDue(excluding inFlight: Set<String>, _ db: Database) throws -> Date? {
        let upcoming = try Row.fetchAll(db.cachedStatement(sql: """
            SELECT o.submission_id, o.next_attempt_at FROM outbox o CROSS JOIN submissions s ON s.id = o.submission_id
            WHERE o.next_attempt_at < ? AND s.status = 'pending' ORDER BY o.next_attempt_at LIMIT ?
            """), arguments: [parked, inFlight.count + 1])
        return upcoming.first { !inFlight.contains($0[0]) }.flatMap { Timestamp.date($0[1]) }
    }

    /// Counts a refused scan or claim under its problem code.
    static func recordRefusal(terminalID: String, item: String?, code: String, at instant: Date, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO scans (at, terminal_id, item, outcome) VALUES (?, ?, ?, ?)")
            .execute(arguments: [Timestamp.string(instant), terminalID, item, code])
    }
}

import Foundation
import GRDB

/// `appointments`: enterprises' requests for a service visit (码上约).
enum AppointmentStore {
    static func insert(_ a: Appointment, _ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO appointments (id, enterprise, unit, topic, preferred_days, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
            """, arguments: [a.id, a.enterprise, a.unit, a.topic, ListColumn.text(a.preferredDays), a.status.rawValue, a.createdAt.text])
    }

    private static func appointment(_ row: Row) -> Appointment {
        return Appointment(id: row["id"], enterprise: row["enterprise"], unit: row["unit"], topic: row["topic"],
                           preferredDays: ListColumn.days(row["preferred_days"]) ?? [], status: Appointment.Status(rawValue: row["status"]) ?? .requested,
                           reason: row["reason"], visit: row["visit_id"], createdAt: Timestamp(stored: row["created_at"]),
                           decidedAt: (row["decided_at"] as String?).map(Timestamp.init(stored:)))
    }

    static func appointment(_ id: String, _ db: Database) throws -> Appointment? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM appointments WHERE id = ?"), arguments: [id]).map(appointment)
    }

    /// A unit's or an enterprise's appointments, newest first.
    static func appointments(unit: String, limit: Int, _ db: Database) throws -> [Appointment] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM appointments WHERE unit = ? ORDER BY created_at DESC, id DESC LIMIT ?"),
                         arguments: [unit, limit]).map(appointment)
    }

    static func appointments(enterprise: String, limit: Int, _ db: Database) throws -> [Appointment] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM appointments WHERE enterprise = ? ORDER BY created_at DESC, id DESC LIMIT ?"),
                         arguments: [enterprise, limit]).map(appointment)
    }

    static func decide(_ id: String, status: Appointment.Status, reason: String?, visit: String?, at instant: Date, _ db: Database) throws {
        try db.execute(sql: "UPDATE appointments SET status = ?, reason = ?, visit_id = ?, decided_at = ? WHERE id = ?",
                       arguments: [status.rawValue, reason, visit, Timestamp.string(instant), id])
    }
}

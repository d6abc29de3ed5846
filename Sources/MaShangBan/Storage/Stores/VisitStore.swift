import Foundation
import GRDB

/// `visits`, `visit_officials` and `visit_events`.
enum VisitStore {
    static func insert(_ v: Visit, officials: [String], _ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO visits (id, unit, enterprise, type, matter, legal_basis, purpose, from_day, until_day, proposed_days, booked_day,
                decision, decided_at, appointment, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [v.id, v.unit, v.enterprise, v.type.rawValue, v.matter, v.legalBasis, v.purpose, v.from.text, v.until.text,
                             ListColumn.text(v.proposedDays), v.bookedDay?.text, v.decision?.rawValue, v.decidedAt?.text, v.appointment,
                             v.createdAt.text])
        for official in officials {
            try db.execute(sql: "INSERT INTO visit_officials (visit_id, unit, official) VALUES (?, ?, ?)", arguments: [v.id, v.unit, official])
        }
    }


    private static func visit(_ row: Row) throws -> Visit {
        guard let type = VisitType(rawValue: row["type"]), let from = CalendarDate(row["from_day"]), let until = CalendarDate(row["until_day"])
        else { throw InternalError("a stored visit does not read back") }
        let stamp = { (column: String) in (row[column] as String?).map(Timestamp.init(stored:)) }
        return Visit(id: row["id"], unit: row["unit"], enterprise: row["enterprise"], type: type, matter: row["matter"],
                     legalBasis: row["legal_basis"], purpose: row["purpose"], from: from, until: until,
                     proposedDays: ListColumn.days(row["proposed_days"]) ?? [], counterDays: ListColumn.days(row["counter_days"]),
                     bookedDay: (row["booked_day"] as String?).flatMap(CalendarDate.init), unannounced: row["unannounced"],
                     approvedAt: stamp("approved_at"), approvalOrder: row["approval_order"],
                     decision: (row["decision"] as String?).flatMap(EnterpriseDecision.init(rawValue:)),
                     decisionReason: row["decision_reason"], decidedAt: stamp("decided_at"), joins: row["joins"],
                     joinedAt: stamp("joined_at"), withdrawnAt: stamp("withdrawn_at"), jti: row["jti"], appointment: row["appointment"],
                     createdAt: Timestamp(stored: row["created_at"]))
    }

    static func visit(_ id: String, _ db: Database) throws -> Visit? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM visits WHERE id = ?"), arguments: [id]).map(visit)
    }

    static func visit(jti: String, _ db: Database) throws -> Visit? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM visits WHERE jti = ?"), arguments: [jti]).map(visit)
    }

    /// A unit's visits, newest first, optionally of one enterprise.
    static func visits(unit: String, enterprise: String?, limit: Int, _ db: Database) throws -> [Visit] {
        if let enterprise {
            return try Row.fetchAll(db.cachedStatement(sql: """
                SELECT * FROM visits WHERE unit = ? AND enterprise = ? ORDER BY created_at DESC, rowid DESC LIMIT ?
                """), arguments: [unit, enterprise, limit]).map(visit)
        }
        return try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM visits WHERE unit = ? ORDER BY created_at DESC, rowid DESC LIMIT ?"),
                                arguments: [unit, limit]).map(visit)
    }

    /// An enterprise's visits, latest window first.
    static func visits(enterprise: String, limit: Int, _ db: Database) throws -> [Visit] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM visits WHERE enterprise = ? ORDER BY from_day DESC, rowid DESC LIMIT ?"),
                         arguments: [enterprise, limit]).map(visit)
    }

    /// The (unit, official) pairs a visit lists.
    static func officials(of visit: String, _ db: Database) throws -> [(unit: String, id: String)] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT unit, official FROM visit_officials WHERE visit_id = ? ORDER BY unit, official"),
                         arguments: [visit]).map { ($0[0], $0[1]) }
    }

    /// Whether one of these visits lists an official withdrawn from their unit.
    static func listsWithdrawnOfficial(_ visits: [String], _ db: Database) throws -> Bool {
        for visit in visits {
            let found = try Row.fetchOne(db.cachedStatement(sql: """
                SELECT 1 FROM visit_officials v JOIN officials o ON o.unit = v.unit AND o.id = v.official
                WHERE v.visit_id = ? AND o.withdrawn_at IS NOT NULL LIMIT 1
                """), arguments: [visit])
            if found != nil { return true }
        }
        return false
    }

    /// Visits merged into `lead` (joined), or asking to be (`joined` false).
    static func members(of lead: String, joined: Bool, _ db: Database) throws -> [Visit] {
        let sql = joined
            ? "SELECT * FROM visits WHERE joins = ? AND joined_at IS NOT NULL AND withdrawn_at IS NULL ORDER BY rowid"
            : "SELECT * FROM visits WHERE joins = ? AND joined_at IS NULL AND withdrawn_at IS NULL ORDER BY rowid"
        return try Row.fetchAll(db.cachedStatement(sql: sql), arguments: [lead]).map(visit)
    }

    /// The unit's inspections of the enterprise in the year of `visit`, applied before it (in
    /// the order rows were stored) and not withdrawn: what its filing has counted already.
    static func inspectionsBefore(_ visit: Visit, _ db: Database) throws -> Int {
        let year = String(visit.from.text.prefix(4))
        return try Int.fetchOne(db.cachedStatement(sql: """
            SELECT COUNT(*) FROM visits WHERE unit = ? AND enterprise = ? AND type = 'inspection' AND withdrawn_at IS NULL
            AND from_day BETWEEN ? AND ? AND rowid < (SELECT rowid FROM visits WHERE id = ?)
            """), arguments: [visit.unit, visit.enterprise, year + "-01-01", year + "-12-31", visit.id]) ?? 0
    }

    /// Other units' approved inspections of the enterprise, not withdrawn nor merged into
    /// another, approved before the approval numbered `approvedBefore` (nil: any).
    static func otherInspections(of visit: Visit, approvedBefore: Int64?, _ db: Database) throws -> [OtherInspection] {
        try Row.fetchAll(db.cachedStatement(sql: """
            SELECT id, matter, from_day, until_day FROM visits WHERE enterprise = ?1 AND unit <> ?2 AND type = 'inspection'
            AND approval_order IS NOT NULL AND withdrawn_at IS NULL AND joined_at IS NULL AND approval_order < coalesce(?3, 9223372036854775807)
            """), arguments: [visit.enterprise, visit.unit, approvedBefore]).compactMap { row in
            guard let from = CalendarDate(row[2]), let until = CalendarDate(row[3]) else { return nil }
            return OtherInspection(visit: row[0], matter: row[1], from: from, until: until)
        }
    }

    /// Other live visits of any kind to the enterprise whose day (booked, else first) lies
    /// in the 30 days up to `day`; merged visits count once, under their lead.
    static func recentVisits(enterprise: String, day: CalendarDate, excluding id: String, _ db: Database) throws -> Int {
        try Int.fetchOne(db.cachedStatement(sql: """
            SELECT COUNT(*) FROM visits WHERE enterprise = ? AND withdrawn_at IS NULL AND joined_at IS NULL
            AND coalesce(booked_day, from_day) BETWEEN ? AND ? AND rowid <> (SELECT rowid FROM visits WHERE id = ?)
            """), arguments: [enterprise, day.adding(days: -29).text, day.text, id]) ?? 0
    }

    // MARK: Changes

    /// Back to applied: the head's approval revoked.
    static func revokeApproval(_ id: String, _ db: Database) throws {
        try db.execute(sql: "UPDATE visits SET approved_at = NULL, approval_order = NULL, unannounced = 0 WHERE id = ?", arguments: [id])
    }

    static func approve(_ id: String, unannounced: Bool, at instant: Date, _ db: Database) throws {
        try db.execute(sql: """
            UPDATE visits SET approved_at = ?, unannounced = ?, approval_order = (SELECT coalesce(max(approval_order), 0) + 1 FROM visits)
            WHERE id = ?
            """, arguments: [Timestamp.string(instant), unannounced, id])
    }

    static func decide(_ id: String, _ decision: EnterpriseDecision, reason: String?, at instant: Date, _ db: Database) throws {
        try db.execute(sql: "UPDATE visits SET decision = ?, decision_reason = ?, decided_at = ? WHERE id = ?",
                       arguments: [decision.rawValue, reason, Timestamp.string(instant), id])
    }

    /// The unit's proposal (the enterprise's counter-proposal is cleared), or the enterprise's.
    static func propose(_ id: String, days list: [CalendarDate], byUnit: Bool, _ db: Database) throws {
        let sql = byUnit ? "UPDATE visits SET proposed_days = ?, counter_days = NULL WHERE id = ?" : "UPDATE visits SET counter_days = ? WHERE id = ?"
        try db.execute(sql: sql, arguments: [ListColumn.text(list), id])
    }

    static func book(_ id: String, day: CalendarDate, _ db: Database) throws {
        try db.execute(sql: "UPDATE visits SET booked_day = ? WHERE id = ?", arguments: [day.text, id])
    }

    static func withdraw(_ id: String, at instant: Date, _ db: Database) throws {
        try db.execute(sql: "UPDATE visits SET withdrawn_at = ? WHERE id = ?", arguments: [Timestamp.string(instant), id])
    }

    static func requestJoin(_ id: String, lead: String, _ db: Database) throws {
        try db.execute(sql: "UPDATE visits SET joins = ? WHERE id = ?", arguments: [lead, id])
    }

    static func markJoined(_ id: String, at instant: Date, _ db: Database) throws {
        try db.execute(sql: "UPDATE visits SET joined_at = ? WHERE id = ?", arguments: [Timestamp.string(instant), id])
    }

    static func setJTI(_ id: String, jti: String, _ db: Database) throws {
        try db.execute(sql: "UPDATE visits SET jti = ? WHERE id = ? AND jti IS NULL", arguments: [jti, id])
    }

    // MARK: Door events

    static func insertEvent(visit: String?, enterprise: String, _ event: VisitEvent, clientID: String, _ db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO visit_events (visit_id, enterprise, event, day, at, client_id, reasons) VALUES (?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [visit, enterprise, event.kind.rawValue, event.day.text, event.at.text, clientID,
                                     ListColumn.text(event.reasons)])
    }

    static func events(of visit: String, _ db: Database) throws -> [VisitEvent] {
        try Row.fetchAll(db.cachedStatement(sql: """
            SELECT e.event, e.day, e.at, e.reasons, c.name FROM visit_events e LEFT JOIN clients c ON c.id = e.client_id
            WHERE e.visit_id = ? ORDER BY e.id
            """), arguments: [visit]).compactMap { row in
            guard let kind = VisitEvent.Kind(rawValue: row[0]), let day = CalendarDate(row[1]) else { return nil }
            let reasons = ListColumn.strings(row[3]) ?? []
            return VisitEvent(kind: kind, day: day, at: Timestamp(stored: row[2]), reasons: reasons, door: row[4])
        }
    }

    /// The last entry or exit of a visit on `day` (nil: on any day), if any.
    static func lastDoorEvent(of visit: String, day: CalendarDate?, _ db: Database) throws -> VisitEvent.Kind? {
        try String.fetchOne(db.cachedStatement(sql: """
            SELECT event FROM visit_events WHERE visit_id = ?1 AND (?2 IS NULL OR day = ?2) AND event <> 'refused' ORDER BY id DESC LIMIT 1
            """), arguments: [visit, day?.text]).flatMap(VisitEvent.Kind.init(rawValue:))
    }

    // MARK: Ratings and figures

    static func insertRating(_ r: VisitRating, commentBox: [UInt8]?, _ db: Database) throws {
        try db.execute(sql: "INSERT INTO visit_ratings (visit_id, unit, score, comment_box, created_at) VALUES (?, ?, ?, ?, ?)",
                       arguments: [r.visit, r.unit, r.score, commentBox.map { Data($0) }, r.createdAt.text])
    }

    static func rating(of visit: String, _ db: Database) throws -> Int? {
        try Int.fetchOne(db.cachedStatement(sql: "SELECT score FROM visit_ratings WHERE visit_id = ?"), arguments: [visit])
    }

    /// The latest ratings, each with its sealed comment.
    static func ratings(limit: Int, _ db: Database) throws -> [(rating: VisitRating, commentBox: [UInt8]?)] {
        try Row.fetchAll(db.cachedStatement(sql: """
            SELECT r.*, v.enterprise FROM visit_ratings r JOIN visits v ON v.id = r.visit_id ORDER BY r.created_at DESC, r.visit_id LIMIT ?
            """), arguments: [limit]).map { row in
            (VisitRating(visit: row["visit_id"], unit: row["unit"], enterprise: row["enterprise"], score: row["score"], comment: nil,
                         createdAt: Timestamp(stored: row["created_at"])), (row["comment_box"] as Data?).map { [UInt8]($0) })
        }
    }

    /// The league table, or one unit's row. A joint visit counts for every unit in it, its
    /// red scans and rating too.
    static func unitFigures(unit: String?, _ db: Database) throws -> [VisitStatsReport.UnitFigures] {
        try Row.fetchAll(db.cachedStatement(sql: """
            WITH parts AS (
                SELECT u.code AS unit, v.id AS visit, coalesce(CASE WHEN v.joined_at IS NOT NULL THEN v.joins END, v.id) AS lead,
                       v.unannounced AS unannounced,
                       (v.joined_at IS NOT NULL OR EXISTS (SELECT 1 FROM visits m WHERE m.joins = v.id AND m.joined_at IS NOT NULL)) AS joint
                FROM units u JOIN visits v ON v.unit = u.code WHERE v.withdrawn_at IS NULL AND (?1 IS NULL OR u.code = ?1)
            )
            SELECT u.code, u.name,
                   (SELECT COUNT(*) FROM parts p WHERE p.unit = u.code) AS visits,
                   (SELECT COUNT(*) FROM parts p JOIN visit_events e ON e.visit_id = p.lead WHERE p.unit = u.code AND e.event = 'refused')
                       AS red_scans,
                   (SELECT COUNT(*) FROM parts p WHERE p.unit = u.code AND p.joint) AS joint_visits,
                   (SELECT COUNT(*) FROM parts p WHERE p.unit = u.code AND p.unannounced) AS unannounced,
                   (SELECT COUNT(*) FROM parts p JOIN visit_ratings r ON r.visit_id = p.lead WHERE p.unit = u.code) AS ratings,
                   (SELECT AVG(r.score) FROM parts p JOIN visit_ratings r ON r.visit_id = p.lead WHERE p.unit = u.code) AS average
            FROM units u WHERE ?1 IS NULL OR u.code = ?1 ORDER BY u.code
            """), arguments: [unit]).map { row in
            VisitStatsReport.UnitFigures(unit: row["code"], name: row["name"], visits: row["visits"], redScans: row["red_scans"],
                                         jointVisits: row["joint_visits"], unannounced: row["unannounced"], ratings: row["ratings"],
                                         averageScore: row["average"])
        }
    }

    /// Live visits (a joint visit once) on or after `since` whose enterprise has more than
    /// `threshold` visits in the 30 days up to the visit's day, latest first: the same count
    /// as `recentVisits`, for every visit at once.
    static func frequentVisits(since: CalendarDate, threshold: Int, limit: Int, _ db: Database) throws -> [VisitStatsReport.FrequentVisit] {
        try Row.fetchAll(db.cachedStatement(sql: """
            SELECT * FROM (
                SELECT v.id, v.unit, v.enterprise, coalesce(v.booked_day, v.from_day) AS day,
                       (SELECT COUNT(*) FROM visits o WHERE o.enterprise = v.enterprise AND o.withdrawn_at IS NULL AND o.joined_at IS NULL
                        AND coalesce(o.booked_day, o.from_day) BETWEEN date(coalesce(v.booked_day, v.from_day), '-29 days')
                            AND coalesce(v.booked_day, v.from_day)) AS visits
                FROM visits v WHERE v.withdrawn_at IS NULL AND v.joined_at IS NULL AND coalesce(v.booked_day, v.from_day) >= ?1
            ) WHERE visits > ?2 ORDER BY day DESC, id LIMIT ?3
            """), arguments: [since.text, threshold, limit]).compactMap { row in
            guard let day = CalendarDate(row["day"]) else { return nil }
            return VisitStatsReport.FrequentVisit(visit: row["id"], unit: row["unit"], enterprise: row["enterprise"], day: day,
                                                  visitsIn30Days: row["visits"])
        }
    }

    /// Inspections approved unannounced (live), latest approval first.
    static func unannounced(limit: Int, _ db: Database) throws -> [Visit] {
        try Row.fetchAll(db.cachedStatement(sql: """
            SELECT * FROM visits WHERE unannounced = 1 AND approved_at IS NOT NULL AND withdrawn_at IS NULL ORDER BY approved_at DESC, id LIMIT ?
            """), arguments: [limit]).map(visit)
    }
}

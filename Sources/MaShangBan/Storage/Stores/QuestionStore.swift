import Foundation
import GRDB

/// `question_categories`, `questions` (text sealed), `question_events`, `question_alerts`.
enum QuestionStore {
    static func setCategory(_ c: QuestionCategory, at instant: Date, _ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO question_categories (unit, name, limit_working_days, created_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (unit, name) DO UPDATE SET limit_working_days = excluded.limit_working_days
            """, arguments: [c.unit, c.name, c.limitWorkingDays, Timestamp.string(instant)])
    }

    static func categories(unit: String, _ db: Database) throws -> [QuestionCategory] {
        try GRDB.Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM question_categories WHERE unit = ? ORDER BY name"), arguments: [unit]).map {
            QuestionCategory(unit: $0["unit"], name: $0["name"], limitWorkingDays: $0["limit_working_days"])
        }
    }

    static func insert(id: String, enterprise: String, unit: String, category: String, limit: Int, titleBox: [UInt8], bodyBox: [UInt8],
                       due: [QuestionClock: Timestamp], at stamp: Timestamp, _ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO questions (id, enterprise, unit, category, limit_days, title_box, body_box, status, accept_by, reply_by, complete_by,
                created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'submitted', ?, ?, ?, ?)
            """, arguments: [id, enterprise, unit, category, limit, Data(titleBox), Data(bodyBox), due[.accept]?.text, due[.reply]?.text,
                             due[.complete]?.text, stamp.text])
    }

    static func insertEvent(question: String, kind: String, unit: String, to: String?, textBox: [UInt8]?, at stamp: Timestamp,
                            _ db: Database) throws {
        try db.execute(sql: "INSERT INTO question_events (question_id, kind, unit, to_unit, text_box, at) VALUES (?, ?, ?, ?, ?, ?)",
                       arguments: [question, kind, unit, to, textBox.map { Data($0) }, stamp.text])
    }

    /// A question as stored, its text still sealed.
    struct Row: Sendable {
        let id: String
        let enterprise: String
        let unit: String
        let category: String
        let limitDays: Int
        let titleBox: [UInt8]
        let bodyBox: [UInt8]
        let handlerBox: [UInt8]?
        let status: QuestionStatus
        let due: [QuestionClock: Timestamp]
        let met: [QuestionClock: Timestamp]
        let overdue: Set<QuestionClock>
        let createdAt: Timestamp
    }

    /// The columns of each clock: its deadline, when it was met, its overdue flag.
    static func columns(_ clock: QuestionClock) -> (due: String, met: String, flag: String) {
        switch clock {
        case .accept: ("accept_by", "accepted_at", "overdue_accept")
        case .reply: ("reply_by", "replied_at", "overdue_reply")
        case .complete: ("complete_by", "completed_at", "overdue_complete")
        }
    }

    private static func row(_ r: GRDB.Row) -> Row {
        var (due, met, overdue) = ([QuestionClock: Timestamp](), [QuestionClock: Timestamp](), Set<QuestionClock>())
        for clock in QuestionClock.allCases {
            let c = columns(clock)
            due[clock] = Timestamp(stored: r[c.due])
            met[clock] = (r[c.met] as String?).map(Timestamp.init(stored:))
            if r[c.flag] as Bool { overdue.insert(clock) }
        }
        return Row(id: r["id"], enterprise: r["enterprise"], unit: r["unit"], category: r["category"], limitDays: r["limit_days"],
                   titleBox: [UInt8](r["title_box"] as Data), bodyBox: [UInt8](r["body_box"] as Data),
                   handlerBox: (r["handler_box"] as Data?).map { [UInt8]($0) }, status: QuestionStatus(rawValue: r["status"]) ?? .submitted,
                   due: due, met: met, overdue: overdue, createdAt: Timestamp(stored: r["created_at"]))
    }

    static func row(_ id: String, _ db: Database) throws -> Row? {
        try GRDB.Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM questions WHERE id = ?"), arguments: [id]).map(row)
    }

    /// An enterprise's questions, or a unit's, newest first.
    static func ids(enterprise: String?, unit: String?, limit: Int, _ db: Database) throws -> [String] {
        if let enterprise {
            return try String.fetchAll(db.cachedStatement(sql: """
                SELECT id FROM questions WHERE enterprise = ? ORDER BY created_at DESC, rowid DESC LIMIT ?
                """), arguments: [enterprise, limit])
        }
        return try String.fetchAll(db.cachedStatement(sql: "SELECT id FROM questions WHERE unit = ? ORDER BY created_at DESC, rowid DESC LIMIT ?"),
                                   arguments: [unit, limit])
    }

    static func events(_ id: String, _ db: Database) throws -> [(kind: String, unit: String, to: String?, textBox: [UInt8]?, at: Timestamp)] {
        try GRDB.Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM question_events WHERE question_id = ? ORDER BY id"), arguments: [id]).map {
            ($0["kind"], $0["unit"], $0["to_unit"], ($0["text_box"] as Data?).map { [UInt8]($0) }, Timestamp(stored: $0["at"]))
        }
    }

    static func accept(_ id: String, handlerBox: [UInt8]?, at stamp: Timestamp, _ db: Database) throws {
        try db.execute(sql: "UPDATE questions SET status = 'accepted', accepted_at = ?, handler_box = ? WHERE id = ?",
                       arguments: [stamp.text, handlerBox.map { Data($0) }, id])
    }

    /// The first progress report meets the reply clock.
    static func progress(_ id: String, at stamp: Timestamp, _ db: Database) throws {
        try db.execute(sql: "UPDATE questions SET status = 'in_progress', replied_at = coalesce(replied_at, ?) WHERE id = ?",
                       arguments: [stamp.text, id])
    }

    /// Completion meets the reply clock too, if no progress was reported.
    static func complete(_ id: String, at stamp: Timestamp, _ db: Database) throws {
        try db.execute(sql: """
            UPDATE questions SET status = 'completed', replied_at = coalesce(replied_at, ?1), completed_at = ?1 WHERE id = ?2
            """, arguments: [stamp.text, id])
    }

    /// To another unit, which must accept it again, within the original clocks.
    static func transfer(_ id: String, to unit: String, _ db: Database) throws {
        try db.execute(sql: "UPDATE questions SET unit = ?, status = 'submitted', accepted_at = NULL, handler_box = NULL WHERE id = ?",
                       arguments: [unit, id])
    }

    // MARK: The sweeper

    /// A clock not met yet: its question, the unit handling it, its deadline.
    struct OpenClock: Sendable {
        let id: String
        let unit: String
        let due: Timestamp
    }

    /// Open clocks that passed before `stamp` and are not flagged yet.
    static func passed(_ clock: QuestionClock, before stamp: Timestamp, _ db: Database) throws -> [OpenClock] {
        let c = columns(clock)
        return try GRDB.Row.fetchAll(db.cachedStatement(sql: """
            SELECT id, unit, \(c.due) FROM questions WHERE \(c.met) IS NULL AND \(c.due) < ? AND \(c.flag) = 0 ORDER BY \(c.due)
            """), arguments: [stamp.text]).map { OpenClock(id: $0[0], unit: $0[1], due: Timestamp(stored: $0[2])) }
    }

    /// Open clocks due between `from` and `until` whose unit was not reminded yet.
    static func dueSoon(_ clock: QuestionClock, from: Timestamp, until: Timestamp, _ db: Database) throws -> [OpenClock] {
        let c = columns(clock)
        return try GRDB.Row.fetchAll(db.cachedStatement(sql: """
            SELECT q.id, q.unit, q.\(c.due) FROM questions q WHERE q.\(c.met) IS NULL AND q.\(c.due) BETWEEN ? AND ?
            AND NOT EXISTS (SELECT 1 FROM question_alerts a WHERE a.question_id = q.id AND a.clock = ? AND a.kind = 'reminder')
            ORDER BY q.\(c.due)
            """), arguments: [from.text, until.text, clock.rawValue]).map { OpenClock(id: $0[0], unit: $0[1], due: Timestamp(stored: $0[2])) }
    }

    static func markOverdue(_ id: String, _ clock: QuestionClock, at stamp: Timestamp, _ db: Database) throws {
        try db.execute(sql: "UPDATE questions SET \(columns(clock).flag) = 1 WHERE id = ?", arguments: [id])
        try recordAlert(id, clock, kind: "overdue", at: stamp, db)
    }

    static func recordAlert(_ id: String, _ clock: QuestionClock, kind: String, at stamp: Timestamp, _ db: Database) throws {
        try db.execute(sql: "INSERT OR IGNORE INTO question_alerts (question_id, clock, kind, at) VALUES (?, ?, ?, ?)",
                       arguments: [id, clock.rawValue, kind, stamp.text])
    }

    // MARK: Ratings and figures

    static func isRated(_ id: String, _ db: Database) throws -> Bool {
        try Int.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM question_ratings WHERE question_id = ?"), arguments: [id]) != nil
    }

    static func insertRating(_ id: String, unit: String, score: Int, commentBox: [UInt8]?, at stamp: Timestamp, _ db: Database) throws {
        try db.execute(sql: "INSERT INTO question_ratings (question_id, unit, score, comment_box, created_at) VALUES (?, ?, ?, ?, ?)",
                       arguments: [id, unit, score, commentBox.map { Data($0) }, stamp.text])
    }

    static func ratings(limit: Int, _ db: Database) throws
        -> [(question: String, unit: String, enterprise: String, score: Int, commentBox: [UInt8]?, createdAt: Timestamp)]
    {
        try GRDB.Row.fetchAll(db.cachedStatement(sql: """
            SELECT r.*, q.enterprise FROM question_ratings r JOIN questions q ON q.id = r.question_id ORDER BY r.created_at DESC LIMIT ?
            """), arguments: [limit]).map {
            ($0["question_id"], $0["unit"], $0["enterprise"], $0["score"], ($0["comment_box"] as Data?).map { [UInt8]($0) },
             Timestamp(stored: $0["created_at"]))
        }
    }

    /// What the figures need of every question: no text.
    struct FigureRow: Sendable {
        let id: String
        let unit: String
        let status: QuestionStatus
        let due: [QuestionClock: Timestamp]
        let met: [QuestionClock: Timestamp]
        let overdue: Set<QuestionClock>
        let createdAt: Timestamp
    }

    static func figureRows(_ db: Database) throws -> [FigureRow] {
        try GRDB.Row.fetchAll(db, sql: "SELECT * FROM questions ORDER BY created_at").map { r in
            let full = row(r)
            return FigureRow(id: full.id, unit: full.unit, status: full.status, due: full.due, met: full.met, overdue: full.overdue,
                             createdAt: full.createdAt)
        }
    }
}

import Foundation
import GRDB

/// 马上答's ratings and figures: the enterprise rates a completed answer once (the five levels
/// of 码上评, anonymous to the unit: no unit route carries them); the supervisor and admin see
/// per-unit counts, each clock's on-time rate, working hours to accept and to answer, every
/// rating and the overdue list.
extension Questions {
    static func commentContext(_ id: String) -> String { context(id, "rating") }

    /// 404, 409 `question_state_conflict` (not completed), `question_already_rated`, 422 `validation_failed`.
    public func rate(_ id: String, score: Int, comment: String?, client: Client) async throws -> VisitRating {
        guard client.role == .enterprise else { throw MSBError.forbidden("this route is for enterprise clients") }
        guard (1...5).contains(score) else { throw MSBError.validationFailed("score must be 1 (非常不满意) to 5 (非常满意)") }
        let comment = try comment.map { try MSBError.requireText($0, field: "comment", maximum: 500) }
        let box = try comment.map { try vault.seal($0, context: Self.commentContext(id)) }
        let (audit, stamp) = (self.audit, Timestamp(now()))
        return try await transactions.write { db in
            let row = try Self.readable(id, by: client, db)
            guard row.status == .completed else { throw MSBError(.questionStateConflict, "an answer is rated once it is completed") }
            guard try !QuestionStore.isRated(id, db) else { throw MSBError(.questionAlreadyRated, "the answer is rated already") }
            try QuestionStore.insertRating(id, unit: row.unit, score: score, commentBox: box, at: stamp, db)
            try audit.append(db, actor: .client(client.id), action: "question.rated", object: "question:\(id)")
            return VisitRating(visit: id, unit: row.unit, enterprise: row.enterprise, score: score, comment: comment, createdAt: stamp)
        }
    }

    /// `GET /v1/question-stats` (supervisor, admin).
    public func stats(client: Client) async throws -> QuestionStatsReport {
        guard client.role == .supervisor || client.role == .admin else { throw MSBError.forbidden("this route is for supervisors and admins") }
        let calendar = try await calendars.calendar()
        let (vault, stamp) = (self.vault, Timestamp(now()))
        return try await transactions.read { db in
            let rows = try QuestionStore.figureRows(db)
            let ratings = try QuestionStore.ratings(limit: Self.maximumList, db)
            let units = try UnitStore.units(db).map { unit in
                QuestionStatsReport.UnitFigures(unit: unit, rows: rows.filter { $0.unit == unit.code },
                                                scores: ratings.filter { $0.unit == unit.code }.map(\.score), now: stamp, calendar: calendar)
            }
            let overdue = rows.filter { !$0.overdue.isEmpty && $0.status != .completed }.map { ($0.id, $0.unit, $0.overdue) }
            return QuestionStatsReport(units: units, overdue: overdue.map { .init(question: $0.0, unit: $0.1, clocks: $0.2) },
                                       ratings: try ratings.map { row in
                                           VisitRating(visit: row.question, unit: row.unit, enterprise: row.enterprise, score: row.score,
                                                       comment: try row.commentBox.map { try vault.open($0, context: Self.commentContext(row.question)) },
                                                       createdAt: row.createdAt)
                                       })
        }
    }
}

public struct QuestionStatsReport: Sendable {
    public struct UnitFigures: Sendable {
        public let unit: String
        public let name: String
        public let questions: Int
        public let completed: Int
        /// Per clock: of the questions whose clock is met or past, the share met in time (nil: none yet).
        public let onTime: [QuestionClock: Double]
        public let hoursToAccept: Double?
        public let hoursToAnswer: Double?
        public let ratings: Int
        public let averageScore: Double?

        init(unit: Unit, rows: [QuestionStore.FigureRow], scores: [Int], now: Timestamp, calendar: WorkingCalendar) {
            (self.unit, name, questions) = (unit.code, unit.name, rows.count)
            completed = rows.filter { $0.status == .completed }.count
            var onTime: [QuestionClock: Double] = [:]
            for clock in QuestionClock.allCases {
                let decided = rows.compactMap { row -> Bool? in
                    guard let due = row.due[clock] else { return nil }
                    if let met = row.met[clock] { return met <= due }
                    return due < now ? false : nil
                }
                if !decided.isEmpty { onTime[clock] = Double(decided.filter { $0 }.count) / Double(decided.count) }
            }
            self.onTime = onTime
            func average(_ clock: QuestionClock) -> Double? {
                let hours = rows.compactMap { row in
                    row.met[clock].flatMap { met in row.createdAt.date.flatMap { start in met.date.map { calendar.workingHours(from: start, to: $0) } } }
                }
                return hours.isEmpty ? nil : hours.reduce(0, +) / Double(hours.count)
            }
            (hoursToAccept, hoursToAnswer) = (average(.accept), average(.complete))
            ratings = scores.count
            averageScore = scores.isEmpty ? nil : Double(scores.reduce(0, +)) / Double(scores.count)
        }
    }

    public struct Overdue: Sendable {
        public let question: String
        public let unit: String
        public let clocks: Set<QuestionClock>
    }

    public let units: [UnitFigures]
    /// Open questions with a clock that passed.
    public let overdue: [Overdue]
    public let ratings: [VisitRating]
}

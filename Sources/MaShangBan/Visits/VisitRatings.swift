import Foundation
import GRDB

/// 码上评: after a visit's last exit the enterprise rates it once, on the five levels of
/// GB/T 39046 satisfaction evaluation. A rating is never shown to the rated unit with the
/// enterprise's identity: a unit sees only its average, and only over enough ratings.
public struct VisitRating: Sendable, Equatable {
    public let visit: String
    public let unit: String
    public let enterprise: String
    public let score: Int
    public let comment: String?
    public let createdAt: Timestamp

    /// 非常满意 (5) … 非常不满意 (1).
    public var level: String { Self.levels[score] ?? "" }
    public static let levels = [5: "非常满意", 4: "满意", 3: "一般", 2: "不满意", 1: "非常不满意"]
}

extension Visits {
    /// A unit's average is shown to it only over at least this many ratings.
    public static let minimumRatingsForAverage = 5

    static func commentContext(_ visit: String) -> String { "visit_rating:\(visit):comment" }

    /// The visited enterprise rates a visit once, after its last exit (a visit merged into
    /// another is rated as the joint visit). 404, 409 `visit_state_conflict` (no exit yet, or
    /// inside now), `visit_already_rated`, 422 `validation_failed`.
    public func rate(_ id: String, score: Int, comment: String?, client: Client) async throws -> VisitRating {
        guard client.role == .enterprise else { throw MSBError.forbidden("this route is for enterprise clients") }
        guard (1...5).contains(score) else { throw MSBError.validationFailed("score must be 1 (非常不满意) to 5 (非常满意)") }
        let comment = try comment.map { try MSBError.requireText($0, field: "comment", maximum: 500) }
        let (audit, vault, instant) = (self.audit, self.vault, now())
        return try await transactions.write { db in
            var visit = try Self.visit(id, ownedBy: client, db)
            if visit.joinedAt != nil, let lead = visit.joins { visit = try Self.stored(lead, db) }
            guard try VisitStore.lastDoorEvent(of: visit.id, day: nil, db) == .exit else {
                throw MSBError(.visitStateConflict, "a visit is rated after its last exit")
            }
            guard try VisitStore.rating(of: visit.id, db) == nil else { throw MSBError(.visitAlreadyRated, "the visit is rated already") }
            let rating = VisitRating(visit: visit.id, unit: visit.unit, enterprise: visit.enterprise, score: score, comment: comment,
                                     createdAt: Timestamp(instant))
            try VisitStore.insertRating(rating, commentBox: try comment.map { try vault.seal($0, context: Self.commentContext(visit.id)) }, db)
            try audit.append(db, actor: .client(client.id), action: "visit.rated", object: "visit:\(visit.id)")
            return rating
        }
    }

    // MARK: Statistics

    /// `GET /v1/visit-stats`: each unit's figures; the supervisor and admin see every unit,
    /// every rating, the frequent-visit warnings and the unannounced inspections; a unit sees
    /// its own figures only, its average only over `minimumRatingsForAverage` ratings.
    public func stats(client: Client) async throws -> VisitStatsReport {
        let (vault, threshold, today) = (self.vault, settings.frequentVisits, CalendarDate(now()))
        switch client.role {
        case .admin, .supervisor:
            return try await transactions.read { db in
                VisitStatsReport(units: try VisitStore.unitFigures(unit: nil, db),
                                 ratings: try VisitStore.ratings(limit: Self.maximumList, db).map { row in
                                     VisitRating(visit: row.rating.visit, unit: row.rating.unit, enterprise: row.rating.enterprise,
                                                 score: row.rating.score,
                                                 comment: try row.commentBox.map { try vault.open($0, context: Self.commentContext(row.rating.visit)) },
                                                 createdAt: row.rating.createdAt)
                                 },
                                 frequentVisits: try VisitStore.frequentVisits(since: today.adding(days: -29), threshold: threshold,
                                                                               limit: Self.maximumList, db),
                                 unannounced: try VisitStore.unannounced(limit: Self.maximumList, db))
            }
        case .unit:
            let unit = try Self.unitCode(of: client)
            return try await transactions.read { db in
                let figures = try VisitStore.unitFigures(unit: unit, db).map { row in
                    var row = row
                    if row.ratings < Self.minimumRatingsForAverage { row.averageScore = nil }
                    return row
                }
                return VisitStatsReport(units: figures, ratings: [], frequentVisits: [], unannounced: [])
            }
        default:
            throw MSBError.forbidden("this route is for supervisors, admins and units")
        }
    }
}

/// What `GET /v1/visit-stats` shows.
public struct VisitStatsReport: Sendable {
    /// The league table: one row per unit.
    public struct UnitFigures: Sendable, Equatable {
        public let unit: String
        public let name: String
        public let visits: Int
        public let redScans: Int
        public let jointVisits: Int
        public let unannounced: Int
        public let ratings: Int
        public var averageScore: Double?
    }

    /// A live visit with more than the allowed visits to its enterprise in the 30 days up to its day.
    public struct FrequentVisit: Sendable, Equatable {
        public let visit: String
        public let unit: String
        public let enterprise: String
        public let day: CalendarDate
        public let visitsIn30Days: Int
    }

    public let units: [UnitFigures]
    public let ratings: [VisitRating]
    public let frequentVisits: [FrequentVisit]
    /// Inspections approved unannounced, listed separately for the supervisor.
    public let unannounced: [Visit]
}

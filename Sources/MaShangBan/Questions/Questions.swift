import Foundation
import GRDB

/// 码上问 / 马上答: an enterprise asks the responsible unit; the unit gives its acceptance
/// opinion within 1 working day, reports how it is handled within 2, and finishes within the
/// category's limit (承办单位须在1个工作日内反馈受理意见，2个工作日内回复办理情况，并在规定最短期限内办结).
public enum QuestionStatus: String, Sendable, CaseIterable {
    case submitted, accepted
    case inProgress = "in_progress"
    case completed
}

/// The three clocks of a question.
public enum QuestionClock: String, Sendable, CaseIterable {
    case accept, reply, complete

    /// The working days each clock runs (the complete clock: the category's limit).
    func workingDays(limit: Int) -> Int {
        switch self {
        case .accept: 1
        case .reply: 2
        case .complete: limit
        }
    }
}

/// A category a unit answers in, with its legal time limit.
public struct QuestionCategory: Sendable, Equatable {
    public let unit: String
    public let name: String
    public let limitWorkingDays: Int
}

public struct Question: Sendable, Equatable {
    public let id: String
    public let enterprise: String
    /// The unit handling it now (a transfer moves it).
    public let unit: String
    public let category: String
    public let limitDays: Int
    public let title: String
    public let body: String
    public let handler: String?
    public let status: QuestionStatus
    public let due: [QuestionClock: Timestamp]
    public let met: [QuestionClock: Timestamp]
    public let overdue: Set<QuestionClock>
    public let createdAt: Timestamp
}

/// One step of a question's history.
public struct QuestionEvent: Sendable, Equatable {
    public let kind: String
    /// The unit that acted (the enterprise's steps: the unit asked).
    public let unit: String
    /// For a transfer: the unit it went to.
    public let to: String?
    public let text: String?
    public let at: Timestamp
}

/// A question with its history, as the enterprise, the unit handling it, a supervisor or an admin reads it.
public struct QuestionView: Sendable {
    public let question: Question
    public let unitName: String
    public let history: [QuestionEvent]
}

/// How questions are clocked (`serve` flags).
public struct QuestionSettings: Sendable, Equatable {
    /// A category the unit has not set runs this many working days.
    public var defaultLimit = 5
    /// Hours before a deadline the unit is reminded (`--remind-before`).
    public var remindBeforeHours = 4

    public init() {}
}

public struct Questions: Sendable {
    let transactions: Transactions
    let vault: DataVault
    let holderReference: HolderReference
    let audit: AuditLog
    let calendars: WorkingCalendars
    let notices: Notices
    let random: any RandomSource
    let now: Now
    public let settings: QuestionSettings

    public static let maximumList = 500

    static func context(_ id: String, _ field: String) -> String { "question:\(id):\(field)" }

    // MARK: Categories (admin)

    /// Sets a unit's category and its limit (again: the new limit, for questions asked from
    /// then on). 404 `not_found` (unit), 422 `validation_failed`.
    public func setCategory(unit: String, name: String, limit: Int, by actor: AuditActor) async throws -> QuestionCategory {
        let name = try MSBError.requireText(name, field: "name", maximum: 100)
        guard (1...60).contains(limit) else { throw MSBError.validationFailed("limit_working_days must be 1 to 60") }
        let (audit, instant) = (self.audit, now())
        let category = QuestionCategory(unit: unit, name: name, limitWorkingDays: limit)
        try await transactions.write { db in
            _ = try UnitRegistry.require(unit, db)
            try QuestionStore.setCategory(category, at: instant, db)
            try audit.append(db, actor: actor, action: "question_category.set", object: "unit:\(unit)", detail: ["limit": .int(Int64(limit))])
        }
        return category
    }

    /// A unit's categories (404 `not_found` for an unknown unit).
    public func categories(of unit: String) async throws -> [QuestionCategory] {
        try await transactions.read { db in
            _ = try UnitRegistry.require(unit, db)
            return try QuestionStore.categories(unit: unit, db)
        }
    }

    // MARK: The enterprise asks

    public struct Ask: Sendable, Decodable {
        public var unit: String
        public var category: String
        public var title: String
        public var body: String

        public init(unit: String, category: String, title: String, body: String) {
            (self.unit, self.category, self.title, self.body) = (unit, category, title, body)
        }
    }

    /// `POST /v1/questions`: the three clocks are set at once. 422 `validation_failed`,
    /// `unit_unknown`.
    public func ask(_ a: Ask, client: Client) async throws -> QuestionView { try await ask(a, client: client, arrivedAt: now()) }

    /// A question that arrived at `instant` (the demo's overdue example arrived days before it was loaded).
    @_spi(Demo) public func ask(_ a: Ask, client: Client, arrivedAt instant: Date) async throws -> QuestionView {
        guard client.role == .enterprise, let enterprise = client.party else { throw MSBError.forbidden("this route is for enterprise clients") }
        let category = try MSBError.requireText(a.category, field: "category", maximum: 100)
        let title = try MSBError.requireText(a.title, field: "title", maximum: 200)
        guard !a.body.trimmed.isEmpty, a.body.count <= 10_000 else { throw MSBError.validationFailed("body must be 1 to 10000 characters") }
        let calendar = try await calendars.calendar()
        let id = random.identifier(prefix: "qst")
        let (titleBox, bodyBox) = (try vault.seal(title, context: Self.context(id, "title")), try vault.seal(a.body, context: Self.context(id, "body")))
        let (audit, reference, defaultLimit) = (self.audit, holderReference, settings.defaultLimit)
        return try await transactions.write { db in
            guard try UnitStore.unit(a.unit, db) != nil else { throw MSBError(.unitUnknown, "unit \(a.unit.prefix(32)) is not registered") }
            let limit = try QuestionStore.categories(unit: a.unit, db).first { $0.name == category }?.limitWorkingDays ?? defaultLimit
            var due: [QuestionClock: Timestamp] = [:]
            for clock in QuestionClock.allCases {
                due[clock] = Timestamp(calendar.deadline(workingDays: clock.workingDays(limit: limit), after: instant))
            }
            try QuestionStore.insert(id: id, enterprise: enterprise, unit: a.unit, category: category, limit: limit, titleBox: titleBox,
                                     bodyBox: bodyBox, due: due, at: Timestamp(instant), db)
            try QuestionStore.insertEvent(question: id, kind: "submitted", unit: a.unit, to: nil, textBox: nil, at: Timestamp(instant), db)
            try audit.append(db, actor: .client(client.id), action: "question.asked", object: "question:\(id)",
                             detail: ["unit": .string(a.unit), "enterprise": .string(reference.ref(enterprise))])
            return try view(id, db)
        }
    }

    // MARK: Reading

    /// The enterprise's own questions, or those the calling unit handles, newest first.
    public func list(client: Client) async throws -> [QuestionView] {
        guard let party = client.party, client.role == .enterprise || client.role == .unit else {
            throw MSBError.forbidden("this route is for enterprise and unit clients")
        }
        return try await transactions.read { db in
            try QuestionStore.ids(enterprise: client.role == .enterprise ? party : nil, unit: client.role == .unit ? party : nil,
                                  limit: Self.maximumList, db).map { try view($0, db) }
        }
    }

    /// A question as its enterprise, the unit handling it, a supervisor or an admin reads it; 404 for anyone else.
    public func find(_ id: String, client: Client) async throws -> QuestionView {
        try await transactions.read { db in
            _ = try Self.readable(id, by: client, db)
            return try view(id, db)
        }
    }

    static func readable(_ id: String, by client: Client, _ db: Database) throws -> QuestionStore.Row {
        guard let row = try QuestionStore.row(id, db) else { throw MSBError.notFound("no such question") }
        switch client.role {
        case .admin, .supervisor: return row
        case .enterprise where client.party == row.enterprise: return row
        case .unit where client.party == row.unit: return row
        default: throw MSBError.notFound("no such question")
        }
    }

    func view(_ id: String, _ db: Database) throws -> QuestionView {
        guard let row = try QuestionStore.row(id, db) else { throw MSBError.notFound("no such question") }
        let open = { (box: [UInt8]?, field: String) in try box.map { try self.vault.open($0, context: Self.context(id, field)) } }
        let question = Question(id: id, enterprise: row.enterprise, unit: row.unit, category: row.category, limitDays: row.limitDays,
                                title: try open(row.titleBox, "title") ?? "", body: try open(row.bodyBox, "body") ?? "",
                                handler: try open(row.handlerBox, "handler"), status: row.status, due: row.due, met: row.met,
                                overdue: row.overdue, createdAt: row.createdAt)
        let history = try QuestionStore.events(id, db).map { event in
            QuestionEvent(kind: event.kind, unit: event.unit, to: event.to, text: try open(event.textBox, "history"), at: event.at)
        }
        return QuestionView(question: question, unitName: try UnitStore.unit(row.unit, db)?.name ?? row.unit, history: history)
    }

    // MARK: The unit answers

    /// The unit's steps. Each is the handling unit's only (404 for anyone else) and 409
    /// `question_state_conflict` out of turn: accept only a submitted question; report
    /// progress on an accepted one; complete an accepted one; transfer one not yet completed.
    public enum Step: Sendable {
        case accept(opinion: String, handler: String)
        case progress(String)
        case complete(answer: String)
        case transfer(to: String, reason: String)
    }

    public func act(_ id: String, _ step: Step, client: Client) async throws -> QuestionView {
        guard client.role == .unit, let unit = client.party else { throw MSBError.forbidden("this route is for unit clients") }
        let text: String
        switch step {
        case .accept(let opinion, let handler):
            _ = try MSBError.requireText(handler, field: "handler", maximum: 50)
            text = try MSBError.requireText(opinion, field: "opinion", maximum: 2000)
        case .progress(let progress): text = try MSBError.requireText(progress, field: "text", maximum: 2000)
        case .complete(let answer): text = try MSBError.requireText(answer, field: "answer", maximum: 10_000)
        case .transfer(_, let reason): text = try MSBError.requireText(reason, field: "reason", maximum: 500)
        }
        let textBox = try vault.seal(text, context: Self.context(id, "history"))
        var handlerBox: [UInt8]?
        if case .accept(_, let handler) = step { handlerBox = try vault.seal(handler.trimmed, context: Self.context(id, "handler")) }
        let handler = handlerBox
        let (audit, stamp) = (self.audit, Timestamp(now()))
        return try await transactions.write { db in
            let row = try Self.readable(id, by: client, db)
            let conflict = { (why: String) in MSBError(.questionStateConflict, "the question is \(row.status.rawValue): \(why)") }
            var detail: [String: JSONValue] = [:]
            let kind: String
            var to: String?
            switch step {
            case .accept:
                guard row.status == .submitted else { throw conflict("only a submitted question is accepted") }
                try QuestionStore.accept(id, handlerBox: handler, at: stamp, db)
                kind = "accepted"
            case .progress:
                guard row.status == .accepted || row.status == .inProgress else { throw conflict("progress follows acceptance") }
                try QuestionStore.progress(id, at: stamp, db)
                kind = "progress"
            case .complete:
                guard row.status == .accepted || row.status == .inProgress else { throw conflict("only an accepted question is completed") }
                try QuestionStore.complete(id, at: stamp, db)
                kind = "completed"
            case .transfer(let target, _):
                guard row.status == .submitted || row.status == .accepted else { throw conflict("an answered question stays") }
                guard target != unit else { throw MSBError.validationFailed("unit must be another unit") }
                guard try UnitStore.unit(target, db) != nil else { throw MSBError(.unitUnknown, "unit \(target.prefix(32)) is not registered") }
                try QuestionStore.transfer(id, to: target, db)
                (kind, to) = ("transferred", target)
                detail = ["from": .string(unit), "to": .string(target)]
            }
            try QuestionStore.insertEvent(question: id, kind: kind, unit: unit, to: to, textBox: textBox, at: stamp, db)
            try audit.append(db, actor: .client(client.id), action: "question.\(kind)", object: "question:\(id)", detail: detail)
            return try view(id, db)
        }
    }
}

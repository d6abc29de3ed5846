import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Logging
@testable import MaShangBan
import MaShangBanTestSupport
import Testing
@testable import MaShangBanServer

/// 码上问 / 马上答 through HTTP on a manual clock: the three working-day clocks set at once,
/// each met and each missed (flagged by the sweeper, not by readers), a transfer keeping its
/// clocks, reminders signed for the unit's own webhook, and each party kept to its own.
@Suite("Questions (码上问)")
struct QuestionRoutesTests {
    /// Friday 2027-01-15, 16:00 China time.
    static func server(_ clock: TestClock) throws -> TestServer {
        try TestServer(configure: { $0.backend.rateLimits = .unlimited }, now: clock.now)
    }

    static let hour = 3600.0

    func ask(_ world: Visiting, unit: String = Visiting.safety, category: String = "安全生产许可", door: String? = nil) async throws -> [String: Any] {
        let asked = try await world.client.call(.post, "/v1/questions", token: door ?? world.door, json: #"""
            {"unit":"\#(unit)","category":"\#(category)","title":"危化品仓储许可延续怎么办？","body":"我公司的许可证下月到期，请问延续需要哪些材料？"}
            """#)
        #expect(asked.status == .created, "\(asked.text)")
        return try asked.json()
    }

    static func clock(_ question: [String: Any], _ name: String) -> [String: Any] {
        ((question["clocks"] as? [String: Any])?[name] as? [String: Any]) ?? [:]
    }

    @Test func theClocksAreSetAtOnceAndMet() async throws {
        let clock = TestClock()
        let server = try Self.server(clock)
        try await server.test { client in
            let world = try await Visiting.open(client, now: clock.now)
            let category = try await client.call(.post, "/v1/units/hy-safety/question-categories",
                                                 json: #"{"name":"安全生产许可","limit_working_days":3}"#)
            #expect(category.status == .created)
            let question = try await ask(world)
            // Asked on a Friday: 1, 2 and 3 working days are Monday, Tuesday and Wednesday (24:00 China time).
            #expect(question["accept_by"] as? String == "2027-01-18T16:00:00.000Z")
            #expect(question["reply_by"] as? String == "2027-01-19T16:00:00.000Z")
            #expect(question["complete_by"] as? String == "2027-01-20T16:00:00.000Z")
            #expect(question["status"] as? String == "submitted")
            let other = try await ask(world, category: "其他")
            #expect(other["complete_by"] as? String == "2027-01-22T16:00:00.000Z", "no category set: 5 working days")

            let id = try #require(question["id"] as? String)
            let safety = world.token(Visiting.safety)
            try await client.call(.post, "/v1/questions/\(id)/progress", token: safety, json: #"{"text":"x"}"#)
                .expectProblem(409, "question_state_conflict")
            clock.advance(3 * 24 * Self.hour)  // Monday
            let accepted = try await client.call(.post, "/v1/questions/\(id)/accept", token: safety,
                                                 json: #"{"opinion":"已受理，由许可科办理","handler":"张承办"}"#)
            #expect(accepted.status == .ok, "\(accepted.text)")
            #expect(try accepted.json()["handler"] as? String == "张*办")
            try await client.call(.post, "/v1/questions/\(id)/accept", token: safety, json: #"{"opinion":"x","handler":"y"}"#)
                .expectProblem(409, "question_state_conflict")
            clock.advance(24 * Self.hour)  // Tuesday
            #expect(try await client.call(.post, "/v1/questions/\(id)/progress", token: safety, json: #"{"text":"材料清单已整理"}"#).status == .ok)
            clock.advance(24 * Self.hour)  // Wednesday
            let done = try await client.call(.post, "/v1/questions/\(id)/complete", token: safety, json: #"{"answer":"请携带以下材料……"}"#).json()
            #expect(done["status"] as? String == "completed")
            try await client.call(.post, "/v1/questions/\(id)/transfer", token: safety, json: #"{"unit":"hy-fire","reason":"x"}"#)
                .expectProblem(409, "question_state_conflict")
            clock.advance(7 * 24 * Self.hour)
            #expect(try await server.backend.services.questions.sweep().overdue == 3, "the other question's three clocks")
            let seen = try await client.call(.get, "/v1/questions/\(id)", token: world.door).json()
            for name in ["accept", "reply", "complete"] {
                #expect(Self.clock(seen, name)["overdue"] as? Bool == false, "\(name) met")
                #expect(Self.clock(seen, name)["met_at"] is String)
            }
            #expect((seen["history"] as? [[String: Any]])?.compactMap { $0["event"] as? String }
                    == ["submitted", "accepted", "progress", "completed"])
            #expect((seen["history"] as? [[String: Any]])?.last?["text"] as? String == "请携带以下材料……")
        }
        let audit = try await server.backend.transactions.pool.read { db in
            try String.fetchAll(db, sql: "SELECT object || detail FROM audit_records").joined()
        }
        #expect(!audit.contains("危化品") && !audit.contains("张承办") && !audit.contains(Visiting.enterprise), "no question text or names")
        let stored = try await server.backend.transactions.pool.read { db in try Data.fetchAll(db, sql: "SELECT title_box FROM questions") }
        #expect(stored.allSatisfy { !String(decoding: $0, as: UTF8.self).contains("危化品") }, "sealed at rest")
    }

    @Test func missedClocksAreFlaggedByTheSweeperAndReported() async throws {
        let clock = TestClock()
        let server = try Self.server(clock)
        try await server.test { client in
            let world = try await Visiting.open(client, now: clock.now)
            let id = try #require(try await ask(world)["id"] as? String)
            clock.advance(4 * 24 * Self.hour)  // Tuesday: the accept clock has passed
            let unread = try await client.call(.get, "/v1/questions/\(id)", token: world.door).json()
            #expect(Self.clock(unread, "accept")["overdue"] as? Bool == false, "reading does not flag")
            #expect(try await server.backend.services.questions.sweep().overdue == 1)
            #expect(try await server.backend.services.questions.sweep().overdue == 0, "flagged and reported once")
            let flagged = try await client.call(.get, "/v1/questions/\(id)", token: world.door).json()
            #expect(Self.clock(flagged, "accept")["overdue"] as? Bool == true)
            #expect(Self.clock(flagged, "reply")["overdue"] as? Bool == false)
            clock.advance(10 * 24 * Self.hour)
            #expect(try await server.backend.services.questions.sweep().overdue == 2, "reply and complete")
        }
        let notices = try await server.backend.transactions.pool.read { db in
            try String.fetchAll(db, sql: "SELECT destination || ' ' || event FROM notices ORDER BY created_at")
        }
        #expect(notices == Array(repeating: "supervisor question.overdue", count: 3))
    }

    @Test func aTransferKeepsTheClocks() async throws {
        let clock = TestClock()
        try await Self.server(clock).test { client in
            let world = try await Visiting.open(client, now: clock.now)
            let question = try await ask(world)
            let id = try #require(question["id"] as? String)
            let (safety, fire) = (world.token(Visiting.safety), world.token(Visiting.fire))
            try await client.call(.post, "/v1/questions/\(id)/transfer", token: safety, json: #"{"unit":"hy-safety","reason":"x"}"#)
                .expectProblem(422, "validation_failed")
            try await client.call(.post, "/v1/questions/\(id)/transfer", token: safety, json: #"{"unit":"nope","reason":"x"}"#)
                .expectProblem(422, "unit_unknown")
            let moved = try await client.call(.post, "/v1/questions/\(id)/transfer", token: safety,
                                              json: #"{"unit":"hy-fire","reason":"属消防审验事项，转消防救援支队办理"}"#).json()
            #expect((moved["unit"] as? [String: Any])?["code"] as? String == Visiting.fire)
            for name in ["accept_by", "reply_by", "complete_by"] { #expect(moved[name] as? String == question[name] as? String, "\(name) kept") }
            try await client.call(.get, "/v1/questions/\(id)", token: safety).expectProblem(404, "not_found")
            #expect(try await client.call(.get, "/v1/questions/\(id)", token: fire).status == .ok)
            let history = try #require(try await client.call(.get, "/v1/questions/\(id)", token: world.door).json()["history"] as? [[String: Any]])
            #expect(history.last?["event"] as? String == "transferred" && history.last?["to"] as? String == Visiting.fire)
            #expect(try await client.call(.get, "/v1/questions/\(id)", token: world.supervisor).status == .ok, "the supervisor sees it")
            #expect(try await client.call(.post, "/v1/questions/\(id)/accept", token: fire, json: #"{"opinion":"受理","handler":"周消防"}"#)
                .status == .ok)
        }
    }

    @Test func eachPartyKeepsToItsOwnQuestions() async throws {
        let clock = TestClock()
        try await Self.server(clock).test { client in
            let world = try await Visiting.open(client, now: clock.now)
            let id = try #require(try await ask(world)["id"] as? String)
            try await client.call(.get, "/v1/questions/\(id)", token: world.otherDoor).expectProblem(404, "not_found")
            try await client.call(.get, "/v1/questions/\(id)", token: world.token(Visiting.fire)).expectProblem(404, "not_found")
            try await client.call(.post, "/v1/questions/\(id)/accept", token: world.token(Visiting.fire), json: #"{"opinion":"x","handler":"y"}"#)
                .expectProblem(404, "not_found")
            for token in [world.door, world.supervisor, adminToken] {
                try await client.call(.post, "/v1/questions/\(id)/accept", token: token, json: #"{"opinion":"x","handler":"y"}"#)
                    .expectProblem(403, "forbidden")
            }
            try await client.call(.post, "/v1/questions", token: world.token(Visiting.safety), json: "{}").expectProblem(403, "forbidden")
            #expect((try await client.call(.get, "/v1/questions", token: world.otherDoor).json()["questions"] as? [Any])?.isEmpty == true)
            #expect((try await client.call(.get, "/v1/questions", token: world.token(Visiting.safety)).json()["questions"] as? [Any])?.count == 1)
            try await client.call(.post, "/v1/questions", token: world.door, json: #"{"unit":"nope","category":"x","title":"x","body":"x"}"#)
                .expectProblem(422, "unit_unknown")
            try await client.call(.post, "/v1/questions", token: world.door, json: #"{"unit":"hy-safety","category":"x","title":"x","body":" "}"#)
                .expectProblem(422, "validation_failed")
        }
    }

    /// Reminders go to the unit's own webhook, signed with its own secret, once per clock.
    @Test func remindersAreSignedForTheUnitsWebhook() async throws {
        let clock = TestClock()
        let server = try Self.server(clock)
        let secret = try await server.test { client -> String in
            let world = try await Visiting.open(client, now: clock.now)
            let set = try await client.call(.put, "/v1/units/hy-safety/webhook", json: #"{"url":"http://127.0.0.1:9/unit"}"#)
            #expect(set.status == .ok, "\(set.text)")
            let secret = try #require(try set.json()["secret"] as? String)
            #expect(secret != world.secrets[Visiting.safety], "not the supervisor's secret")
            _ = try await ask(world)
            _ = try await ask(world, unit: Visiting.fire)  // a unit without a webhook: reminded in the log only
            clock.advance(3 * 24 * Self.hour - 6 * Self.hour)  // Monday 10:00: the accept clock ends in 14 h
            #expect(try await server.backend.services.questions.sweep().reminders == 0)
            clock.advance(11 * Self.hour)  // 21:00: 3 h to go
            #expect(try await server.backend.services.questions.sweep().reminders == 2)
            #expect(try await server.backend.services.questions.sweep().reminders == 0, "once")
            return secret
        }
        // The server's own delivery worker may have tried it already (port 9 refuses) and set
        // its next attempt later: look a day ahead.
        let due = try await server.backend.transactions.pool.read { db in
            try NoticeStore.due(limit: 10, at: clock.now().addingTimeInterval(86_400), db)
        }
        #expect(due.count == 1 && due.first?.url == "http://127.0.0.1:9/unit")
        let transport = RecordingTransport()
        for notice in due { await server.backend.services.deliveries.attempt(notice, transport: transport, logger: Logger(label: "test")) }
        let sent = try #require(transport.requests.first)
        #expect(WebhookSignature.problem(with: sent.headers.first { $0.0 == WebhookSignature.header }?.1, body: sent.body, secret: secret,
                                         now: Int64(clock.now().timeIntervalSince1970), suite: server.backend.suite) == nil, "signed")
        let body = String(decoding: sent.body, as: UTF8.self)
        #expect(body.contains(#""event":"question.reminder""#) && body.contains(#""clock":"accept""#) && !body.contains("危化品"))
        let status = try await server.backend.transactions.pool.read { db in try String.fetchOne(db, sql: "SELECT status FROM notices") }
        #expect(status == "delivered")
    }
}

/// 马上答's ratings (anonymous to the unit) and the supervisor's figures.
@Suite("Questions: ratings and figures")
struct QuestionFigureTests {
    @Test func ratingsAndFigures() async throws {
        let clock = TestClock()
        let server = try QuestionRoutesTests.server(clock)
        try await server.test { client in
            let world = try await Visiting.open(client, now: clock.now)
            let safety = world.token(Visiting.safety)
            let answered = try #require(try await QuestionRoutesTests().ask(world)["id"] as? String)
            let late = try #require(try await QuestionRoutesTests().ask(world)["id"] as? String)
            try await client.call(.post, "/v1/questions/\(answered)/rating", token: world.door, json: #"{"score":5}"#)
                .expectProblem(409, "question_state_conflict")
            clock.advance(3 * 24 * QuestionRoutesTests.hour)  // Monday: accept both in time
            for id in [answered, late] {
                #expect(try await client.call(.post, "/v1/questions/\(id)/accept", token: safety, json: #"{"opinion":"受理","handler":"张承办"}"#)
                    .status == .ok)
            }
            clock.advance(12 * QuestionRoutesTests.hour)  // Tuesday 04:00: complete one (which replies too)
            #expect(try await client.call(.post, "/v1/questions/\(answered)/complete", token: safety, json: #"{"answer":"答复"}"#).status == .ok)
            clock.advance(3 * 24 * QuestionRoutesTests.hour)  // the other's reply clock has passed
            let rated = try await client.call(.post, "/v1/questions/\(answered)/rating", token: world.door, json: #"{"score":4,"comment":"答复及时"}"#)
            #expect(rated.status == .created)
            #expect(try rated.json()["level"] as? String == "满意")
            try await client.call(.post, "/v1/questions/\(answered)/rating", token: world.door, json: #"{"score":4}"#)
                .expectProblem(409, "question_already_rated")
            try await client.call(.post, "/v1/questions/\(answered)/rating", token: world.otherDoor, json: #"{"score":1}"#)
                .expectProblem(404, "not_found")
            // The unit never sees a rating; the figures are the supervisor's and the admin's.
            #expect(!(try await client.call(.get, "/v1/questions/\(answered)", token: safety).text).contains("答复及时"))
            try await client.call(.get, "/v1/question-stats", token: safety).expectProblem(403, "forbidden")
            let stats = try await client.call(.get, "/v1/question-stats", token: world.supervisor).json()
            let row = try #require((stats["units"] as? [[String: Any]])?.first { $0["unit"] as? String == Visiting.safety })
            #expect(row["questions"] as? Int == 2 && row["completed"] as? Int == 1)
            let onTime = try #require(row["on_time"] as? [String: Any])
            #expect(onTime["accept"] as? String == "1.00" && onTime["reply"] as? String == "0.50" && onTime["complete"] as? String == "1.00")
            #expect(row["working_hours_to_accept"] as? String == "24.00", "Friday 16:00–24:00 and Monday 00:00–16:00; the weekend rests")
            #expect(row["average_score"] as? String == "4.00")
            #expect((stats["ratings"] as? [[String: Any]])?.first?["comment"] as? String == "答复及时")
            #expect((stats["overdue"] as? [[String: Any]])?.isEmpty == true, "not swept yet")
            _ = try await server.backend.services.questions.sweep()
            let swept = try await client.call(.get, "/v1/question-stats").json()["overdue"] as? [[String: Any]]
            #expect(swept?.map { $0["question"] as? String } == [late] && swept?.first?["clocks"] as? [String] == ["reply"], "complete is due at the end of Friday")
        }
    }
}

/// Records what the delivery worker sends; answers 200.
final class RecordingTransport: WebhookTransport, @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [(url: String, headers: [(String, String)], body: [UInt8])] = []
    var requests: [(url: String, headers: [(String, String)], body: [UInt8])] { lock.withLock { recorded } }

    func post(url: String, headers: [(String, String)], body: [UInt8], connectTimeout: Duration, timeout: Duration) async throws -> Int {
        lock.withLock { recorded.append((url, headers, body)) }
        return 200
    }
}

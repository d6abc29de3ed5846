import Foundation
import GRDB
import HummingbirdTesting
@testable import MaShangBan
import Testing
@testable import MaShangBanServer
import MaShangBanTestSupport

@Suite("一码获取: window sessions")
struct WindowSessionTests {
    @Test func theAppClaimsTheWindowsCodeAndTheWindowSeesTheResultAtOnce() async throws {
        let server = try TestServer()
        try await server.test { client in  // in-process: the long poll and the claim run side by side
            let hall = try await Hall.open(client)
            let session = try await hall.openSession()
            #expect(try await hall.sessionState(session.id).json()["status"] as? String == "waiting")
            // The window long-polls; the claim wakes it.
            let poll = Task { try await hall.sessionState(session.id, wait: 30) }
            let consent = try await hall.consent()
            let claimed = try await hall.claim(session.token, consent: consent)
            #expect(claimed.status == .ok, "\(claimed.text)")
            let answer = try claimed.json()
            #expect(answer["session"] as? String == session.id && answer["status"] as? String == "claimed")
            let submission = try #require(answer["submission"] as? String)
            // The claim's unit audits the hand-over, then the session's end, on one chain.
            let audited = try await server.backend.transactions.pool.read { db in
                try Row.fetchAll(db, sql: "SELECT action, object FROM audit_records ORDER BY seq DESC LIMIT 2")
                    .map { "\($0["action"] as String) \($0["object"] as String)" }
            }
            #expect(audited == ["window_session.claimed window_session:\(session.id)", "scan.accepted submission:\(submission)"])
            #expect(try await server.backend.services.auditTrail.verify().ok)
            let watchdog = Task {
                try await Task.sleep(for: .seconds(20))
                poll.cancel()
            }
            let polled = try await poll.value
            watchdog.cancel()
            let state = try polled.json()
            #expect(state["status"] as? String == "claimed")
            let result = try #require(state["result"] as? [String: Any])
            #expect(result["submission"] as? String == submission)
            #expect((result["holder"] as? [String: Any])?["name"] as? String == "王*静")
            #expect(!polled.text.contains(Sample.person))
            // Single use; and only the terminal that opened it reads it.
            try await hall.claim(session.token, consent: try await hall.consent()).expectProblem(409, "token_used")
            let other = try await client.createClient(role: "terminal", hall: Hall.hall).token
            try await hall.sessionState(session.id, terminal: other).expectProblem(404, "not_found")
            try await client.call(.get, "/v1/window-sessions/\(session.id)?wait=31", token: hall.terminal).expectProblem(400, "bad_request")
            let png = try await client.call(.get, "/v1/window-sessions/\(session.id)/qr.png", token: hall.terminal)
            #expect(png.headers[.contentType] == "image/png")
        }
    }

    /// As a scan's: the session's own token is taken as signed, anything else is verified.
    @Test func aSessionsTokenIsRecognisedAndAnythingElseIsVerified() async throws {
        let server = try TestServer()
        try await server.test { client in
            let hall = try await Hall.open(client)
            let session = try await hall.openSession()
            try await hall.claim(ScanRuleTests.resigned(session.token), consent: try await hall.consent()).expectProblem(422, "token_invalid")
            #expect(try await hall.claim(session.token, consent: try await hall.consent()).status == .ok)
            // The stored token stands for the signature.
            let recorded = try await hall.openSession()
            let unsigned = ScanRuleTests.resigned(recorded.token)
            try await server.backend.transactions.pool.write { db in
                try db.execute(sql: "UPDATE window_sessions SET token = ? WHERE id = ?", arguments: [unsigned, recorded.id])
            }
            #expect(try await hall.claim(unsigned, consent: try await hall.consent()).status == .ok)
        }
    }

    @Test func claimRefusals() async throws {
        let clock = ManualClock()
        let server = try TestServer(now: clock.now)
        try await server.test { client in
            let hall = try await Hall.open(client, now: clock.now)
            // Tokens of the other mode are refused both ways.
            let code = try await hall.present(try await hall.consent())
            let session = try await hall.openSession()
            try await hall.claim(code.token, consent: try await hall.consent()).expectProblem(422, "token_invalid")
            try await hall.scan(session.token).expectProblem(422, "token_invalid")
            // Another app's consent; a consent for another hall or item; an unknown item.
            let otherApp = try await client.createClient(role: "app").token
            try await hall.claim(session.token, consent: try await hall.consent(), app: otherApp).expectProblem(404, "not_found")
            let elsewhere = try await client.createClient(role: "terminal", hall: "HY-YF-02").token
            let farSession = try await hall.openSession(terminal: elsewhere)
            try await hall.claim(farSession.token, consent: try await hall.consent()).expectProblem(403, "wrong_hall")
            #expect(try await client.call(.post, "/v1/items", json: #"""
                {"code":"id-only","name":"身份核验","approval_system":"hr-social-security","required":["resident_id_card"]}
                """#).status == .created)
            let idSession = try await hall.openSession(item: "id-only")
            try await hall.claim(idSession.token, consent: try await hall.consent()).expectProblem(403, "consent_scope")
            try await client.call(.post, "/v1/window-sessions", token: hall.terminal, json: #"{"item":"nope"}"#).expectProblem(404, "item_unknown")
            try await client.call(.post, "/v1/window-sessions", token: hall.app, json: #"{"item":"sb-transfer"}"#).expectProblem(403, "forbidden")
            // The refusals left the session open; past its lifetime it is expired.
            #expect(try await hall.sessionState(session.id).json()["status"] as? String == "waiting")
            let consent = try await hall.consent(ttl: 1800)
            clock.advance(126)
            try await hall.claim(session.token, consent: consent).expectProblem(410, "token_expired")
            #expect(try await hall.sessionState(session.id).json()["status"] as? String == "expired")
        }
        let rejected = try await server.backend.transactions.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_records WHERE action = 'scan.rejected'")
        }
        #expect(rejected == 6)
    }
}

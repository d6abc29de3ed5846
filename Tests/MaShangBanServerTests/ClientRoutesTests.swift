import Foundation
import HummingbirdTesting
@testable import MaShangBan
import Testing
@testable import MaShangBanServer
import MaShangBanTestSupport

@Suite("Clients and roles")
struct ClientRoutesTests {
    @Test func createListAndDelete() async throws {
        let server = try TestServer()
        try await server.test { client in
            // setup / act
            let response = try await client.call(.post, "/v1/clients",
                                                 json: #"{"role":"terminal","name":"Window 7","hall":"HY-ZX-01","window":"W07"}"#)
            // check
            #expect(response.status == .created)
            let created = try response.json()
            let id = try #require(created["id"] as? String)
            let token = try #require(created["token"] as? String)
            #expect(id.hasPrefix("cli_"))
            #expect(created["role"] as? String == "terminal")
            #expect(created["hall"] as? String == "HY-ZX-01")
            #expect(created["window"] as? String == "W07")
            #expect(Encoding.fromBase64URL(token.dropFirst(4))?.count == 32, "256-bit token")

            let list = try await client.call(.get, "/v1/clients")
            #expect(list.status == .ok)
            #expect(!list.text.contains(token))
            #expect(!list.text.contains("\"token\""))
            let clients = try #require(try list.json()["clients"] as? [[String: Any]])
            #expect(clients.count == 2)
            #expect(clients.contains { $0["id"] as? String == id })

            let deleted = try await client.call(.delete, "/v1/clients/\(id)")
            #expect(deleted.status == .noContent)
            let clientsAfter = try #require(try await client.call(.get, "/v1/clients").json()["clients"] as? [[String: Any]])
            #expect(clientsAfter.count == 1)
        }
        // The token is stored only as a hash.
        let stored = try await server.backend.transactions.pool.read { db in try Data.fetchAll(db, sql: "SELECT token_hash FROM clients") }
        #expect(stored.allSatisfy { $0.count == 32 })
    }

    @Test func aDeletedClientsTokenFailsAtOnce() async throws {
        let server = try TestServer()
        try await server.test { client in
            let admin2 = try await client.createClient(role: "admin", name: "second admin")
            #expect(try await client.call(.get, "/v1/clients", token: admin2.token).status == .ok)
            #expect(try await client.call(.delete, "/v1/clients/\(admin2.id)").status == .noContent)
            try await client.call(.get, "/v1/clients", token: admin2.token).expectProblem(401, "unauthorized")
        }
    }

    @Test func tokensAreCheckedAndFailuresAudited() async throws {
        let server = try TestServer()
        try await server.test { client in
            try await client.call(.get, "/v1/clients", token: nil).expectProblem(401, "unauthorized")
            try await client.call(.get, "/v1/clients", token: "msb_not-a-real-token").expectProblem(401, "unauthorized")
            try await client.call(.get, "/v1/clients", token: nil, headers: [.authorization: "Basic abc"]).expectProblem(401, "unauthorized")
            try await client.call(.get, "/v1/clients", token: nil, headers: [.authorization: "Bearer"]).expectProblem(401, "unauthorized")
            // The scheme is case-insensitive (RFC 9110).
            #expect(try await client.call(.get, "/v1/clients", token: nil, headers: [.authorization: "bEARER \(adminToken)"]).status == .ok)
            let terminal = try await client.createClient(role: "terminal", hall: "HY-ZX-01")
            try await client.call(.get, "/v1/clients", token: terminal.token).expectProblem(403, "forbidden")
            try await client.call(.post, "/v1/clients", token: terminal.token, json: #"{"role":"admin","name":"x"}"#)
                .expectProblem(403, "forbidden")
        }
        // The first failure from an address is written at once; the rest of its minute are
        // counted and written together (by the server's timer, or as here at shutdown).
        let records = try await server.backend.transactions.pool.read { db in try AuditStore.records(after: 0, limit: 100, db) }
        let failures = records.filter { $0.action == "auth.failed" }
        #expect(failures.map(\.detail) == [["count": 1, "reasons": ["unknown_token": 1]],
                                           ["count": 2, "reasons": ["malformed_authorization_header": 2]]])
        #expect(failures.allSatisfy { $0.object == "address:unknown" })
        // A 403 is no failed authentication, and no record holds a token.
        let everything = records.map { String(decoding: AuditRecordBody(record: $0).json.canonicalBytes, as: UTF8.self) }.joined()
        #expect(!everything.contains("msb_not-a-real-token"))
        #expect(!everything.contains(adminToken))
    }

    @Test func badInputIsRefusedAndChangesNothing() async throws {
        let server = try TestServer()
        try await server.test { client in
            let auditBefore = try await server.backend.transactions.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_records") }
            try await client.call(.post, "/v1/clients", json: #"{"role":"terminal","name":"#).expectProblem(400, "bad_request")
            try await client.call(.post, "/v1/clients", json: #"{"role":7,"name":"x"}"#).expectProblem(400, "bad_request")
            try await client.call(.post, "/v1/clients", json: #"{"name":"x"}"#).expectProblem(400, "bad_request")
            try await client.call(.post, "/v1/clients", json: #"[1,2]"#).expectProblem(400, "bad_request")
            try await client.call(.post, "/v1/clients", json: nil).expectProblem(400, "bad_request")
            try await client.call(.post, "/v1/clients", json: #"{"role":"root","name":"x"}"#).expectProblem(422, "validation_failed")
            try await client.call(.post, "/v1/clients", json: #"{"role":"app","name":"  "}"#).expectProblem(422, "validation_failed")
            try await client.call(.post, "/v1/clients", json: #"{"role":"terminal","name":"w"}"#).expectProblem(422, "validation_failed")
            try await client.call(.post, "/v1/clients", json: #"{"role":"app","name":"a\u0000b"}"#).expectProblem(422, "validation_failed")
            try await client.call(.post, "/v1/clients", json: #"{"role":"terminal","name":"w","hall":"bad hall!"}"#)
                .expectProblem(422, "validation_failed")
            try await client.call(.post, "/v1/clients", json: #"{"role":"issuer","name":"w","hall":"H1"}"#)
                .expectProblem(422, "validation_failed")
            try await client.call(.delete, "/v1/clients/cli_nope").expectProblem(404, "not_found")
            let clients = try #require(try await client.call(.get, "/v1/clients").json()["clients"] as? [[String: Any]])
            #expect(clients.count == 1)
            let auditAfter = try await server.backend.transactions.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_records") }
            #expect(auditAfter == auditBefore)
        }
    }

    @Test func badRequestDetailNamesTheFieldNotTheValue() async throws {
        let server = try TestServer()
        try await server.test { client in
            let response = try await client.call(.post, "/v1/clients", json: #"{"role":"app","name":430405198501011235}"#)
            try response.expectProblem(400, "bad_request")
            let detail = try #require(try response.json()["detail"] as? String)
            #expect(detail.contains("`name`"))
            #expect(!detail.contains("430405198501011235"))
        }
    }

    @Test func bodiesOverOneMebibyteAre413() async throws {
        let server = try TestServer()
        try await server.test { client in
            let big = #"{"role":"app","name":""# + String(repeating: "x", count: (1 << 20) + 1) + #""}"#
            try await client.call(.post, "/v1/clients", json: big).expectProblem(413, "payload_too_large")
        }
    }

    @Test func theLastAdminCannotBeDeleted() async throws {
        let server = try TestServer()
        try await server.test { client in
            let clients = try #require(try await client.call(.get, "/v1/clients").json()["clients"] as? [[String: Any]])
            let adminID = try #require(clients.first?["id"] as? String)
            try await client.call(.delete, "/v1/clients/\(adminID)").expectProblem(409, "last_admin")
            #expect(try await client.call(.get, "/v1/clients").status == .ok)
        }
    }

    @Test func theClientListComesInPages() async throws {
        let server = try TestServer()
        try await server.test { client in
            for i in 0..<4 { _ = try await client.createClient(role: "app", name: "app \(i)") }
            var seen: [String] = []
            var after: String?
            repeat {
                let query = "/v1/clients?limit=2" + (after.map { "&after=\($0)" } ?? "")
                let page = try await client.call(.get, query).json()
                let ids = try #require(page["clients"] as? [[String: Any]]).compactMap { $0["id"] as? String }
                #expect(ids.count <= 2)
                seen += ids
                after = page["next"] as? String
                #expect(page.keys.contains("next"))
            } while after != nil
            #expect(seen.count == 5 && Set(seen).count == 5)  // the admin and the four apps, each once
            let all = try #require(try await client.call(.get, "/v1/clients").json()["clients"] as? [[String: Any]])
            #expect(all.compactMap { $0["id"] as? String } == seen)
            try await client.call(.get, "/v1/clients?limit=0").expectProblem(400, "bad_request")
            try await client.call(.get, "/v1/clients?limit=1001").expectProblem(400, "bad_request")
            try await client.call(.get, "/v1/clients?after=cli_nope").expectProblem(404, "not_found")
        }
    }
}

extension ClientRoutesTests {
    /// What a client was granted ends with it: an app's consents, codes and holder sessions;
    /// a terminal's waiting window sessions.
    @Test func deletingAClientEndsWhatItWasGranted() async throws {
        let server = try TestServer()
        let (appID, terminalID) = try await server.test { client in
            let hall = try await Hall.open(client)
            let code = try await hall.present(try await hall.consent())
            let clients = try #require(try await client.call(.get, "/v1/clients").json()["clients"] as? [[String: Any]])
            let appID = try #require(clients.first { $0["role"] as? String == "app" }?["id"] as? String)
            let window = try await client.createClient(role: "terminal", hall: Hall.hall)
            let session = try await client.call(.post, "/v1/window-sessions", token: window.token, json: #"{"item":"sb-transfer"}"#)
            let sessionToken = try #require(try session.json()["token"] as? String)
            #expect(try await client.call(.delete, "/v1/clients/\(appID)").status == .noContent)
            #expect(try await client.call(.delete, "/v1/clients/\(window.id)").status == .noContent)
            // The deleted app's code is dead at the window.
            try await hall.scan(code.token).expectProblem(410, "token_revoked")
            // The deleted window's code cannot be claimed by any app.
            let otherApp = try await client.createClient(role: "app").token
            let claim = try await client.call(.post, "/v1/window-sessions/claim", token: otherApp,
                                              json: #"{"token":"\#(sessionToken)","consent":"con_x"}"#)
            try claim.expectProblem(410, "token_revoked")
            return (appID, window.id)
        }
        let (consents, sessions, waiting) = try await server.backend.transactions.pool.read { db in
            (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM consents WHERE client_id = ? AND withdrawn_at IS NULL", arguments: [appID]),
             try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM holder_sessions WHERE client_id = ? AND ended_at IS NULL", arguments: [appID]),
             try Int.fetchOne(db, sql: """
                 SELECT COUNT(*) FROM window_sessions w JOIN clients c ON c.id = w.terminal_id WHERE c.id = ? AND w.expires_at > c.deleted_at
                 """, arguments: [terminalID]))
        }
        #expect(consents == 0)
        #expect(sessions == 0)
        #expect(waiting == 0)
    }
}

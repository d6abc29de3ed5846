import Foundation
import GRDB
import HummingbirdTesting
@testable import MaShangBan
import Testing
@testable import MaShangBanServer
import MaShangBanTestSupport

@Suite("Audit endpoints")
struct AuditRoutesTests {
    @Test func entriesArePagedAndChained() async throws {
        let server = try TestServer()
        try await server.test { client in
            for i in 0..<4 { _ = try await client.createClient(role: "app", name: "app \(i)") }
            let first = try await client.call(.get, "/v1/audit/entries?limit=3")
            #expect(first.status == .ok)
            let page = try first.json()
            let entries = try #require(page["entries"] as? [[String: Any]])
            #expect(entries.map { $0["seq"] as? Int } == [1, 2, 3])
            #expect(page["next"] as? Int == 3)
            #expect(entries[1]["prev"] as? String == entries[0]["hash"] as? String)
            #expect(entries[1]["action"] as? String == "client.created")
            #expect((entries[1]["actor"] as? String)?.hasPrefix("client:cli_") == true)

            let last = try await client.call(.get, "/v1/audit/entries?after=3&limit=3").json()
            #expect((last["entries"] as? [[String: Any]])?.map { $0["seq"] as? Int } == [4, 5])
            #expect(last["next"] is NSNull)

            try await client.call(.get, "/v1/audit/entries?limit=1001").expectProblem(400, "bad_request")
            try await client.call(.get, "/v1/audit/entries?limit=0").expectProblem(400, "bad_request")
            try await client.call(.get, "/v1/audit/entries?after=x").expectProblem(400, "bad_request")
            try await client.call(.get, "/v1/audit/entries", token: nil).expectProblem(401, "unauthorized")
        }
    }

    @Test func checkpointsAndVerify() async throws {
        let server = try TestServer()
        try await server.test { client in
            try await client.call(.get, "/v1/audit/checkpoints/latest").expectProblem(404, "not_found")
            let audit = server.backend.audit
            _ = try await server.backend.transactions.pool.write { db in try audit.checkpointIfNeeded(db) }
            let checkpoint = try await client.call(.get, "/v1/audit/checkpoints/latest")
            #expect(checkpoint.status == .ok)
            let json = try checkpoint.json()
            #expect(json["size"] as? Int == 1)
            #expect(json["kid"] as? String == server.backend.keyring.active.kid)

            let verify = try await client.call(.get, "/v1/audit/verify").json()
            #expect(verify["ok"] as? Bool == true)
            #expect(verify["size"] as? Int == 1)
            #expect(verify["head"] as? String == json["head"] as? String)
        }
    }

    @Test func verifyReportsTampering() async throws {
        let server = try TestServer()
        try await server.test { client in
            _ = try await client.createClient(role: "app")
            _ = try await client.createClient(role: "issuer")
            try await server.backend.transactions.pool.write { db in
                try db.execute(sql: "DROP TRIGGER audit_records_no_update")
                try db.execute(sql: #"UPDATE audit_records SET detail = '{"role":"admin"}' WHERE seq = 2"#)
            }
            let verify = try await client.call(.get, "/v1/audit/verify").json()
            #expect(verify["ok"] as? Bool == false)
            #expect(verify["first_bad_seq"] as? Int == 2)
            #expect(verify["reason"] is String)
        }
    }
}

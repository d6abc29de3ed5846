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

    /// RFC 9162 proofs over HTTP: each checks against the checkpoints' roots as any RFC
    /// 9162 verifier would; bad ranges are 400 `bad_request`, no checkpoint yet 404, and
    /// only the admin asks.
    @Test func proofsCheckAgainstTheCheckpoints() async throws {
        let server = try TestServer()
        try await server.test { client in
            try await client.call(.get, "/v1/audit/proofs/inclusion?seq=1").expectProblem(404, "not_found")
            for i in 0..<5 { _ = try await client.createClient(role: "app", name: "app \(i)") }
            let audit = server.backend.audit
            _ = try await server.backend.transactions.pool.write { db in try audit.checkpointIfNeeded(db) }
            let first = try await client.call(.get, "/v1/audit/checkpoints/latest").json()
            let firstSize = try #require(first["size"] as? Int)
            for i in 5..<9 { _ = try await client.createClient(role: "app", name: "app \(i)") }
            _ = try await server.backend.transactions.pool.write { db in try audit.checkpointIfNeeded(db) }
            let second = try await client.call(.get, "/v1/audit/checkpoints/latest").json()
            let secondSize = try #require(second["size"] as? Int)
            #expect(firstSize < secondSize)
            let hasher = MerkleHasher(server.backend.suite.hashing)
            let hex = { (value: Any?) throws -> [UInt8] in try #require((value as? String).flatMap(Encoding.fromHex)) }
            let path = { (json: [String: Any]) throws -> [[UInt8]] in try #require(json["path"] as? [String]).map { try hex($0) } }
            #expect((second["note"] as? String)?.hasPrefix("mashangban/430400\n\(secondSize)\n") == true)

            let record = try #require(try await client.call(.get, "/v1/audit/entries?after=2&limit=1").json()["entries"] as? [[String: Any]]).first
            let inclusion = try await client.call(.get, "/v1/audit/proofs/inclusion?seq=3").json()
            #expect(inclusion["seq"] as? Int == 3 && inclusion["size"] as? Int == secondSize, "at the latest checkpoint by default")
            #expect(try hex(inclusion["leaf"]) == hasher.leaf(try hex(record?["hash"])))
            #expect(Merkle.verifyInclusion(hasher, index: 2, size: Int64(secondSize), leaf: try hex(inclusion["leaf"]), path: try path(inclusion),
                                           root: try hex(second["root"])))
            let earlier = try await client.call(.get, "/v1/audit/proofs/inclusion?seq=3&size=\(firstSize)").json()
            #expect(Merkle.verifyInclusion(hasher, index: 2, size: Int64(firstSize), leaf: try hex(earlier["leaf"]), path: try path(earlier),
                                           root: try hex(first["root"])))
            #expect(!Merkle.verifyInclusion(hasher, index: 2, size: Int64(secondSize), leaf: try hex(earlier["leaf"]), path: try path(earlier),
                                            root: try hex(second["root"])))

            let consistency = try await client.call(.get, "/v1/audit/proofs/consistency?from=\(firstSize)").json()
            #expect(consistency["from"] as? Int == firstSize && consistency["to"] as? Int == secondSize)
            #expect(Merkle.verifyConsistency(hasher, from: Int64(firstSize), to: Int64(secondSize), first: try hex(first["root"]),
                                             second: try hex(second["root"]), path: try path(consistency)))

            try await client.call(.get, "/v1/audit/proofs/inclusion").expectProblem(400, "bad_request")
            try await client.call(.get, "/v1/audit/proofs/inclusion?seq=0").expectProblem(400, "bad_request")
            try await client.call(.get, "/v1/audit/proofs/inclusion?seq=x").expectProblem(400, "bad_request")
            try await client.call(.get, "/v1/audit/proofs/inclusion?seq=\(secondSize + 1)").expectProblem(400, "bad_request")
            try await client.call(.get, "/v1/audit/proofs/inclusion?seq=4&size=3").expectProblem(400, "bad_request")
            try await client.call(.get, "/v1/audit/proofs/inclusion?seq=1&size=100000").expectProblem(400, "bad_request")
            try await client.call(.get, "/v1/audit/proofs/consistency").expectProblem(400, "bad_request")
            try await client.call(.get, "/v1/audit/proofs/consistency?from=5&to=4").expectProblem(400, "bad_request")
            try await client.call(.get, "/v1/audit/proofs/consistency?from=1&to=100000").expectProblem(400, "bad_request")
            let app = try await client.createClient(role: "app", name: "not the admin")
            try await client.call(.get, "/v1/audit/proofs/inclusion?seq=1", token: app.token).expectProblem(403, "forbidden")
            try await client.call(.get, "/v1/audit/proofs/consistency?from=1", token: app.token).expectProblem(403, "forbidden")
            try await client.call(.get, "/v1/audit/proofs/consistency?from=1", token: nil).expectProblem(401, "unauthorized")
        }
    }
}

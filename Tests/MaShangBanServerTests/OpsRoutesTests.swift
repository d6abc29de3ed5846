import Foundation
import HummingbirdTesting
@testable import MaShangBan
import Testing
@testable import MaShangBanServer
import MaShangBanTestSupport

@Suite("Ops and public endpoints")
struct OpsRoutesTests {
    @Test func healthAndReadiness() async throws {
        let server = try TestServer()
        try await server.test { client in
            let health = try await client.call(.get, "/healthz", token: nil)
            #expect(health.status == .ok)
            #expect(try health.json()["status"] as? String == "ok")
            let ready = try await client.call(.get, "/readyz", token: nil)
            #expect(ready.status == .ok)
        }
    }

    /// Answer bodies are written by `JSONValue`'s serializer instead of `JSONEncoder`; for
    /// strings the bytes are the same as `JSONEncoder` with sorted keys and unescaped slashes.
    @Test func answersAreWrittenAsJSONEncoderWrites() async throws {
        let value = ["qr_png": "/v1/presentations/pre_1/qr.png", "name": "张三 \"q\" \\ \u{1}\n", "a": "", "Z": "1"]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        #expect(JSONValue.object(value.mapValues(JSONValue.string)).canonicalBytes == Array(try encoder.encode(value)))
        let body = CodeBody(id: "pre_1", token: "a/\"b\"\u{1}", expiresAt: Timestamp(stored: "2026-12-04T00:00:00.000Z"), base: "/v1/presentations")
        let expected = ["id": "pre_1", "token": "a/\"b\"\u{1}", "expires_at": "2026-12-04T00:00:00.000Z",
                        "qr_png": "/v1/presentations/pre_1/qr.png", "qr_svg": "/v1/presentations/pre_1/qr.svg"]
        let response = JSONResponse.make(body, status: .created)
        #expect(response.status == .created)
        #expect(response.headers[.contentType] == "application/json; charset=utf-8")
        #expect(body.json.canonicalBytes == Array(try encoder.encode(expected)))
    }

    @Test func keysArePublicAndVerifyCheckpoints() async throws {
        let server = try TestServer()
        try await server.test { client in
            let response = try await client.call(.get, "/v1/keys", token: nil)
            #expect(response.status == .ok)
            let json = try response.json()
            #expect(json["region"] as? String == "430400")
            let keys = try #require(json["keys"] as? [[String: Any]])
            #expect(keys.count == 1)
            #expect(keys.first?["alg"] as? String == "EdDSA")
            #expect(keys.first?["status"] as? String == "active")
            #expect(keys.first?["kid"] as? String == server.backend.keyring.active.kid)
            let pem = try #require(keys.first?["public_key_pem"] as? String)
            let verifier = try SignatureKeys.loadVerifier(publicKeyPEM: pem)
            #expect(server.backend.suite.keyID(of: verifier) == server.backend.keyring.active.kid)
            let fingerprint = try #require(keys.first?["fingerprint"] as? String)
            #expect(fingerprint.hasPrefix("sha256:") && fingerprint.count == 7 + 64)
            #expect(fingerprint == PublishedKey.fingerprint(publicKeyPEM: pem))
        }
    }

    @Test func gmProfilePublishesSM2Keys() async throws {
        let server = try TestServer { $0.crypto = .gm }
        try await server.test { client in
            let keys = try #require(try await client.call(.get, "/v1/keys", token: nil).json()["keys"] as? [[String: Any]])
            #expect(keys.first?["alg"] as? String == "SM2")
        }
    }

    @Test func unknownRouteIsAProblem() async throws {
        let server = try TestServer()
        try await server.test { client in
            try await client.call(.get, "/v1/nothing-here", token: nil).expectProblem(404, "not_found")
        }
    }

    @Test func metricsCountRequestsByRouteAndStatus() async throws {
        let server = try TestServer()
        try await server.test { client in
            _ = try await client.call(.get, "/healthz", token: nil)
            try await client.call(.get, "/v1/nothing-here", token: nil).expectProblem(404, "not_found")
            let metrics = try await client.call(.get, "/metrics", token: nil)
            #expect(metrics.status == .ok)
            // Hummingbird's metric names and dimensions (`RequestMetricsMiddleware`).
            #expect(metrics.text.contains(#"hb_requests{http_route="/healthz",http_request_method="GET",http_response_status_code="200"}"#))
            #expect(metrics.text.contains(#"http_server_request_duration_count{http_route="/healthz""#))
            #expect(metrics.text.contains(#"hb_request_errors{http_route="NotFound",http_request_method="GET",error_type="404"}"#))
            #expect(metrics.text.contains(#"http_server_active_requests{http_request_method="GET"}"#))
        }
    }

    @Test func metricsShowTheWritersWork() async throws {
        let server = try TestServer()
        try await server.test { client in
            _ = try await client.createClient(role: "issuer", name: "衡阳市公安局")
            // A failed token is audited through the group commit at once, so the counters move
            // even when this test runs alone.
            #expect(try await client.call(.get, "/v1/clients", token: "msb_unknown").status == .unauthorized)
            let text = try await client.call(.get, "/metrics", token: nil).text
            func value(_ name: String) -> Double? {
                text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
            }
            // The registry is the process's, shared with other tests: at least this write shows.
            #expect((value(GroupCommit.unitsMetric) ?? 0) >= 1)
            #expect((value(GroupCommit.transactionsMetric) ?? 0) >= 1)
            #expect((value(GroupCommit.cpuMetric) ?? 0) > 0, "the writer thread's CPU time is counted")
            #expect((value(GroupCommit.busyMetric) ?? 0) >= (value(GroupCommit.cpuMetric) ?? 0),
                    "the writer's wall time running batches is counted, and is no less than its CPU time")
        }
    }
}

@Suite("Over a real socket")
struct LiveTests {
    @Test func authAndProblemsOverHTTP() async throws {
        let server = try TestServer()
        try await server.test(.live) { client in
            #expect(try await client.call(.get, "/healthz", token: nil).status == .ok)
            let created = try await client.createClient(role: "issuer", name: "衡阳市公安局")
            #expect(try await client.call(.get, "/v1/clients", token: created.token).status == .forbidden)
            try await client.call(.get, "/v1/clients", token: "nope-nope-nope-nope").expectProblem(401, "unauthorized")
            try await client.call(.post, "/v1/clients", json: "{").expectProblem(400, "bad_request")
        }
    }
}

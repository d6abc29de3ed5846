import Foundation
import GRDB
import HTTPTypes
import HummingbirdTesting
@testable import MaShangBan
import Testing
@testable import MaShangBanServer
import MaShangBanTestSupport

/// 跨域通办's region-to-region endpoints: only a request signed by a pinned peer key gets in.
@Suite("Federation endpoints")
struct FederationRoutesTests {
    /// Hengyang (the server under test) has taken Changsha's active key; Changsha signs.
    func changsha(in dir: TemporaryDirectory, pinnedBy server: TestServer) async throws -> Backend {
        var settings = BackendSettings()
        settings.region = "430100"
        let changsha = try openBackend(dir, settings: settings, clock: TestClock(Date()))
        let key = try #require(try await changsha.services.signingKeys.published().first)
        _ = try await server.backend.services.peers.register(.init(region: "430100", name: "长沙市", baseURL: "http://127.0.0.1:9",
                                                                   keyFingerprints: [try #require(key.fingerprint)]), by: .system)
        try await server.backend.transactions.pool.write { db in
            try PeerStore.putKey(region: "430100", PeerKey(kid: key.kid, alg: key.alg, publicKeyPEM: key.publicKeyPEM,
                                                           fingerprint: try #require(key.fingerprint), status: "active", retiredAt: nil),
                                 at: Timestamp(Date()), db)
        }
        return changsha
    }

    @Test func theCatalogueIsForSignedPeersOnly() async throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let changsha = try await changsha(in: dir, pinnedBy: server)
        try await server.test { client in
            #expect(try await client.call(.post, "/v1/approval-systems", json: #"""
                {"code":"hr","name":"人社审批系统","webhook_url":"http://127.0.0.1:9/hook"}
                """#).status == .created)
            let item = try await client.call(.post, "/v1/items", json: #"""
                {"code":"sb-transfer","name":"社保转移接续","approval_system":"hr","required":["resident_id_card"],"national_code":"11430400-SB-001"}
                """#)
            #expect(item.status == .created)
            #expect(try item.json()["decided_by"] as? String == "430400" && item.json()["national_code"] as? String == "11430400-SB-001")
            #expect(try await client.call(.post, "/v1/items", json: #"""
                {"code":"local-only","name":"本地事项","approval_system":"hr","required":["resident_id_card"]}
                """#).status == .created)
            // An item another region decides has no approval system here (its submissions go there), one decided here needs one.
            try await client.call(.post, "/v1/items", json: #"""
                {"code":"cs-decided","name":"长沙审批事项","approval_system":"hr","required":["resident_id_card"],"national_code":"11430100-X","decided_by":"430100"}
                """#).expectProblem(422, "validation_failed")
            try await client.call(.post, "/v1/items", json: #"""
                {"code":"no-system","name":"本地事项","required":["resident_id_card"]}
                """#).expectProblem(422, "validation_failed")
            let decidedThere = try await client.call(.post, "/v1/items", json: #"""
                {"code":"cs-decided","name":"长沙审批事项","required":["resident_id_card"],"national_code":"11430100-X","decided_by":"430100"}
                """#)
            #expect(decidedThere.status == .created, "\(decidedThere.text)")
            #expect(try decidedThere.json()["approval_system"] is NSNull)
            try await client.call(.post, "/v1/items", json: #"""
                {"code":"bad","name":"x","approval_system":"hr","required":["resident_id_card"],"decided_by":"430100"}
                """#).expectProblem(422, "validation_failed")
            try await client.call(.post, "/v1/items", json: #"""
                {"code":"bad","name":"x","approval_system":"hr","required":["resident_id_card"],"national_code":"a b"}
                """#).expectProblem(422, "validation_failed")

            var headers = HTTPFields()
            for (name, value) in try changsha.services.regionRequests.sign(method: "GET", authority: "localhost", path: "/v1/federation/items",
                                                                           query: nil, body: []) {
                headers[try #require(HTTPField.Name(name))] = value
            }
            let catalogue = try await client.call(.get, "/v1/federation/items", token: nil, headers: headers)
            #expect(catalogue.status == .ok, "\(catalogue.text)")
            let items = try #require(try catalogue.json()["items"] as? [[String: Any]])
            #expect(items.count == 1 && items.first?["national_code"] as? String == "11430400-SB-001" && items.first?["decided_by"] as? String == "430400",
                    "only what this region decides and names nationally")
            try await client.call(.get, "/v1/federation/items", token: nil, headers: headers).expectProblem(401, "region_request_replayed")
            try await client.call(.get, "/v1/federation/items").expectProblem(401, "region_signature_invalid")
            var elsewhere = HTTPFields()
            for (name, value) in try changsha.services.regionRequests.sign(method: "GET", authority: "gl.example", path: "/v1/federation/items",
                                                                           query: nil, body: []) {
                elsewhere[try #require(HTTPField.Name(name))] = value
            }
            try await client.call(.get, "/v1/federation/items", token: nil, headers: elsewhere).expectProblem(401, "region_signature_invalid")
        }
    }
}

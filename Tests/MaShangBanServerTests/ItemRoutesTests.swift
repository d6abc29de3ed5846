import Foundation
import HummingbirdTesting
@testable import MaShangBan
import Testing
@testable import MaShangBanServer
import MaShangBanTestSupport

extension TestClientProtocol {
    /// Registers the social-security approval system; returns its secret.
    func createApprovalSystem(code: String = "hr-social-security") async throws -> String {
        let response = try await call(.post, "/v1/approval-systems",
                                      json: #"{"code":"\#(code)","name":"人社审批系统","webhook_url":"http://127.0.0.1:9/hook"}"#)
        #expect(response.status == .created)
        return try #require(try response.json()["secret"] as? String)
    }
}

@Suite("Items and approval systems")
struct ItemRoutesTests {
    static let transfer = #"""
    {"code":"sb-transfer","name":"社保转移接续","approval_system":"hr-social-security",
     "required":["resident_id_card","social_security_card"],
     "fields":{"resident_id_card.name":"full","resident_id_card.id_number":"full",
               "social_security_card.card_number":"masked","holder.id":"full"}}
    """#

    @Test func approvalSystemSecretIsShownOnceAndStoredSealed() async throws {
        let server = try TestServer()
        let secret = try await server.test { client in
            let secret = try await client.createApprovalSystem()
            #expect(secret.hasPrefix("whsec_"))
            let list = try await client.call(.get, "/v1/approval-systems")
            #expect(list.status == .ok)
            #expect(!list.text.contains(secret))
            #expect(list.text.contains("hr-social-security"))
            try await client.call(.post, "/v1/approval-systems",
                                  json: #"{"code":"hr-social-security","name":"x","webhook_url":"http://h/"}"#)
                .expectProblem(422, "approval_system_exists")
            for url in ["ftp://h/x", "not a url", "http:///nohost", "http://user:pw@h/x"] {
                try await client.call(.post, "/v1/approval-systems", json: #"{"code":"other","name":"x","webhook_url":"\#(url)"}"#)
                    .expectProblem(422, "validation_failed")
            }
            return secret
        }
        #expect(try await server.backend.services.approvalSystems.secret(of: "hr-social-security") == secret)
        let raw = try await server.backend.transactions.pool.read { db in try Data.fetchOne(db, sql: "SELECT secret_box FROM approval_systems") }
        #expect(raw.map { $0.range(of: Data(secret.utf8)) == nil } == true)
    }

    @Test func createListAndFind() async throws {
        let server = try TestServer()
        try await server.test { client in
            _ = try await client.createApprovalSystem()
            let created = try await client.call(.post, "/v1/items", json: Self.transfer)
            #expect(created.status == .created)
            let item = try created.json()
            #expect(item["approval_system"] as? String == "hr-social-security")
            #expect((item["fields"] as? [String: String])?["social_security_card.card_number"] == "masked")
            let terminal = try await client.createClient(role: "terminal", hall: "H1").token
            let list = try await client.call(.get, "/v1/items", token: terminal).json()
            #expect((list["items"] as? [[String: Any]])?.count == 1)
            let one = try await client.call(.get, "/v1/items/sb-transfer", token: terminal).json()
            #expect(one["name"] as? String == "社保转移接续")
            try await client.call(.get, "/v1/items/nope", token: terminal).expectProblem(404, "not_found")
            try await client.call(.post, "/v1/items", token: terminal, json: Self.transfer).expectProblem(403, "forbidden")
            try await client.call(.post, "/v1/items", json: Self.transfer).expectProblem(422, "item_exists")
        }
        let actions = try await server.backend.transactions.pool.read { db in try String.fetchAll(db, sql: "SELECT action FROM audit_records") }
        #expect(actions.contains("approval_system.created") && actions.contains("item.created"))
    }

    @Test func everyRuleHasItsCode() async throws {
        let server = try TestServer()
        try await server.test { client in
            _ = try await client.createApprovalSystem()
            let cases: [(String, String, String)] = [
                ("social_security_card", "marriage_certificate", "unknown_licence_type"),
                (#""approval_system":"hr-social-security""#, #""approval_system":"nobody""#, "unknown_approval_system"),
                (#""holder.id":"full""#, #""holder.id":"everything""#, "validation_failed"),
                (#""resident_id_card.name":"full""#, #""resident_id_card.shoe_size":"full""#, "validation_failed"),
                (#""resident_id_card.name":"full""#, #""business_licence.address":"full""#, "validation_failed"),
                (#""code":"sb-transfer""#, #""code":"SB Transfer""#, "validation_failed"),
            ]
            for (from, to, code) in cases {
                try await client.call(.post, "/v1/items", json: Self.transfer.replacingOccurrences(of: from, with: to))
                    .expectProblem(422, code)
            }
            try await client.call(.post, "/v1/items", json: #"{"code":"x","required":"resident_id_card"}"#).expectProblem(400, "bad_request")
        }
    }
}

import Foundation
import HummingbirdTesting
@testable import MaShangBan
import Testing
@testable import MaShangBanServer
import MaShangBanTestSupport

@Suite("Licence types")
struct LicenceTypeRoutesTests {
    static let permit = #"""
    {"code":"fire_safety_permit","name":"消防安全检查合格证","holder":"enterprise","number_class":"licence_number",
     "fields":[{"name":"permit_number","class":"licence_number","required":true},
               {"name":"credit_code","class":"public","names_holder":true},
               {"name":"site_address","class":"address"}]}
    """#

    @Test func builtInsAreListedForEveryRole() async throws {
        let server = try TestServer()
        try await server.test { client in
            let terminal = try await client.createClient(role: "terminal", hall: "HY-ZX-01")
            let response = try await client.call(.get, "/v1/licence-types", token: terminal.token)
            #expect(response.status == .ok)
            let types = try #require(try response.json()["licence_types"] as? [[String: Any]])
            #expect(types.compactMap { $0["code"] as? String } ==
                ["resident_id_card", "social_security_card", "business_licence", "construction_permit", "planning_permit"])
            let idCard = try #require(types.first)
            #expect(idCard["holder"] as? String == "person")
            #expect(idCard["number_class"] as? String == "citizen_id")
            let fields = try #require(idCard["fields"] as? [[String: Any]])
            let idNumber = try #require(fields.first { $0["name"] as? String == "id_number" })
            #expect(idNumber["class"] as? String == "citizen_id")
            #expect(idNumber["names_holder"] as? Bool == true && idNumber["required"] as? Bool == true)
            try await client.call(.get, "/v1/licence-types", token: nil).expectProblem(401, "unauthorized")
        }
    }

    @Test func anAdminAddsAType() async throws {
        let server = try TestServer()
        try await server.test { client in
            let created = try await client.call(.post, "/v1/licence-types", json: Self.permit)
            #expect(created.status == .created)
            #expect(try created.json()["built_in"] as? Bool == false)
            let types = try #require(try await client.call(.get, "/v1/licence-types").json()["licence_types"] as? [[String: Any]])
            #expect(types.last?["code"] as? String == "fire_safety_permit")
            try await client.call(.post, "/v1/licence-types", json: Self.permit).expectProblem(422, "licence_type_exists")
            let builtInAgain = Self.permit.replacingOccurrences(of: "fire_safety_permit", with: "business_licence")
            try await client.call(.post, "/v1/licence-types", json: builtInAgain).expectProblem(422, "licence_type_exists")
        }
        let audit = try await server.backend.transactions.pool.read { db in try AuditStore.records(after: 0, limit: 10, db) }
        #expect(audit.last?.action == "licence_type.created")
    }

    @Test(arguments: [
        #"{"code":"x_permit","name":"n","holder":"person","number_class":"licence_number","fields":[{"name":"a_b","class":"secret"}]}"#,
        #"{"code":"x_permit","name":"n","holder":"person","number_class":"secret","fields":[{"name":"a_b","class":"public"}]}"#,
        #"{"code":"X-Permit","name":"n","holder":"person","number_class":"public","fields":[{"name":"a_b","class":"public"}]}"#,
        #"{"code":"x_permit","name":"n","holder":"robot","number_class":"public","fields":[{"name":"a_b","class":"public"}]}"#,
        #"{"code":"x_permit","name":"n","holder":"person","number_class":"public","fields":[]}"#,
        #"{"code":"x_permit","name":"n","holder":"person","number_class":"public","fields":[{"name":"ab","class":"public"},{"name":"ab","class":"public"}]}"#,
    ])
    func invalidDefinitionsAre422(body: String) async throws {
        let server = try TestServer()
        try await server.test { client in
            try await client.call(.post, "/v1/licence-types", json: body).expectProblem(422, "validation_failed")
        }
    }

    @Test func onlyAdminsAddTypes() async throws {
        let server = try TestServer()
        try await server.test { client in
            let issuer = try await client.createClient(role: "issuer")
            try await client.call(.post, "/v1/licence-types", token: issuer.token, json: Self.permit).expectProblem(403, "forbidden")
            try await client.call(.post, "/v1/licence-types", json: #"{"code":1}"#).expectProblem(400, "bad_request")
        }
    }
}

import Foundation
import GRDB
import HummingbirdTesting
@testable import MaShangBan
import Testing
@testable import MaShangBanServer
import MaShangBanTestSupport

/// Issuers own what they issue; a licence's holder never changes (THREAT_MODEL.md, "issuer").
@Suite("Issuers own what they issue")
struct IssuerOwnershipTests {
    @Test func anIssuerIsRegisteredWithItsAuthorityAndTypes() async throws {
        let server = try TestServer()
        try await server.test { client in
            for (body, status, code) in [
                (#"{"role":"issuer","name":"公安局","licence_types":["resident_id_card"]}"#, 422, "validation_failed"),
                (#"{"role":"issuer","name":"公安局","issuer_code":"11430400MB1234567X","licence_types":["resident_id_card"]}"#, 422,
                 "invalid_credit_code"),
                (#"{"role":"issuer","name":"公安局","issuer_code":"11430400MB1234567L"}"#, 422, "validation_failed"),
                (#"{"role":"issuer","name":"公安局","issuer_code":"11430400MB1234567L","licence_types":[]}"#, 422, "validation_failed"),
                (#"{"role":"issuer","name":"公安局","issuer_code":"11430400MB1234567L","licence_types":["passport"]}"#, 422,
                 "unknown_licence_type"),
                (#"{"role":"app","name":"app","issuer_code":"11430400MB1234567L"}"#, 422, "validation_failed"),
            ] {
                try await client.call(.post, "/v1/clients", json: body).expectProblem(status, code)
            }
            let created = try await client.call(.post, "/v1/clients", json: #"""
                {"role":"issuer","name":"衡阳市公安局","issuer_code":"11430400MB1234567L","licence_types":["resident_id_card"]}
                """#)
            #expect(created.status == .created)
            let json = try created.json()
            #expect(json["issuer_code"] as? String == Sample.issuerCode)
            #expect(json["licence_types"] as? [String] == ["resident_id_card"])
        }
    }

    @Test func anotherIssuerCannotOverwriteOrRevoke() async throws {
        let server = try TestServer()
        try await server.test { client in
            let a = try await client.createClient(role: "issuer", name: "衡阳市公安局")
            let aAgain = try await client.createClient(role: "issuer", name: "衡阳市公安局 (new token)")  // same authority
            let b = try await client.createClient(role: "issuer", name: "另一发证机关", issuerCode: Sample.otherIssuerCode)
            let first = try await client.importLicence(Sample.idCard(), token: a.token)
            #expect(first.status == .created)
            let id = try #require(try first.json()["id"] as? String)
            // Issuer B, who may issue ID cards too, can neither overwrite nor revoke A's.
            try await client.importLicence(Sample.idCard(name: "冒名"), token: b.token).expectProblem(403, "licence_owned_by_other_issuer")
            try await client.call(.post, "/v1/licences/\(id)/revoke", token: b.token, json: #"{"reason":"x"}"#)
                .expectProblem(403, "licence_owned_by_other_issuer")
            let batch = try await client.call(.post, "/v1/licences:batch", token: b.token,
                                              json: BatchImportTests.oneLine(Sample.idCard(name: "冒名")) + "\n"
                                                  + BatchImportTests.oneLine(Sample.idCard(holder: Sample.otherPerson)))
            #expect(batch.status == .ok)
            let answer = try batch.json()
            #expect(answer["accepted"] as? Int == 1)
            #expect(answer["rejected_count"] as? Int == 1)
            let rejected = try #require(answer["rejected"] as? [[String: Any]])
            #expect(rejected.map { $0["line"] as? Int } == [1])
            #expect(rejected.map { $0["code"] as? String } == ["licence_owned_by_other_issuer"])
            // Another client of the same authority may; the issuer name is the client's, not the body's.
            #expect(try await client.importLicence(Sample.idCard(name: "王静"), token: aAgain.token).status == .ok)
            #expect(try await client.call(.post, "/v1/licences/\(id)/revoke", token: a.token, json: #"{"reason":"补办"}"#).status == .ok)
        }
        let stored = try await server.backend.services.library.library(of: .person(try CitizenID(Sample.person)))
        #expect(stored.map(\.fields["name"]) == ["王静"])
        #expect(stored.map(\.issuer) == ["衡阳市公安局 (new token)"])
        #expect(stored.map(\.revoked) == [true])
    }

    @Test func anIssuerIssuesOnlyItsTypes() async throws {
        let server = try TestServer()
        try await server.test { client in
            let socialSecurity = try await client.createClient(role: "issuer", licenceTypes: ["social_security_card"]).token
            let police = try await client.createClient(role: "issuer", licenceTypes: ["resident_id_card"]).token
            try await client.importLicence(Sample.idCard(), token: socialSecurity).expectProblem(403, "licence_type_not_permitted")
            #expect(try await client.importLicence(Sample.socialSecurityCard(), token: socialSecurity).status == .created)
            let id = try #require(try await client.importLicence(Sample.idCard(), token: police).json()["id"] as? String)
            // Same authority (the default code), but social security may not touch ID cards.
            try await client.call(.post, "/v1/licences/\(id)/revoke", token: socialSecurity, json: #"{"reason":"x"}"#)
                .expectProblem(403, "licence_type_not_permitted")
            let batch = try await client.call(.post, "/v1/licences:batch", token: socialSecurity,
                                              json: BatchImportTests.oneLine(Sample.idCard()) + "\n" + BatchImportTests.oneLine(Sample.socialSecurityCard()))
            let answer = try batch.json()
            #expect(answer["accepted"] as? Int == 1)
            #expect((answer["rejected"] as? [[String: Any]])?.map { $0["code"] as? String } == ["licence_type_not_permitted"])
        }
    }

    @Test func aLicencesHolderNeverChanges() async throws {
        let server = try TestServer()
        try await server.test { client in
            let hall = try await Hall.open(client)
            // The issuer tries to move the social-security card to another person.
            let moved = Sample.socialSecurityCard().replacingOccurrences(of: Sample.person, with: Sample.otherPerson)
            try await client.importLicence(moved, token: hall.issuer).expectProblem(409, "licence_holder_immutable")
            let batch = try await client.call(.post, "/v1/licences:batch", token: hall.issuer, json: BatchImportTests.oneLine(moved)).json()
            #expect((batch["rejected"] as? [[String: Any]])?.map { $0["code"] as? String } == ["licence_holder_immutable"])
            // The holder still consents to and presents both cards.
            #expect(try await hall.scan(try await hall.present(try await hall.consent()).token).status == .created)
        }
        let other = try await server.backend.services.library.library(of: .person(try CitizenID(Sample.otherPerson)))
        #expect(other.isEmpty)
    }

    /// Every licence a consent carries must be valid at the scan, needed by the item or not.
    @Test func aRevokedLicenceFailsTheScanEvenWhenTheItemDoesNotNeedIt() async throws {
        let server = try TestServer()
        try await server.test { client in
            let hall = try await Hall.open(client)
            #expect(try await client.call(.post, "/v1/items", json: #"""
                {"code":"id-check","name":"身份核验","approval_system":"hr-social-security","required":["resident_id_card"],
                 "fields":{"resident_id_card.name":"full"}}
                """#).status == .created)
            let code = try await hall.present(try await hall.consent(item: nil))
            let social = hall.licences[1]
            #expect(try await client.call(.post, "/v1/licences/\(social)/revoke", token: hall.issuer, json: #"{"reason":"挂失"}"#).status == .ok)
            try await hall.scan(code.token, item: "id-check").expectProblem(409, "licence_revoked")
        }
    }

    /// One hall rule everywhere: a terminal's hall fits a token's `aud`, so no 5xx later.
    @Test func hallCodesHaveOneLengthLimit() async throws {
        let server = try TestServer()
        try await server.test { client in
            try await client.call(.post, "/v1/clients", json: #"{"role":"terminal","name":"w","hall":"HALL-CODE-17-CHAR"}"#)
                .expectProblem(422, "validation_failed")
            let longest = "HALL-CODE-16CHAR"
            let terminal = try await client.createClient(role: "terminal", hall: longest).token
            let opened = try await client.call(.post, "/v1/window-sessions", token: terminal, json: #"{"item":"sb-transfer"}"#)
            try opened.expectProblem(404, "item_unknown")  // no 500: the token fits
            let hall = try await Hall.open(client)
            let code = try await hall.present(try await hall.consent(hall: longest))
            #expect(code.token.utf8.count <= 300)
            #expect(try await hall.scan(code.token, terminal: terminal).status == .created)
            let session = try await client.call(.post, "/v1/window-sessions", token: terminal, json: #"{"item":"sb-transfer"}"#)
            #expect(session.status == .created)
        }
    }

    /// `mashangban licences assign-issuer`: licences with no authority go to one, then only it writes them.
    @Test func anAdminAssignsLicencesWithoutAnAuthority() async throws {
        let server = try TestServer()
        let (id, legacy, police) = try await server.test { client in
            let legacy = try await client.createClient(role: "issuer", name: "旧发证客户端")
            let police = try await client.createClient(role: "issuer", name: "衡阳市公安局", issuerCode: Sample.otherIssuerCode,
                                                       licenceTypes: ["resident_id_card"])
            let id = try #require(try await client.importLicence(Sample.idCard(), token: legacy.token).json()["id"] as? String)
            _ = try await client.importLicence(Sample.socialSecurityCard(), token: legacy.token)
            return (id, legacy, police)
        }
        // As if written before issuers had codes: owned by the client alone, or by nobody.
        try await server.backend.transactions.pool.write { db in
            try db.execute(sql: "UPDATE licences SET issuer_code = NULL, issuer_client = NULL WHERE id = ?", arguments: [id])
            try db.execute(sql: "UPDATE licences SET issuer_code = NULL WHERE id <> ?", arguments: [id])
        }
        try await server.test { client in
            try await client.importLicence(Sample.idCard(), token: police.token).expectProblem(403, "licence_owned_by_other_issuer")
        }
        await #expect(throws: MSBError.self) { try await server.backend.services.library.assignIssuer(to: "cli_nobody", from: nil, by: .system) }
        #expect(try await server.backend.services.library.assignIssuer(to: police.id, from: nil, by: .system) == 1)
        // The social-security card stays its legacy writer's: the police may not issue that type.
        #expect(try await server.backend.services.library.assignIssuer(to: police.id, from: legacy.id, by: .system) == 0)
        let updates = try await server.test { client in
            [try await client.importLicence(Sample.idCard(name: "王静"), token: police.token).status,
             try await client.importLicence(Sample.socialSecurityCard(), token: legacy.token).status]
        }
        #expect(updates == [.ok, .ok])
        let library = try await server.backend.services.library.library(of: .person(try CitizenID(Sample.person)))
        #expect(Set(library.map(\.issuer)) == ["衡阳市公安局", "旧发证客户端"])
    }

    /// Licences written before issuers had codes belong to the client the audit log shows
    /// writing them last; those no client wrote have no owner.
    @Test func theMigrationAssignsLicencesToTheirLastWriter() throws {
        let queue = try DatabaseQueue()
        try Storage.migrator.migrate(queue, upTo: "0009_checks_compare_in_place")
        try queue.write { db in
            for (id, role) in [("cli_a", "issuer"), ("cli_b", "issuer")] {
                try db.execute(sql: "INSERT INTO clients (id, role, name, token_hash, created_at) VALUES (?, ?, 'x', ?, 't')",
                               arguments: [id, role, Data(id.utf8)])
            }
            for id in ["lic_1", "lic_2", "lic_3"] {
                try db.execute(sql: """
                    INSERT INTO licences (id, type, number_key, holder_kind, holder_ref, data_box, valid_from, issuer, created_at, updated_at)
                    VALUES (?, 'resident_id_card', ?, 'person', 'r', x'00', '2020-01-01', 'i', 't', 't')
                    """, arguments: [id, Data(id.utf8)])
            }
            for (seq, actor, action, object) in [(1, "client:cli_a", "licence.imported", "licence:lic_1"),
                                                 (2, "client:cli_a", "licence.imported", "licence:lic_2"),
                                                 (3, "client:cli_b", "licence.updated", "licence:lic_2"),
                                                 (4, "client:cli_a", "licence.revoked", "licence:lic_2"),
                                                 (5, "system", "licence.imported", "licence:lic_3")] {
                try db.execute(sql: "INSERT INTO audit_records VALUES (?, 't', ?, ?, ?, '{}', 'p', 'h')", arguments: [seq, actor, action, object])
            }
        }
        try Storage.migrator.migrate(queue)
        let owners = try queue.read { db in try Row.fetchAll(db, sql: "SELECT id, issuer_client FROM licences ORDER BY id") }
            .map { [$0["id"] as String, ($0["issuer_client"] as String?) ?? "-"] }
        #expect(owners == [["lic_1", "cli_a"], ["lic_2", "cli_b"], ["lic_3", "-"]])
    }
}

import Foundation
import HummingbirdTesting
@testable import MaShangBan
import Testing
@testable import MaShangBanServer
import MaShangBanTestSupport

@Suite("Issuer import, revocation and at-rest protection")
struct LicenceRoutesTests {
    @Test func importThenUpdateTheSameTypeAndNumber() async throws {
        let server = try TestServer()
        try await server.test { client in
            let issuer = try await client.createClient(role: "issuer")
            let first = try await client.importLicence(Sample.idCard(), token: issuer.token)
            #expect(first.status == .created)
            let id = try #require(try first.json()["id"] as? String)
            #expect(id.hasPrefix("lic_"))
            #expect(try first.json()["status"] as? String == "valid", "\(first.text)")
            let again = try await client.importLicence(Sample.idCard(name: "王静"), token: issuer.token)
            #expect(again.status == .ok)
            #expect(try again.json()["id"] as? String == id)
        }
        let actions = try await server.backend.transactions.pool.read { db in try AuditStore.records(after: 0, limit: 100, db) }.map(\.action)
        #expect(actions.suffix(2) == ["licence.imported", "licence.updated"])
        let library = try await server.backend.services.library.library(of: .person(try CitizenID(Sample.person)))
        #expect(library.count == 1)
        #expect(library.first?.fields["name"] == "王静")
    }

    @Test func everyRuleHasItsCode() async throws {
        let server = try TestServer()
        try await server.test { client in
            let issuer = try await client.createClient(role: "issuer").token
            func expect(_ json: String, _ status: Int, _ code: String, detailContains: String? = nil) async throws {
                let response = try await client.importLicence(json, token: issuer)
                try response.expectProblem(status, code)
                if let detailContains {
                    #expect((try response.json()["detail"] as? String)?.contains(detailContains) == true, "\(code): \(detailContains)")
                }
            }
            try await expect(Sample.idCard().replacingOccurrences(of: "resident_id_card", with: "driving_licence"), 422, "unknown_licence_type")
            try await expect(Sample.idCard().replacingOccurrences(of: #""sex":"女","#, with: ""), 422, "validation_failed",
                             detailContains: "fields.sex")
            try await expect(Sample.idCard(holder: "430405198501011234"), 422, "invalid_citizen_id", detailContains: "check character")
            try await expect(Sample.businessLicence(holder: "91350100M000100Y44"), 422, "invalid_credit_code")
            try await expect(Sample.idCard().replacingOccurrences(of: #""kind":"person""#, with: #""kind":"enterprise""#),
                             422, "validation_failed", detailContains: "holder.kind")
            // A field that names the holder must equal the holder id.
            let mismatch = Sample.idCard().replacingOccurrences(of: #""id_number":"\#(Sample.person)""#,
                                                                with: #""id_number":"\#(Sample.otherPerson)""#)
            try await expect(mismatch, 422, "validation_failed", detailContains: "fields.id_number")
            try await expect(Sample.idCard().replacingOccurrences(of: "2020-01-01", with: "2020-02-30"), 422, "validation_failed",
                             detailContains: "valid_from")
            try await expect(Sample.idCard(validUntil: "2019-12-31"), 422, "validation_failed", detailContains: "valid_until")
            try await expect(Sample.idCard(extra: #","favourite_colour":"red""#), 422, "validation_failed", detailContains: "favourite_colour")
            try await expect(Sample.businessLicence().replacingOccurrences(of: Sample.otherPerson, with: "430402199003150028"),
                             422, "invalid_citizen_id", detailContains: "legal_representative_id")
            try await expect(#"{"type":"resident_id_card"}"#, 400, "bad_request")
            try await expect(Sample.idCard().replacingOccurrences(of: #""sex":"女""#, with: #""sex":1"#), 400, "bad_request")
        }
        let count = try await server.backend.transactions.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM licences") }
        #expect(count == 0)
    }

    @Test func expiredAndRevoked() async throws {
        let server = try TestServer()
        try await server.test { client in
            let issuer = try await client.createClient(role: "issuer").token
            let expired = try await client.importLicence(Sample.idCard(validUntil: "2021-01-01"), token: issuer)
            #expect(try expired.json()["status"] as? String == "expired")
            let business = try await client.importLicence(Sample.businessLicence(), token: issuer)
            let id = try #require(try business.json()["id"] as? String)
            let revoked = try await client.call(.post, "/v1/licences/\(id)/revoke", token: issuer, json: #"{"reason":"吊销"}"#)
            #expect(revoked.status == .ok)
            #expect(try revoked.json()["status"] as? String == "revoked")
            // Twice is fine; an unknown id is 404; the reason is required.
            #expect(try await client.call(.post, "/v1/licences/\(id)/revoke", token: issuer, json: #"{"reason":"again"}"#).status == .ok)
            try await client.call(.post, "/v1/licences/lic_nope/revoke", token: issuer, json: #"{"reason":"x"}"#).expectProblem(404, "not_found")
            try await client.call(.post, "/v1/licences/\(id)/revoke", token: issuer, json: #"{"reason":" "}"#)
                .expectProblem(422, "validation_failed")
            // Re-importing a revoked licence keeps it revoked.
            #expect(try await client.importLicence(Sample.businessLicence(), token: issuer).json()["status"] as? String == "revoked")
        }
        let revocations = try await server.backend.transactions.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_records WHERE action = 'licence.revoked'")
        }
        #expect(revocations == 1)
    }

    @Test func onlyIssuersImport() async throws {
        let server = try TestServer()
        try await server.test { client in
            for role in ["app", "terminal", "admin"] {
                let token = role == "admin" ? adminToken : try await client.createClient(role: role, hall: role == "terminal" ? "H1" : nil).token
                try await client.importLicence(Sample.idCard(), token: token).expectProblem(403, "forbidden")
            }
        }
    }

    @Test(arguments: CryptoProfile.allCases)
    func noPlaintextPersonalDataAtRest(crypto: CryptoProfile) async throws {
        let server = try TestServer { $0.crypto = crypto }
        try await server.test { client in
            let issuer = try await client.createClient(role: "issuer").token
            #expect(try await client.importLicence(Sample.idCard(), token: issuer).status == .created)
            #expect(try await client.importLicence(Sample.businessLicence(), token: issuer).status == .created)
        }
        var bytes = Data()
        for suffix in ["", "-wal"] {
            let path = server.directory.url.appendingPathComponent("mashangban.sqlite" + suffix).path
            bytes.append(FileManager.default.contents(atPath: path) ?? Data())
        }
        #expect(bytes.count > 10_000)
        for secret in [Sample.person, Sample.otherPerson, "王一静", "欧阳一峰", "湖南省衡阳市蒸湘区解放大道12号", "先锋路8号", "1985-01-01"] {
            #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(secret) found in the database files")
        }
        // Public data is stored as is and the audit log names no holder.
        let audit = try await server.backend.transactions.pool.read { db in try String.fetchAll(db, sql: "SELECT detail || object || actor FROM audit_records") }
        #expect(!audit.joined().contains(Sample.person))
    }
}

@Suite("NDJSON batch import")
struct BatchImportTests {
    static func oneLine(_ json: String) -> String { json.replacingOccurrences(of: "\n", with: "") }

    @Test func goodAndBadLines() async throws {
        let server = try TestServer()
        try await server.test { client in
            let issuer = try await client.createClient(role: "issuer").token
            let body = [
                Self.oneLine(Sample.idCard()),                                           // 1 ok
                "{not json",                                                             // 2 bad_request
                Self.oneLine(Sample.idCard(holder: "430405198501011234")),               // 3 invalid_citizen_id
                "",                                                                      // 4 blank: skipped
                Self.oneLine(Sample.socialSecurityCard()),                               // 5 ok
                Self.oneLine(Sample.businessLicence()).replacingOccurrences(of: "business_licence", with: "nope"), // 6 unknown type
                Self.oneLine(Sample.businessLicence()),                                  // 7 ok, no newline at the end
            ].joined(separator: "\n")
            let response = try await client.call(.post, "/v1/licences:batch", token: issuer, json: body)
            #expect(response.status == .ok)
            let json = try response.json()
            #expect(json["accepted"] as? Int == 3)
            let rejected = try #require(json["rejected"] as? [[String: Any]])
            #expect(rejected.map { $0["line"] as? Int } == [2, 3, 6])
            #expect(rejected.map { $0["code"] as? String } == ["bad_request", "invalid_citizen_id", "unknown_licence_type"])
            #expect(!response.text.contains("430405198501011234"))
            try await client.call(.post, "/v1/licences:batch", token: adminToken, json: body).expectProblem(403, "forbidden")
        }
        let stored = try await server.backend.transactions.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM licences") }
        #expect(stored == 3)
        let imported = try await server.backend.transactions.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_records WHERE action = 'licence.imported'")
        }
        #expect(imported == 3, "a rejected line leaves no audit record behind")
    }

    /// The answer lists the first 1,000 refused lines and counts them all.
    @Test func refusedLinesAreListedUpToAThousand() async throws {
        let server = try TestServer()
        try await server.test { client in
            let issuer = try await client.createClient(role: "issuer").token
            let body = Array(repeating: "{not json", count: 2500).joined(separator: "\n") + "\n" + Self.oneLine(Sample.idCard())
            let json = try await client.call(.post, "/v1/licences:batch", token: issuer, json: body).json()
            #expect(json["accepted"] as? Int == 1)
            #expect(json["rejected_count"] as? Int == 2500)
            let rejected = try #require(json["rejected"] as? [[String: Any]])
            #expect(rejected.compactMap { $0["line"] as? Int } == Array(1...1000))
        }
    }

    @Test func manyLinesAcrossSeveralTransactions() async throws {
        let server = try TestServer()
        // 1,200 distinct social-security cards for one holder: more than one batch (the first holds 1,000 lines).
        let lines = (0..<1200).map { i in
            Self.oneLine(Sample.socialSecurityCard()).replacingOccurrences(of: #""number":"6222020200112233445""#,
                                                                          with: #""number":"62220202\#(String(format: "%011d", i))""#)
        }
        try await server.test { client in
            let issuer = try await client.createClient(role: "issuer").token
            let json = try await client.call(.post, "/v1/licences:batch", token: issuer, json: lines.joined(separator: "\n") + "\n").json()
            #expect(json["accepted"] as? Int == 1200)
            #expect((json["rejected"] as? [Any])?.isEmpty == true)
            // The same batch again updates, it does not duplicate.
            let again = try await client.call(.post, "/v1/licences:batch", token: issuer, json: lines.joined(separator: "\n")).json()
            #expect(again["accepted"] as? Int == 1200)
        }
        let stored = try await server.backend.transactions.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM licences") }
        #expect(stored == 1200)
        #expect(try AuditVerifier.verify(dataDirectory: DataDirectory(server.directory.url)).ok)
    }

}

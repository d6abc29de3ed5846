import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
@testable import MaShangBan
import Testing
@testable import MaShangBanServer
import MaShangBanTestSupport

@Suite("Library and wallet (app backend)")
struct WalletRoutesTests {
    @Test func libraryIsDisplayMasked() async throws {
        let server = try TestServer()
        try await server.test { client in
            let issuer = try await client.createClient(role: "issuer").token
            let app = try await client.createClient(role: "app").token
            let holder = try await client.holderSession(Sample.person, app: app, provider: try await client.registerProvider())
            _ = try await client.importLicence(Sample.idCard(), token: issuer)
            let response = try await client.call(.get, "/v1/holders/\(Sample.person)/library", token: app, headers: holder)
            #expect(response.status == .ok)
            #expect(!response.text.contains(Sample.person))
            let licences = try #require(try response.json()["licences"] as? [[String: Any]])
            let card = try #require(licences.first)
            #expect(card["number"] as? String == "430***********1235")
            let fields = try #require(card["fields"] as? [String: String])
            #expect(fields["name"] == "王*静")
            #expect(fields["address"] == "湖南省衡阳市蒸湘区****")
            #expect(fields["birth_date"] == "1985-**-**")
            #expect(fields["sex"] == "女")
            #expect(card["status"] as? String == "valid")
        }
    }

    @Test func syncAddsOnlyValidLicencesAndIsIdempotent() async throws {
        let server = try TestServer()
        try await server.test { client in
            let issuer = try await client.createClient(role: "issuer").token
            let app = try await client.createClient(role: "app").token
            let holder = try await client.holderSession(Sample.person, app: app, provider: try await client.registerProvider())
            let card = try #require(try await client.importLicence(Sample.idCard(), token: issuer).json()["id"] as? String)
            let social = try #require(try await client.importLicence(Sample.socialSecurityCard(), token: issuer).json()["id"] as? String)
            let revokedID = try #require(try await client.importLicence(Sample.idCard(holder: Sample.person, number: Sample.person)
                .replacingOccurrences(of: "resident_id_card", with: "resident_id_card"), token: issuer).json()["id"] as? String)
            #expect(revokedID == card, "same type and number: the same licence")
            let sync = try await client.call(.post, "/v1/holders/\(Sample.person)/wallet/sync", token: app, headers: holder)
            #expect(sync.status == .ok)
            #expect(try sync.json()["added"] as? [String] == [card, social])
            let again = try await client.call(.post, "/v1/holders/\(Sample.person)/wallet/sync", token: app, headers: holder).json()
            #expect((again["added"] as? [String])?.isEmpty == true)
            let wallet = try #require(again["wallet"] as? [[String: Any]])
            #expect(wallet.map { $0["id"] as? String } == [card, social])
            #expect(wallet.last?["number"] as? String == "***************3445")
            #expect(wallet.last?["name"] as? String == "社会保障卡")
            #expect(Set(wallet.first?.keys.map { $0 } ?? []) == ["id", "type", "name", "number", "status", "valid_until"])

            // Revoked and expired licences are not added.
            _ = try await client.call(.post, "/v1/licences/\(card)/revoke", token: issuer, json: #"{"reason":"挂失"}"#)
            #expect(try await client.call(.delete, "/v1/holders/\(Sample.person)/wallet/\(card)", token: app, headers: holder).status == .noContent)
            let resync = try await client.call(.post, "/v1/holders/\(Sample.person)/wallet/sync", token: app, headers: holder).json()
            #expect((resync["added"] as? [String])?.isEmpty == true)
            let listed = try await client.call(.get, "/v1/holders/\(Sample.person)/wallet", token: app, headers: holder).json()
            #expect((listed["wallet"] as? [[String: Any]])?.map { $0["id"] as? String } == [social])

            try await client.call(.delete, "/v1/holders/\(Sample.person)/wallet/\(card)", token: app, headers: holder).expectProblem(404, "not_found")
        }
        let actions = try await server.backend.transactions.pool.read { db in try String.fetchAll(db, sql: "SELECT action FROM audit_records") }
        #expect(actions.filter { $0 == "wallet.synced" }.count == 1)
        #expect(actions.filter { $0 == "wallet.removed" }.count == 1)
    }

    @Test func enterpriseHoldersAndBadHolderIds() async throws {
        let server = try TestServer()
        try await server.test { client in
            let issuer = try await client.createClient(role: "issuer").token
            let app = try await client.createClient(role: "app").token
            let provider = try await client.registerProvider()
            _ = try await client.importLicence(Sample.businessLicence(), token: issuer)
            // The legal representative's session acts for the enterprise; the person's own does not.
            let person = try await client.holderSession(Sample.person, app: app, provider: provider)
            try await client.call(.get, "/v1/holders/\(Sample.enterprise)/library", token: app, headers: person)
                .expectProblem(403, "holder_session_mismatch")
            let holder = try await client.holderSession(Sample.otherPerson, app: app, provider: provider)
            let library = try await client.call(.get, "/v1/holders/\(Sample.enterprise)/library", token: app, headers: holder).json()
            let fields = try #require((library["licences"] as? [[String: Any]])?.first?["fields"] as? [String: String])
            #expect(fields["legal_representative"] == "欧**峰")
            #expect(fields["legal_representative_id"] == "430***********0027")
            #expect(fields["enterprise_name"] == "衡阳市湘江建设有限公司")
            try await client.call(.get, "/v1/holders/430405198501011234/library", token: app, headers: holder).expectProblem(422, "invalid_citizen_id")
            try await client.call(.get, "/v1/holders/91350100M000100Y44/wallet", token: app, headers: holder).expectProblem(422, "invalid_credit_code")
        }
    }

    /// An app acts for a holder only with the holder present: a live session of its own, for that holder.
    @Test func holderRoutesNeedAHolderSession() async throws {
        let clock = ManualClock()
        let server = try TestServer(now: clock.now)
        try await server.test { client in
            let app = try await client.createClient(role: "app").token
            let otherApp = try await client.createClient(role: "app").token
            let provider = try await client.registerProvider()
            let holder = try await client.holderSession(Sample.person, app: app, provider: provider, now: clock.now())
            let routes: [(HTTPRequest.Method, String)] = [
                (.get, "/v1/holders/\(Sample.person)/library"), (.get, "/v1/holders/\(Sample.person)/wallet"),
                (.post, "/v1/holders/\(Sample.person)/wallet/sync"), (.delete, "/v1/holders/\(Sample.person)/wallet/lic_x"),
            ]
            for (method, path) in routes {
                try await client.call(method, path, token: app).expectProblem(401, "holder_session_required")
                try await client.call(method, path, token: app, headers: HolderSession.header("hs_unknown"))
                    .expectProblem(401, "holder_session_required")
                try await client.call(method, path, token: otherApp, headers: holder).expectProblem(403, "holder_session_mismatch")
                let otherHolder = path.replacingOccurrences(of: Sample.person, with: Sample.otherPerson)
                try await client.call(method, otherHolder, token: app, headers: holder).expectProblem(403, "holder_session_mismatch")
            }
            #expect(try await client.call(.get, "/v1/holders/\(Sample.person)/wallet", token: app, headers: holder).status == .ok)
            // A session asked with a consent's nonce, or with another app's, does not open.
            let consentNonce = try await client.attestation(Sample.person, app: app, provider: provider, purpose: "consent", now: clock.now())
            try await client.call(.post, "/v1/holder-sessions", token: app, json: #"{"holder":"\#(Sample.person)","attestation":"\#(consentNonce)"}"#)
                .expectProblem(422, "nonce_invalid")
            let otherAppNonce = try await client.attestation(Sample.person, app: otherApp, provider: provider, purpose: "holder_session",
                                                             now: clock.now())
            try await client.call(.post, "/v1/holder-sessions", token: app, json: #"{"holder":"\#(Sample.person)","attestation":"\#(otherAppNonce)"}"#)
                .expectProblem(422, "nonce_invalid")
            // Ended by the app, or by time (30 minutes by default).
            let short = try await client.holderSession(Sample.person, app: app, provider: provider, now: clock.now())
            try await client.call(.delete, "/v1/holder-sessions/current", token: otherApp, headers: short).expectProblem(403, "holder_session_mismatch")
            #expect(try await client.call(.delete, "/v1/holder-sessions/current", token: app, headers: short).status == .noContent)
            try await client.call(.get, "/v1/holders/\(Sample.person)/wallet", token: app, headers: short).expectProblem(401, "holder_session_required")
            try await client.call(.delete, "/v1/holder-sessions/current", token: app).expectProblem(401, "holder_session_required")
            clock.advance(1801)
            try await client.call(.get, "/v1/holders/\(Sample.person)/wallet", token: app, headers: holder).expectProblem(401, "holder_session_required")
        }
        let stored = try await server.backend.transactions.pool.read { db in try Data.fetchAll(db, sql: "SELECT token_hash FROM holder_sessions") }
        #expect(stored.count == 2 && stored.allSatisfy { $0.count == 32 }, "only hashes of session tokens are stored")
    }

    @Test func onlyAppsActForHolders() async throws {
        let server = try TestServer()
        try await server.test { client in
            let issuer = try await client.createClient(role: "issuer").token
            let terminal = try await client.createClient(role: "terminal", hall: "H1").token
            for token in [issuer, terminal, adminToken] {
                try await client.call(.get, "/v1/holders/\(Sample.person)/library", token: token).expectProblem(403, "forbidden")
                try await client.call(.post, "/v1/holders/\(Sample.person)/wallet/sync", token: token).expectProblem(403, "forbidden")
            }
        }
    }
}

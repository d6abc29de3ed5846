import Foundation
import HummingbirdTesting
@testable import MaShangBan
import Testing
@testable import MaShangBanServer
import MaShangBanTestSupport

/// A face attestation proves a person was present for one purpose, to one app.
@Suite("Attestations are bound to purpose, app and a live provider")
struct AttestationBindingTests {
    @Test func aNonceServesOnlyTheAppAndPurposeItWasAskedFor() async throws {
        let server = try TestServer()
        try await server.test { client in
            let hall = try await Hall.open(client)
            let otherApp = try await client.createClient(role: "app").token
            // Asked by another app: refused to this one.
            try await hall.consentResponse(attestation: try await hall.attest(app: otherApp)).expectProblem(422, "nonce_invalid")
            // Asked for a holder session or an agent grant: not a consent.
            try await hall.consentResponse(attestation: try await hall.attest(purpose: "holder_session")).expectProblem(422, "nonce_invalid")
            try await hall.consentResponse(attestation: try await hall.attest(purpose: "agent_grant")).expectProblem(422, "nonce_invalid")
            #expect(try await hall.consentResponse(attestation: try await hall.attest(purpose: "consent")).status == .created)
            try await client.call(.post, "/v1/face-auth/challenges", token: hall.app, json: #"{"subject":"\#(Sample.person)","purpose":"login"}"#)
                .expectProblem(422, "validation_failed")
            // An agent grant needs a nonce asked for one.
            #expect(try await client.importLicence(Sample.businessLicence(), token: hall.issuer).status == .created)
            try await client.call(.post, "/v1/enterprises/\(Sample.enterprise)/agents", token: hall.app, json: #"""
                {"agent":"\#(Sample.person)","attestation":"\#(try await hall.attest(Sample.otherPerson))","valid_until":"\#(Sample.agentUntil)"}
                """#).expectProblem(422, "nonce_invalid")
        }
    }

    @Test func aRevokedProvidersAttestationsAreRefused() async throws {
        let server = try TestServer()
        try await server.test { client in
            let hall = try await Hall.open(client)
            let kid = CryptoSuite.keyID(of: hall.provider.verifier)
            let before = try await hall.attest()
            #expect(try await client.call(.delete, "/v1/face-auth/providers/\(kid)", token: hall.app).status == .forbidden)
            #expect(try await client.call(.delete, "/v1/face-auth/providers/\(kid)").status == .noContent)
            #expect(try await client.call(.delete, "/v1/face-auth/providers/\(kid)").status == .noContent)  // idempotent
            try await client.call(.delete, "/v1/face-auth/providers/nope").expectProblem(404, "not_found")
            try await hall.consentResponse(attestation: before).expectProblem(422, "attestation_invalid")
            try await hall.consentResponse(attestation: try await hall.attest()).expectProblem(422, "attestation_invalid")
            let listed = try #require(try await client.call(.get, "/v1/face-auth/providers").json()["providers"] as? [[String: Any]])
            #expect(listed.first?["status"] as? String == "revoked")
            #expect(listed.first?["revoked_at"] is String)
        }
        let revoked = try await server.backend.transactions.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_records WHERE action = 'face_auth_provider.revoked'")
        }
        #expect(revoked == 1)
    }

    /// A consent's signature is checked ahead of its write unit; the provider's liveness is
    /// checked again inside it, where revocations commit.
    @Test func anAttestationCheckedAheadIsRefusedIfItsProviderIsRevokedBeforeItsUnit() async throws {
        let server = try TestServer()
        try await server.test { client in
            let hall = try await Hall.open(client)
            let faceAuth = server.backend.services.faceAuth
            let signed = await faceAuth.signed(try await hall.attest())
            let subject = try CitizenID(Sample.person)
            let unit = { try await server.backend.transactions.unit { db in
                try faceAuth.verify(signed, subject: subject, purpose: .consent, clientID: "cli_none", db)
            } }
            // Live: the checks go on to the nonce (asked by another client than this one).
            let live = await #expect(throws: MSBError.self) { try await unit() }
            #expect(live?.code == "nonce_invalid")
            #expect(try await client.call(.delete, "/v1/face-auth/providers/\(CryptoSuite.keyID(of: hall.provider.verifier))").status == .noContent)
            let revoked = await #expect(throws: MSBError.self) { try await unit() }
            #expect(revoked?.code == "attestation_invalid")
        }
    }
}

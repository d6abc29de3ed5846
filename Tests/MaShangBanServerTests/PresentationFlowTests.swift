import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
@testable import MaShangBan
import Testing
@testable import MaShangBanServer
import MaShangBanTestSupport

@Suite("一码出示: challenge → attestation → consent → code → scan")
struct PresentationFlowTests {
    @Test(arguments: CryptoProfile.allCases)
    func theWholePathOverHTTP(crypto: CryptoProfile) async throws {
        let server = try TestServer { $0.crypto = crypto }
        let submission = try await server.test { client in
            let hall = try await Hall.open(client, providerAlgorithm: crypto)
            let consent = try await hall.consent()
            let code = try await hall.present(consent)
            let response = try await hall.scan(code.token)
            #expect(response.status == .created, "\(response.text)")
            let view = try response.json()
            #expect(view["item"] as? String == "sb-transfer")
            #expect(view["approval_system"] as? String == "hr-social-security")
            #expect(view["agent"] is NSNull)
            let holder = try #require(view["holder"] as? [String: Any])
            #expect(holder["id"] as? String == "430***********1235")
            #expect(holder["name"] as? String == "王*静")
            let licences = try #require(view["licences"] as? [[String: Any]])
            #expect(Set(licences.compactMap { $0["type"] as? String }) == ["resident_id_card", "social_security_card"])
            #expect((view["delivery"] as? [String: Any])?["status"] as? String == "pending")
            // The window sees masked data only.
            #expect(!response.text.contains(Sample.person))
            #expect(!response.text.contains("6222020200112233445"))
            #expect(!response.text.contains("解放大道"))
            return try #require(view["submission"] as? String)
        }
        // The submission and its outbox row were written; the frozen body follows the item's policy.
        let body = try await server.backend.transactions.pool.read { db in
            try Submissions.body(of: submission, vault: server.backend.vault, db)
        }
        let text = try #require(body)
        // Sealed without its audit record, which is added when it is read: RFC 8785 form, the same bytes every time.
        #expect(JSONValue.parse(Array(text.utf8))?.canonicalString == text)
        #expect(try await server.backend.transactions.pool.read { db in try Submissions.body(of: submission, vault: server.backend.vault, db) }
            == text)
        let frozen = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect((frozen["holder"] as? [String: Any])?["id"] as? String == Sample.person, "holder.id: full")
        let sent = try #require(frozen["licences"] as? [[String: Any]])
        let card = try #require(sent.first { $0["type"] as? String == "social_security_card" })
        #expect((card["fields"] as? [String: Any])?["card_number"] as? String == "***************3445", "masked")
        #expect(card["number"] == nil, "not listed: omitted")
        let idCard = try #require(sent.first { $0["type"] as? String == "resident_id_card" })
        #expect((idCard["fields"] as? [String: String]) == ["name": "王一静", "id_number": Sample.person])
        let audit = try #require(frozen["audit"] as? [String: Any])
        let seq = audit["seq"] as? Int
        let record = try await server.backend.transactions.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT action, hash FROM audit_records WHERE seq = ?", arguments: [seq])
                .map { [$0["action"] as String, $0["hash"] as String] }
        }
        #expect(record == ["scan.accepted", try #require(audit["hash"] as? String)])
        // A body sealed with its audit member (before it was added on reading) is sent as it was sealed.
        let older = #"{"audit":{"hash":"00","seq":1},"submission":"\#(submission)"}"#
        let vault = server.backend.vault
        try await server.backend.transactions.pool.write { db in
            try db.execute(sql: "UPDATE outbox SET body_box = ? WHERE submission_id = ?",
                           arguments: [Data(try vault.seal(older, context: Submissions.bodyContext(submission))), submission])
        }
        #expect(try await server.backend.transactions.pool.read { db in try Submissions.body(of: submission, vault: vault, db) } == older)
        let status = try await server.backend.transactions.pool.read { db in
            try String.fetchOne(db, sql: "SELECT status FROM submissions WHERE id = ?", arguments: [submission])
        }
        #expect(status == "pending")
        // Every step is in the audit log, and nothing personal is.
        let actions = try await server.backend.transactions.pool.read { db in try AuditStore.records(after: 0, limit: 1000, db) }
        #expect(Set(actions.map(\.action)).isSuperset(of: ["face_auth.challenged", "consent.granted", "presentation.issued", "scan.accepted"]))
        let everything = actions.map { $0.actor + $0.object + $0.detailJSON }.joined()
        #expect(!everything.contains(Sample.person))
        #expect(try AuditVerifier.verify(dataDirectory: DataDirectory(server.directory.url)).ok)
    }

    @Test func theTokenIsSmallSignedAndCarriesNoPersonalData() async throws {
        let server = try TestServer()
        try await server.test { client in
            let hall = try await Hall.open(client)
            let code = try await hall.present(try await hall.consent())
            #expect(code.token.utf8.count <= 300)
            let parsed = try JWS.verify(code.token) { server.backend.keyring.verifier(kid: $0) }
            #expect(parsed.header["alg"] == "EdDSA")
            #expect(parsed.header["kid"] == .string(server.backend.keyring.active.kid))
            let payload = parsed.payload
            #expect(Set(payload.keys) == ["iss", "typ", "jti", "iat", "exp", "aud"])
            #expect(payload["iss"] == "430400")
            #expect(payload["typ"] == "present")
            #expect(payload["aud"] == .string(Hall.hall))
            let jti = try #require(payload["jti"]?.stringValue)
            #expect((Encoding.fromBase64URL(Substring(jti))?.count ?? 0) >= 16)
            #expect((payload["exp"]?.intValue ?? 0) - (payload["iat"]?.intValue ?? 0) == 120)
            #expect(!code.token.contains(Sample.person))
        }
    }

    /// A code is signed before the writer's turn from what `RecentConsents` remembers of its
    /// consent; the writer keeps that token only if the stored consent says the same.
    @Test func codesSignedEarlySayWhatTheStoredConsentSays() async throws {
        let server = try TestServer()
        let recent = server.backend.services.presentations.recentConsents
        try await server.test { client in
            let hall = try await Hall.open(client)
            let claims = { (token: String) in
                try JWS.verify(token) { server.backend.keyring.verifier(kid: $0) }.claims(QRToken.self)
            }
            // Granted here, so remembered: the code is signed early, and its consent (60 s)
            // ends before the code's usual 120 s.
            let consent = try await hall.consent(ttl: 60)
            let facts = try #require(recent.facts(consent))
            #expect(facts.hall == Hall.hall)
            let early = try claims(try await hall.present(consent).token)
            #expect(early.aud == Hall.hall)
            #expect(early.exp == Int64(facts.expiresAt.timeIntervalSince1970))

            // Facts that disagree with the stored consent (another hall, a later end) are
            // signed early, found wrong by the writer, and signed again from the stored consent.
            let other = try await hall.consent(ttl: 60)
            let stored = try #require(recent.facts(other))
            recent.remember(Consent(id: other, clientID: stored.clientID, holderKind: .person, holderRef: "", agentRef: nil, item: nil,
                                    hall: "ELSEWHERE", licenceIDs: [], createdAt: Timestamp(stored: ""), expiresAt: Timestamp(stored: "2099-01-01T00:00:00Z"),
                                    withdrawn: false))
            #expect(recent.facts(other)?.hall == "ELSEWHERE")
            let code = try await hall.present(other)
            let resigned = try claims(code.token)
            #expect(resigned.aud == Hall.hall)
            #expect(resigned.exp == Int64(stored.expiresAt.timeIntervalSince1970))
            #expect(try await hall.scan(code.token).status == .created)

            // The writer remembered what it found.
            #expect(recent.facts(other) == stored)

            // A consent no longer remembered (pushed out by newer ones, or made before a
            // restart) gets its code signed by the writer, and is remembered again.
            let third = try await hall.consent()
            for i in 0..<(2 * RecentConsents.capacity) {
                recent.remember(Consent(id: "con_filler\(i)", clientID: stored.clientID, holderKind: .person, holderRef: "", agentRef: nil,
                                        item: nil, hall: nil, licenceIDs: [], createdAt: Timestamp(stored: ""),
                                        expiresAt: Timestamp(stored: "2099-01-01T00:00:00Z"), withdrawn: false))
            }
            #expect(recent.facts(third) == nil)
            let fromWriter = try claims(try await hall.present(third).token)
            #expect(fromWriter.aud == Hall.hall)
            #expect(recent.facts(third)?.hall == Hall.hall)
        }
    }

    @Test func ofTwentyConcurrentScansOfOneCodeExactlyOneWins() async throws {
        let server = try TestServer()
        try await server.test(.live) { client in
            let hall = try await Hall.open(client)
            let code = try await hall.present(try await hall.consent())
            let statuses = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        let response = try await hall.scan(code.token)
                        return (Int(response.status.code), (try? response.json()["code"] as? String) ?? "")
                    }
                }
                var all: [(Int, String)] = []
                for try await status in group { all.append(status) }
                return all
            }
            #expect(statuses.filter { $0.0 == 201 }.count == 1)
            #expect(statuses.filter { $0 == (409, "token_used") }.count == 19)
        }
        let submissions = try await server.backend.transactions.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM submissions") }
        #expect(submissions == 1)
    }

    @Test(.enabled(if: Tool.zbarimg.isInstalled, "needs zbarimg (Debian package zbar-tools; make test installs it)")) func theQRImagesHoldTheToken() async throws {
        let server = try TestServer()
        try await server.test { client in
            let hall = try await Hall.open(client)
            let code = try await hall.present(try await hall.consent())
            let png = try await client.call(.get, "/v1/presentations/\(code.id)/qr.png", token: hall.app)
            #expect(png.status == .ok)
            #expect(png.headers[.contentType] == "image/png")
            let file = server.directory.url.appendingPathComponent("qr.png")
            try Data(png.body.readableBytesView).write(to: file)
            let decoded = try runProcess(URL(fileURLWithPath: Tool.zbarimg.path ?? "/usr/bin/zbarimg"), ["-q", "--raw", file.path])
            #expect(decoded.status == 0)
            #expect(decoded.out.trimmingCharacters(in: .whitespacesAndNewlines) == code.token)
            let svg = try await client.call(.get, "/v1/presentations/\(code.id)/qr.svg", token: hall.app)
            #expect(svg.headers[.contentType] == "image/svg+xml")
            #expect(svg.text.hasPrefix("<svg") && svg.text.contains("<path d=\"M"))
            // Another app backend cannot see it.
            let other = try await client.createClient(role: "app").token
            try await client.call(.get, "/v1/presentations/\(code.id)/qr.png", token: other).expectProblem(404, "not_found")
            // The database keeps only the token's hash.
            let stored = try await server.backend.transactions.pool.read { db in
                try String.fetchOne(db, sql: "SELECT token_hash FROM presentations WHERE id = ?", arguments: [code.id])
            }
            #expect(stored == Encoding.hex(SHA256Hashing().hash(Array(code.token.utf8))))
        }
        // Another server process on the same data (a restart) has no live token to draw: a new code is needed.
        let restarted = try Backend.open(server.configuration.backendOptions(logger: server.logger))
        let code = try #require(try await restarted.transactions.pool.read { db in try String.fetchOne(db, sql: "SELECT id FROM presentations") })
        let app = try #require(try await restarted.services.clients.list().clients.first { $0.role == .app })
        await #expect(throws: MSBError.notFound("no such code, or its image is no longer available; issue a new code")) {
            try await restarted.services.presentations.token(id: code, client: app)
        }
    }
}

@Suite("Face-auth attestations and consents: every refusal")
struct ConsentRuleTests {
    @Test func attestationRefusals() async throws {
        let clock = ManualClock()
        let server = try TestServer(now: clock.now)
        try await server.test { client in
            let hall = try await Hall.open(client, now: clock.now)
            let stranger = try CryptoSuite(profile: .intl).signatures.generate()
            // Signed by a key that is not the registered provider's (same kid).
            try await hall.consentResponse(attestation: try await hall.attest(signer: stranger)).expectProblem(422, "attestation_invalid")
            // Names no registered provider.
            let nonce = try #require(try await client.call(.post, "/v1/face-auth/challenges", token: hall.app,
                                                           json: #"{"subject":"\#(Sample.person)"}"#).json()["nonce"] as? String)
            let unknown = try FaceAuth.attestation(FaceAuth.Claims(sub: Sample.person, nonce: nonce, result: "pass", score: 0.9,
                                                                   iat: Int64(clock.now().timeIntervalSince1970)), signer: stranger)
            try await hall.consentResponse(attestation: unknown).expectProblem(422, "attestation_invalid")
            try await hall.consentResponse(attestation: "not.a.jws").expectProblem(422, "attestation_invalid")
            // The person seen is someone else.
            try await hall.consentResponse(attestation: try await hall.attest(seen: Sample.otherPerson)).expectProblem(422, "attestation_invalid")
            // Made too long ago.
            let stale = Int64(clock.now().timeIntervalSince1970) - 121
            try await hall.consentResponse(attestation: try await hall.attest(iat: stale)).expectProblem(422, "attestation_invalid")
            // Face recognition failed, or scored under 0.80.
            try await hall.consentResponse(attestation: try await hall.attest(result: "fail")).expectProblem(403, "face_auth_failed")
            try await hall.consentResponse(attestation: try await hall.attest(score: 0.79)).expectProblem(403, "face_auth_failed")
        }
    }

    @Test func nonceRefusals() async throws {
        let clock = ManualClock()
        let server = try TestServer(now: clock.now)
        try await server.test { client in
            let hall = try await Hall.open(client, now: clock.now)
            let now = Int64(clock.now().timeIntervalSince1970)
            func signed(_ nonce: String, sub: String = Sample.person) throws -> String {
                try FaceAuth.attestation(FaceAuth.Claims(sub: sub, nonce: nonce, result: "pass", score: 0.9, iat: now), signer: hall.provider)
            }
            try await hall.consentResponse(attestation: try signed("never-issued")).expectProblem(422, "nonce_invalid")
            // A nonce issued for another person.
            let other = try #require(try await client.call(.post, "/v1/face-auth/challenges", token: hall.app,
                                                         json: #"{"subject":"\#(Sample.otherPerson)"}"#).json()["nonce"] as? String)
            try await hall.consentResponse(attestation: try signed(other)).expectProblem(422, "nonce_invalid")
            // Used once, refused the second time.
            let attestation = try await hall.attest()
            #expect(try await hall.consentResponse(attestation: attestation).status == .created)
            try await hall.consentResponse(attestation: attestation).expectProblem(422, "nonce_invalid")
            // Expired after 120 s.
            let late = try await hall.attest()
            clock.advance(121)
            let fresh = try FaceAuth.attestation(
                try JWS.parse(late).claims(FaceAuth.Claims.self).with(iat: Int64(clock.now().timeIntervalSince1970)), signer: hall.provider)
            try await hall.consentResponse(attestation: fresh).expectProblem(422, "nonce_invalid")
            // A challenge needs a valid citizen ID.
            try await client.call(.post, "/v1/face-auth/challenges", token: hall.app, json: #"{"subject":"430405198501011234"}"#)
                .expectProblem(422, "invalid_citizen_id")
        }
    }

    @Test func consentRefusals() async throws {
        let clock = ManualClock()
        let server = try TestServer(now: clock.now)
        try await server.test { client in
            let hall = try await Hall.open(client, now: clock.now)
            try await hall.consentResponse(attestation: try await hall.attest(), licences: ["lic_nope"]).expectProblem(422, "licence_not_in_wallet")
            try await hall.consentResponse(attestation: try await hall.attest(), item: "no-such-item").expectProblem(404, "item_unknown")
            try await hall.consentResponse(attestation: try await hall.attest(), ttl: 5000).expectProblem(422, "validation_failed")
            try await hall.consentResponse(attestation: try await hall.attest(), ttl: 59).expectProblem(422, "validation_failed")
            try await hall.consentResponse(attestation: try await hall.attest(), hall: "a-hall-code-longer-than-16").expectProblem(422, "validation_failed")
            try await hall.consentResponse(agent: Sample.otherPerson, attestation: try await hall.attest()).expectProblem(422, "validation_failed")
            try await hall.consentResponse(attestation: try await hall.attest(), licences: []).expectProblem(422, "validation_failed")
            try await client.call(.post, "/v1/consents", token: hall.app, json: #"{"holder":1}"#).expectProblem(400, "bad_request")
            // Only the app backend grants consents.
            try await client.call(.post, "/v1/consents", token: hall.terminal, json: "{}").expectProblem(403, "forbidden")
            // A revoked licence cannot be consented to; nor an expired one.
            let revoked = try await client.call(.post, "/v1/licences/\(hall.licences[1])/revoke", token: hall.issuer, json: #"{"reason":"lost"}"#)
            #expect(revoked.status == .ok)
            try await hall.consentResponse(attestation: try await hall.attest()).expectProblem(409, "licence_revoked")
            clock.advance(20 * 366 * 86_400)  // past the ID card's valid_until (2040-01-01)
            try await hall.consentResponse(attestation: try await hall.attest(), licences: [hall.licences[0]])
                .expectProblem(409, "licence_expired")
        }
    }

    /// The hot routes read compact bodies of strings without JSONDecoder: a body in any
    /// other JSON form is read the same, and a wrong one gets the same 400 either way.
    @Test func scanBodiesInAnyJSONFormAreReadAlike() async throws {
        let server = try TestServer()
        try await server.test { client in
            let hall = try await Hall.open(client)
            let consent = try await hall.consent()
            let spaced = try await hall.present(consent)
            let body = "{ \"note\": [1, {\"a\": null}],\n \"item\" : \"\(Hall.item)\", \"token\":\"\(spaced.token)\" }\n"
            let read = try await client.call(.post, "/v1/scans", token: hall.terminal, json: body)
            #expect(read.status == .created, "\(read.text)")
            // An escape (every token has its dots written as \u002e here) and an unknown member
            // take the compact reader's way.
            let escaped = try await hall.present(consent)
            let compact = try await client.call(.post, "/v1/scans", token: hall.terminal,
                                                json: #"{"x":"y","item":"\#(Hall.item)","token":"\#(escaped.token.replacingOccurrences(of: ".", with: "\\u002e"))"}"#)
            #expect(compact.status == .created, "\(compact.text)")
            for wrong in [#"{"token":"t"}"#, #"{"token":1,"item":"x"}"#, #"{"token":"t","item":null}"#, #"["t"]"#, #"{"token":"t","item":"x""#] {
                let answer = try await client.call(.post, "/v1/scans", token: hall.terminal, json: wrong)
                try answer.expectProblem(400, "bad_request")
            }
            let missing = try await client.call(.post, "/v1/scans", token: hall.terminal, json: #"{"token":"t"}"#).json()
            #expect((missing["detail"] as? String)?.contains("item") == true, "\(missing)")
        }
    }

    @Test func consentsAreWithdrawnByTheirOwnAppOnly() async throws {
        let server = try TestServer()
        try await server.test { client in
            let hall = try await Hall.open(client)
            let consent = try await hall.consent()
            let code = try await hall.present(consent)
            let other = try await client.createClient(role: "app").token
            try await client.call(.delete, "/v1/consents/\(consent)", token: other).expectProblem(404, "not_found")
            try await hall.presentResponse(consent, token: other).expectProblem(404, "not_found")
            #expect(try await client.call(.delete, "/v1/consents/\(consent)", token: hall.app).status == .noContent)
            #expect(try await client.call(.delete, "/v1/consents/\(consent)", token: hall.app).status == .noContent)
            // Its code died with it; no new one can be made.
            try await hall.scan(code.token).expectProblem(410, "token_revoked")
            try await hall.presentResponse(consent).expectProblem(410, "consent_withdrawn")
        }
    }
}

@Suite("Scans at the window: every refusal has its status and code")
struct ScanRuleTests {
    @Test func tokenRefusals() async throws {
        let clock = ManualClock()
        let server = try TestServer(now: clock.now)
        try await server.test { client in
            let hall = try await Hall.open(client, now: clock.now)
            try await hall.scan("garbage").expectProblem(422, "token_invalid")
            // Signed by a key we do not know, by our key with the wrong typ or iss, or relabelled.
            let stranger = try CryptoSuite(profile: .intl).signatures.generate()
            let instant = clock.now()
            let claims = QRToken.make(kind: .present, region: "430400", hall: nil, issuedAt: instant,
                                      expiresAt: instant.addingTimeInterval(120), random: SystemRandom())
            try await hall.scan(try claims.signed(with: SigningKey(kid: "unknown", signer: stranger))).expectProblem(422, "token_invalid")
            let window = QRToken.make(kind: .window, region: "430400", hall: nil, issuedAt: instant, expiresAt: instant.addingTimeInterval(120),
                                      random: SystemRandom())
            try await hall.scan(try window.signed(with: server.backend.keyring.active)).expectProblem(422, "token_invalid")
            let elsewhere = QRToken.make(kind: .present, region: "110000", hall: nil, issuedAt: instant,
                                         expiresAt: instant.addingTimeInterval(120), random: SystemRandom())
            try await hall.scan(try elsewhere.signed(with: server.backend.keyring.active)).expectProblem(422, "token_invalid")
            // Signed by us, well-formed, but never issued.
            try await hall.scan(try claims.signed(with: server.backend.keyring.active)).expectProblem(422, "token_invalid")
            // Expired: accepted up to exp + 5 s, refused after.
            let consent = try await hall.consent(ttl: 1800)
            let late = try await hall.present(consent)
            clock.advance(126)
            try await hall.scan(late.token).expectProblem(410, "token_expired")
            let onTime = try await hall.present(consent)
            clock.advance(124)
            #expect(try await hall.scan(onTime.token).status == .created)
            try await hall.scan(onTime.token).expectProblem(409, "token_used")
            // A newer code revokes the older unscanned one; a cancelled code is revoked too.
            let first = try await hall.present(consent)
            let second = try await hall.present(consent)
            try await hall.scan(first.token).expectProblem(410, "token_revoked")
            #expect(try await client.call(.delete, "/v1/presentations/\(second.id)", token: hall.app).status == .noContent)
            try await hall.scan(second.token).expectProblem(410, "token_revoked")
        }
    }

    /// A scanned code equal to its record (the hash kept when it was issued) is taken as
    /// signed; anything else is verified, and refused or taken as the signature says.
    @Test(arguments: CryptoProfile.allCases)
    func aCodeIsRecognisedByItsRecordAndAnythingElseIsVerified(crypto: CryptoProfile) async throws {
        let server = try TestServer { $0.crypto = crypto }
        try await server.test { client in
            let hall = try await Hall.open(client, providerAlgorithm: crypto)
            let consent = try await hall.consent(ttl: 1800)
            let setHash = { (id: String, hash: String) in
                try await server.backend.transactions.pool.write { db in
                    try db.execute(sql: "UPDATE presentations SET token_hash = ? WHERE id = ?", arguments: [hash, id])
                }
            }
            // Another signature on the same claims: refused as before, and the code stays usable.
            let code = try await hall.present(consent)
            let forged = Self.resigned(code.token)
            try await hall.scan(forged).expectProblem(422, "token_invalid")
            let refusal = try await server.backend.transactions.pool.read { db in
                try AuditStore.records(after: 0, limit: 10_000, db).last { $0.action == "scan.rejected" }
            }
            #expect(refusal?.object == "token:unreadable")
            #expect(try await hall.scan(code.token).status == .created)
            // A code whose record has no hash (issued before it was kept) is verified, and taken.
            let older = try await hall.present(consent)
            try await setHash(older.id, "")
            #expect(try await hall.scan(older.token).status == .created)
            // The record stands for the signature: a token equal to it is taken unverified.
            let recorded = try await hall.present(consent)
            let unsigned = Self.resigned(recorded.token)
            try await setHash(recorded.id, Presentations.tokenHash(unsigned, suite: server.backend.suite))
            #expect(try await hall.scan(unsigned).status == .created)
            try await hall.scan(recorded.token).expectProblem(409, "token_used")
        }
    }

    /// `token` with its signature's first byte changed.
    static func resigned(_ token: String) -> String {
        var parts = token.split(separator: ".").map(String.init)
        var signature = Encoding.fromBase64URL(parts[2]) ?? []
        signature[0] ^= 0x55
        parts[2] = Encoding.base64URL(signature)
        return parts.joined(separator: ".")
    }

    @Test func consentAndItemRefusals() async throws {
        let clock = ManualClock()
        let server = try TestServer(now: clock.now)
        try await server.test { client in
            let hall = try await Hall.open(client, now: clock.now)
            // Another hall's window.
            let elsewhere = try await client.createClient(role: "terminal", hall: "HY-YF-02").token
            let code = try await hall.present(try await hall.consent())
            try await hall.scan(code.token, terminal: elsewhere).expectProblem(403, "wrong_hall")
            try await hall.scan(code.token, item: "no-such-item").expectProblem(404, "item_unknown")
            // The refusals above left the code usable.
            #expect(try await hall.scan(code.token).status == .created)
            // A consent for another item; a consent whose licences do not cover the item.
            #expect(try await client.call(.post, "/v1/items", json: #"""
                {"code":"id-only","name":"身份核验","approval_system":"hr-social-security","required":["resident_id_card"]}
                """#).status == .created)
            let idOnly = try await hall.present(try await hall.consent(item: "id-only"))
            try await hall.scan(idOnly.token).expectProblem(403, "consent_scope")
            let narrow = try await hall.consentResponse(attestation: try await hall.attest(), licences: [hall.licences[0]], item: nil)
            let narrowCode = try await hall.present(try #require(try narrow.json()["id"] as? String))
            try await hall.scan(narrowCode.token).expectProblem(403, "consent_scope")
            #expect(try await hall.scan(narrowCode.token, item: "id-only").status == .created)
            // The consent ran out while its code was still in its 5 s of grace.
            let short = try await hall.consent(ttl: 60)
            let shortCode = try await hall.present(short)
            clock.advance(62)
            try await hall.scan(shortCode.token).expectProblem(403, "consent_expired")
            // A licence revoked after the code was made.
            let code2 = try await hall.present(try await hall.consent())
            #expect(try await client.call(.post, "/v1/licences/\(hall.licences[0])/revoke", token: hall.issuer,
                                          json: #"{"reason":"replaced"}"#).status == .ok)
            try await hall.scan(code2.token).expectProblem(409, "licence_revoked")
            // Only terminals scan.
            try await hall.scan(code2.token, terminal: hall.app).expectProblem(403, "forbidden")
        }
        // Each refusal is audited with its code and counted; none holds personal data.
        let rejected = try await server.backend.transactions.pool.read { db in
            try String.fetchAll(db, sql: "SELECT json_extract(detail, '$.code') FROM audit_records WHERE action = 'scan.rejected' ORDER BY seq")
        }
        #expect(rejected == ["wrong_hall", "item_unknown", "consent_scope", "consent_scope", "consent_expired", "licence_revoked"])
        let statsBody = try await server.test { client in Data(try await client.call(.get, "/v1/stats").body.readableBytesView) }
        let stats = try #require(try JSONSerialization.jsonObject(with: statsBody) as? [String: Any])
        let scans = try #require(stats["scans"] as? [String: Any])
        #expect(scans["accepted"] as? Int == 2)
        #expect((scans["rejected"] as? [String: Int]) == ["wrong_hall": 1, "item_unknown": 1, "consent_scope": 2, "consent_expired": 1,
                                                          "licence_revoked": 1])
        let perItem = try #require((stats["items"] as? [String: Any])?["sb-transfer"] as? [String: Any])
        #expect((perItem["submissions"] as? [String: Int])?["pending"] == 1)
        // Accepted scans are counted from their submissions, refused ones from `scans`.
        #expect((perItem["scans"] as? [String: Any])?["accepted"] as? Int == 1)
        #expect(((perItem["scans"] as? [String: Any])?["rejected"] as? [String: Int])?["licence_revoked"] == 1)
        #expect((stats["presentations"] as? [String: Int])?["scanned"] == 2)
    }
}

@Suite("Enterprise agents (经办人)")
struct AgentTests {
    @Test func anAuthorisedAgentPresentsTheEnterprisesLicences() async throws {
        let server = try TestServer()
        try await server.test { client in
            let hall = try await Hall.open(client)
            let path = "/v1/enterprises/\(Sample.enterprise)/agents"
            let agent = Sample.person
            let representative = Sample.otherPerson  // the business licence's legal_representative_id
            // No business licence yet.
            try await client.call(.post, path, token: hall.app, json: #"""
                {"agent":"\#(agent)","attestation":"\#(try await hall.attest(representative, purpose: "agent_grant"))","valid_until":"\#(Sample.agentUntil)"}
                """#).expectProblem(422, "business_licence_missing")
            #expect(try await client.importLicence(Sample.businessLicence(), token: hall.issuer).status == .created)
            let synced = try await client.call(.post, "/v1/holders/\(Sample.enterprise)/wallet/sync", token: hall.app,
                                              headers: try await hall.session(for: Sample.otherPerson)).json()
            let licence = try #require((synced["added"] as? [String])?.first)
            #expect(try await client.call(.post, "/v1/items", json: #"""
                {"code":"bl-check","name":"营业执照核验","approval_system":"hr-social-security","required":["business_licence"],
                 "fields":{"business_licence.enterprise_name":"full","agent.id":"masked"}}
                """#).status == .created)
            // Not authorised yet.
            try await hall.consentResponse(holder: Sample.enterprise, agent: agent, attestation: try await hall.attest(agent),
                                           licences: [licence], item: "bl-check").expectProblem(403, "agent_not_authorized")
            // Only the legal representative's own face authorises.
            try await client.call(.post, path, token: hall.app, json: #"""
                {"agent":"\#(agent)","attestation":"\#(try await hall.attest(agent, purpose: "agent_grant"))","valid_until":"\#(Sample.agentUntil)"}
                """#).expectProblem(422, "attestation_invalid")
            try await client.call(.post, path, token: hall.app, json: #"""
                {"agent":"\#(agent)","attestation":"\#(try await hall.attest(representative, purpose: "agent_grant"))","valid_until":"2001-01-01"}
                """#).expectProblem(422, "validation_failed")
            let authorised = try await client.call(.post, path, token: hall.app, json: #"""
                {"agent":"\#(agent)","attestation":"\#(try await hall.attest(representative, purpose: "agent_grant"))","valid_until":"\#(Sample.agentUntil)"}
                """#)
            #expect(authorised.status == .created, "\(authorised.text)")
            // The enterprise needs an agent; the agent's face is the one checked.
            try await hall.consentResponse(holder: Sample.enterprise, attestation: try await hall.attest(agent), licences: [licence],
                                           item: "bl-check").expectProblem(422, "validation_failed")
            try await hall.consentResponse(holder: Sample.enterprise, agent: agent, attestation: try await hall.attest(representative),
                                           licences: [licence], item: "bl-check").expectProblem(422, "attestation_invalid")
            let consent = try await hall.consentResponse(holder: Sample.enterprise, agent: agent, attestation: try await hall.attest(agent),
                                                         licences: [licence], item: "bl-check")
            #expect(consent.status == .created, "\(consent.text)")
            let consentID = try #require(try consent.json()["id"] as? String)
            let code = try await hall.present(consentID)
            let scanned = try await hall.scan(code.token, item: "bl-check")
            #expect(scanned.status == .created, "\(scanned.text)")
            let view = try scanned.json()
            #expect((view["agent"] as? [String: Any])?["id"] as? String == "430***********1235")
            #expect((view["holder"] as? [String: Any])?["name"] as? String == "衡阳市湘江建设有限公司")
            // Withdrawal ends the agent's consents and their codes.
            let later = try await hall.present(consentID)
            try await client.call(.delete, "\(path)/\(agent)", token: hall.app).expectProblem(401, "holder_session_required")
            // The agent's own session acts for the enterprise while the authorisation lives.
            let agentSession = try await hall.session(for: agent)
            #expect(try await client.call(.delete, "\(path)/\(agent)", token: hall.app, headers: agentSession).status == .noContent)
            try await client.call(.delete, "\(path)/\(agent)", token: hall.app, headers: agentSession).expectProblem(403, "holder_session_mismatch")
            try await client.call(.delete, "\(path)/\(agent)", token: hall.app, headers: try await hall.session(for: representative))
                .expectProblem(404, "not_found")
            try await hall.scan(later.token, item: "bl-check").expectProblem(410, "token_revoked")
            try await hall.consentResponse(holder: Sample.enterprise, agent: agent, attestation: try await hall.attest(agent),
                                           licences: [licence], item: "bl-check").expectProblem(403, "agent_not_authorized")
            try await client.call(.post, "/v1/enterprises/91430400MA4L0XXX17/agents", token: hall.app, json: "{}")
                .expectProblem(400, "bad_request")
            try await client.call(.delete, "/v1/enterprises/91430400MA4L0XXX17/agents/\(agent)", token: hall.app, headers: hall.holder)
                .expectProblem(422, "invalid_credit_code")
        }
        let actions = try await server.backend.transactions.pool.read { db in
            try String.fetchAll(db, sql: "SELECT action FROM audit_records WHERE action LIKE 'agent.%' ORDER BY seq")
        }
        #expect(actions == ["agent.authorised", "agent.withdrawn"])
    }
}

extension AgentTests {
    @Test func anAuthorisationEndsWithItsValidUntilDay() async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_000))  // 2027-01-15
        let server = try TestServer(now: clock.now)
        try await server.test { client in
            let hall = try await Hall.open(client, now: clock.now)
            #expect(try await client.importLicence(Sample.businessLicence(), token: hall.issuer).status == .created)
            let synced = try await client.call(.post, "/v1/holders/\(Sample.enterprise)/wallet/sync", token: hall.app,
                                              headers: try await hall.session(for: Sample.otherPerson)).json()
            let licence = try #require((synced["added"] as? [String])?.first)
            let authorised = try await client.call(.post, "/v1/enterprises/\(Sample.enterprise)/agents", token: hall.app, json: #"""
                {"agent":"\#(Sample.person)","attestation":"\#(try await hall.attest(Sample.otherPerson, purpose: "agent_grant"))","valid_until":"2027-01-16"}
                """#)
            #expect(authorised.status == .created, "\(authorised.text)")
            let consent = { () async throws -> TestResponse in
                try await hall.consentResponse(holder: Sample.enterprise, agent: Sample.person, attestation: try await hall.attest(),
                                               licences: [licence], item: nil, hall: nil)
            }
            #expect(try await consent().status == .created)
            clock.advance(2 * 86_400)  // 2027-01-17: the authorisation ended with the 16th
            try await consent().expectProblem(403, "agent_not_authorized")
        }
    }
}

extension AgentTests {
    /// A new legal representative on the business licence ends the grants the old one made,
    /// with the agents' live consents and unscanned codes, in the same transaction.
    @Test func aNewLegalRepresentativeEndsTheOldOnesGrants() async throws {
        let server = try TestServer()
        try await server.test { client in
            let hall = try await Hall.open(client)
            #expect(try await client.importLicence(Sample.businessLicence(), token: hall.issuer).status == .created)
            let synced = try await client.call(.post, "/v1/holders/\(Sample.enterprise)/wallet/sync", token: hall.app,
                                              headers: try await hall.session(for: Sample.otherPerson)).json()
            let licence = try #require((synced["added"] as? [String])?.first)
            let authorised = try await client.call(.post, "/v1/enterprises/\(Sample.enterprise)/agents", token: hall.app, json: #"""
                {"agent":"\#(Sample.person)","attestation":"\#(try await hall.attest(Sample.otherPerson, purpose: "agent_grant"))","valid_until":"\#(Sample.agentUntil)"}
                """#)
            #expect(authorised.status == .created, "\(authorised.text)")
            let consent = try await hall.consentResponse(holder: Sample.enterprise, agent: Sample.person, attestation: try await hall.attest(),
                                                         licences: [licence], item: nil, hall: nil)
            let code = try await hall.present(try #require(try consent.json()["id"] as? String))
            // The enterprise's legal representative changes to the agent herself.
            let changed = try await client.importLicence(Sample.businessLicence(representative: Sample.person), token: hall.issuer)
            #expect(changed.status == .ok, "\(changed.text)")
            try await hall.scan(code.token).expectProblem(410, "token_revoked")
            try await hall.consentResponse(holder: Sample.enterprise, agent: Sample.person, attestation: try await hall.attest(),
                                           licences: [licence], item: nil, hall: nil).expectProblem(403, "agent_not_authorized")
            // The old representative's face no longer authorises; the new one's does.
            try await client.call(.post, "/v1/enterprises/\(Sample.enterprise)/agents", token: hall.app, json: #"""
                {"agent":"\#(Sample.otherPerson)","attestation":"\#(try await hall.attest(Sample.otherPerson, purpose: "agent_grant"))","valid_until":"\#(Sample.agentUntil)"}
                """#).expectProblem(422, "attestation_invalid")
            // Re-sending the same licence changes nobody's grants.
            #expect(try await client.importLicence(Sample.businessLicence(representative: Sample.person), token: hall.issuer).status == .ok)
        }
        let ended = try await server.backend.transactions.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT action, detail FROM audit_records WHERE action IN ('licence.updated', 'agent.ended', 'consent.withdrawn', 'presentation.revoked') ORDER BY seq")
                .map { [$0["action"] as String, $0["detail"] as String] }
        }
        #expect(ended.map { $0[0] } == ["licence.updated", "agent.ended", "consent.withdrawn", "presentation.revoked", "licence.updated"])
        #expect(ended[1][1].contains(#""reason":"legal_representative_changed""#))
    }

    @Test func anAuthorisationRunsAtMostMaxAgentDays() async throws {
        let server = try TestServer(configure: { $0.backend.maxAgentDays = 30 })
        try await server.test { client in
            let hall = try await Hall.open(client)
            #expect(try await client.importLicence(Sample.businessLicence(), token: hall.issuer).status == .created)
            let path = "/v1/enterprises/\(Sample.enterprise)/agents"
            for (days, status) in [(31, 422), (30, 201)] {
                let until = CalendarDate(Date()).adding(days: days).text
                let response = try await client.call(.post, path, token: hall.app, json: #"""
                    {"agent":"\#(Sample.person)","attestation":"\#(try await hall.attest(Sample.otherPerson, purpose: "agent_grant"))","valid_until":"\#(until)"}
                    """#)
                #expect(response.status.code == status, "\(response.text)")
                if status == 422 { try response.expectProblem(422, "validation_failed") }
            }
            try await client.call(.post, path, token: hall.app, json: #"""
                {"agent":"\#(Sample.person)","attestation":"\#(try await hall.attest(Sample.otherPerson, purpose: "agent_grant"))","valid_until":"9999-12-31"}
                """#).expectProblem(422, "validation_failed")
        }
    }
}

import Foundation
import Hummingbird
import HummingbirdTesting
@testable import MaShangBan
import MaShangBanTestSupport
import Testing
@testable import MaShangBanServer

// The worlds HTTP tests stand on: a service hall set up through the API, and the requests
// every area's tests make. Sample holders and licences are in MaShangBanTestSupport.

extension TestClientProtocol {
    func importLicence(_ json: String, token: String) async throws -> TestResponse {
        try await call(.post, "/v1/licences", token: token, json: json)
    }
}

/// A service hall set up through the API: an issuer, the app backend, a window terminal in
/// hall HY-ZX-01, an approval system, the item sb-transfer (needs the ID card and the
/// social-security card), a registered face-auth stub provider, and a person whose two
/// cards are in the library and the wallet.
struct Hall {
    static let hall = "HY-ZX-01"
    static let item = "sb-transfer"
    let client: any TestClientProtocol
    let issuer: String
    let app: String
    let terminal: String
    let provider: any SignatureSigner
    let licences: [String]
    /// A holder session of the app for the person (header `MSB-Holder-Session`).
    let holder: HTTPFields
    let now: Now
    /// The approval system's webhook secret.
    let secret: String

    static func open(_ client: any TestClientProtocol, now: @escaping Now = { Date() }, providerAlgorithm: CryptoProfile = .intl,
                     webhookURL: String = "http://127.0.0.1:9/webhook") async throws -> Hall
    {
        let issuer = try await client.createClient(role: "issuer").token
        let app = try await client.createClient(role: "app").token
        let terminal = try await client.createClient(role: "terminal", hall: hall).token
        let system = try await client.call(.post, "/v1/approval-systems", json: #"""
            {"code":"hr-social-security","name":"人社审批系统","webhook_url":"\#(webhookURL)"}
            """#)
        #expect(system.status == .created)
        let secret = try #require(try system.json()["secret"] as? String)
        #expect(try await client.call(.post, "/v1/items", json: #"""
            {"code":"sb-transfer","name":"社保转移接续","approval_system":"hr-social-security",
             "required":["resident_id_card","social_security_card"],
             "fields":{"resident_id_card.name":"full","resident_id_card.id_number":"full",
                       "social_security_card.card_number":"masked","holder.id":"full"}}
            """#).status == .created)
        let provider = try CryptoSuite(profile: providerAlgorithm).signatures.generate()
        let pem = try provider.verifier.publicKeyPEM().replacingOccurrences(of: "\n", with: "\\n")
        let registered = try await client.call(.post, "/v1/face-auth/providers", json: #"{"name":"stub","public_key_pem":"\#(pem)"}"#)
        #expect(registered.status == .created, "\(registered.text)")
        #expect(try registered.json()["id"] as? String == CryptoSuite.keyID(of: provider.verifier))
        #expect(try await client.importLicence(Sample.idCard(), token: issuer).status == .created)
        #expect(try await client.importLicence(Sample.socialSecurityCard(), token: issuer).status == .created)
        let holder = try await client.holderSession(Sample.person, app: app, provider: provider, now: now())
        let synced = try await client.call(.post, "/v1/holders/\(Sample.person)/wallet/sync", token: app, headers: holder).json()
        let licences = try #require(synced["added"] as? [String])
        #expect(licences.count == 2)
        return Hall(client: client, issuer: issuer, app: app, terminal: terminal, provider: provider, licences: licences, holder: holder,
                    now: now, secret: secret)
    }

    /// A holder session of the app for `person`.
    func session(for person: String) async throws -> HTTPFields {
        try await client.holderSession(person, app: app, provider: provider, now: now())
    }

    /// A challenge for `subject`, and the provider's attestation over it.
    func attest(_ subject: String = Sample.person, seen: String? = nil, result: String = "pass", score: Double = 0.93,
                iat: Int64? = nil, signer: (any SignatureSigner)? = nil, purpose: String? = nil, app: String? = nil) async throws -> String {
        let body = purpose.map { #"{"subject":"\#(subject)","purpose":"\#($0)"}"# } ?? #"{"subject":"\#(subject)"}"#
        let challenge = try await client.call(.post, "/v1/face-auth/challenges", token: app ?? self.app, json: body)
        #expect(challenge.status == .created)
        let nonce = try #require(try challenge.json()["nonce"] as? String)
        let claims = FaceAuth.Claims(sub: seen ?? subject, nonce: nonce, result: result, score: score,
                                     iat: iat ?? Int64(now().timeIntervalSince1970))
        return try FaceAuth.attestation(claims, signer: signer ?? provider, kid: CryptoSuite.keyID(of: provider.verifier))
    }

    func consentResponse(holder: String = Sample.person, agent: String? = nil, attestation: String, licences: [String]? = nil,
                         item: String? = Hall.item, hall: String? = Hall.hall, ttl: Int? = nil) async throws -> TestResponse {
        var body: [String: Any] = ["holder": holder, "attestation": attestation, "licences": licences ?? self.licences]
        if let agent { body["agent"] = agent }
        if let item { body["item"] = item }
        if let hall { body["hall"] = hall }
        if let ttl { body["ttl_seconds"] = ttl }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
        return try await client.call(.post, "/v1/consents", token: app, json: json)
    }

    /// A consent for the person's two cards (for sb-transfer at this hall unless told otherwise).
    func consent(item: String? = Hall.item, hall: String? = Hall.hall, ttl: Int? = nil) async throws -> String {
        let response = try await consentResponse(attestation: try await attest(), item: item, hall: hall, ttl: ttl)
        #expect(response.status == .created, "\(response.text)")
        return try #require(try response.json()["id"] as? String)
    }

    func presentResponse(_ consent: String, token: String? = nil) async throws -> TestResponse {
        try await client.call(.post, "/v1/presentations", token: token ?? app, json: #"{"consent":"\#(consent)"}"#)
    }

    /// A code for the consent: (presentation id, token).
    func present(_ consent: String) async throws -> (id: String, token: String) {
        let response = try await presentResponse(consent)
        #expect(response.status == .created, "\(response.text)")
        let json = try response.json()
        return (try #require(json["id"] as? String), try #require(json["token"] as? String))
    }

    /// A whole 一码出示 (consent, code, scan); returns the submission id.
    func submit() async throws -> String {
        let response = try await scan(try await present(try await consent()).token)
        #expect(response.status == .created, "\(response.text)")
        return try #require(try response.json()["submission"] as? String)
    }

    func scan(_ token: String, item: String = Hall.item, terminal: String? = nil) async throws -> TestResponse {
        try await client.call(.post, "/v1/scans", token: terminal ?? self.terminal, json: #"{"token":"\#(token)","item":"\#(item)"}"#)
    }
}

extension Hall {
    /// The terminal opens a session for the item: (id, token).
    func openSession(item: String = Hall.item, terminal: String? = nil) async throws -> (id: String, token: String) {
        let response = try await client.call(.post, "/v1/window-sessions", token: terminal ?? self.terminal, json: #"{"item":"\#(item)"}"#)
        #expect(response.status == .created, "\(response.text)")
        let json = try response.json()
        return (try #require(json["id"] as? String), try #require(json["token"] as? String))
    }

    func claim(_ token: String, consent: String, app: String? = nil) async throws -> TestResponse {
        try await client.call(.post, "/v1/window-sessions/claim", token: app ?? self.app, json: #"{"token":"\#(token)","consent":"\#(consent)"}"#)
    }

    func sessionState(_ id: String, wait: Int = 0, terminal: String? = nil) async throws -> TestResponse {
        try await client.call(.get, "/v1/window-sessions/\(id)?wait=\(wait)", token: terminal ?? self.terminal)
    }
}

extension FaceAuth.Claims {
    func with(iat: Int64) -> FaceAuth.Claims { FaceAuth.Claims(sub: sub, nonce: nonce, result: result, score: score, iat: iat) }
}

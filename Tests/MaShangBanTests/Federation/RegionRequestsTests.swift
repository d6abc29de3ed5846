import Foundation
import Testing
@testable import MaShangBan
import MaShangBanTestSupport

/// Region-to-region requests: Changsha signs, Hengyang (which pinned Changsha's key) checks;
/// a changed body, another address, an unpinned key, a replay, or a signature older than 5
/// minutes is refused with its code.
@Suite("Region-to-region request signatures")
struct RegionRequestsTests {
    struct Regions {
        let changsha: Backend
        let hengyang: Backend
        let clock: TestClock
    }

    /// Two regions' backends; Hengyang has taken Changsha's key (pinned by its fingerprint).
    func regions(_ dirs: (TemporaryDirectory, TemporaryDirectory), pin: Bool = true, crypto: CryptoProfile = .intl) async throws -> Regions {
        let clock = TestClock()
        var settings = BackendSettings()
        settings.region = "430100"
        let changsha = try openBackend(dirs.0, crypto: crypto, settings: settings, clock: clock)
        let hengyang = try openBackend(dirs.1, clock: clock)
        let published = try await changsha.services.signingKeys.published()
        let fake = PeerRegistryTests.FakePeer()
        fake.lock.withLock {
            fake.answer = .success((200, JSONValue.object(["region": "430100", "keys": .array(published.map { key in
                .object(["kid": .string(key.kid), "alg": .string(key.alg), "public_key_pem": .string(key.publicKeyPEM), "status": .string(key.status),
                         "retired_at": .null])
            })]).canonicalBytes))
        }
        let pinned = pin ? (published.first?.fingerprint ?? "") : "sha256:" + String(repeating: "0", count: 64)
        _ = try await hengyang.services.peers.register(.init(region: "430100", name: "长沙市", baseURL: "http://127.0.0.1:9",
                                                             keyFingerprints: [pinned]), by: .system)
        _ = try await hengyang.services.peers.refresh(over: fake)
        return Regions(changsha: changsha, hengyang: hengyang, clock: clock)
    }

    func code(_ body: () async throws -> String) async -> String? {
        do {
            _ = try await body()
            return nil
        } catch let error as MSBError {
            return error.code
        } catch {
            return "\(error)"
        }
    }

    @Test(arguments: CryptoProfile.allCases)
    func aSignedRequestIsTakenOnceFromItsRegion(crypto: CryptoProfile) async throws {
        let r = try await regions((try TemporaryDirectory(), try TemporaryDirectory()), crypto: crypto)
        let body = Array(#"{"token":"…","item":"11430400001"}"#.utf8)
        let headers = try r.changsha.services.regionRequests.sign(method: "POST", authority: "hy.example:443", path: "/v1/federation/redemptions",
                                                                  query: nil, body: body)
        let fields = Dictionary(uniqueKeysWithValues: headers)
        let check = { (authority: String, body: [UInt8], fields: [String: String]) in
            try await r.hengyang.services.regionRequests.verify(method: "POST", authority: authority, path: "/v1/federation/redemptions", query: nil,
                                                                fields: fields, body: body)
        }
        #expect(await code { try await check("hy.example:443", body + [0x20], fields) } == "region_signature_invalid", "another body")
        var swapped = fields
        swapped["Content-Digest"] = MessageSignatures.contentDigest(body + [0x20])
        #expect(await code { try await check("hy.example:443", body + [0x20], swapped) } == "region_signature_invalid", "digest and body changed")
        #expect(await code { try await check("gl.example:443", body, fields) } == "region_signature_invalid", "sent to another region")
        #expect(await code { try await check("hy.example:443", body, fields.filter { $0.key != "Signature" }) } == "region_signature_invalid")
        #expect(try await check("hy.example:443", body, fields) == "430100")
        #expect(await code { try await check("hy.example:443", body, fields) } == "region_request_replayed", "the same request again")

        let late = Dictionary(uniqueKeysWithValues: try r.changsha.services.regionRequests.sign(method: "POST", authority: "hy.example:443",
                                                                                                path: "/v1/federation/redemptions", query: nil, body: body))
        r.clock.advance(301)
        #expect(await code { try await check("hy.example:443", body, late) } == "region_request_replayed", "signed over 5 minutes ago")
    }

    @Test func anUnpinnedKeyIsRefused() async throws {
        let r = try await regions((try TemporaryDirectory(), try TemporaryDirectory()), pin: false)
        #expect(try await r.hengyang.services.peers.list().first?.keys.map(\.status) == ["refused"])
        let body = Array("{}".utf8)
        let fields = Dictionary(uniqueKeysWithValues: try r.changsha.services.regionRequests.sign(method: "GET", authority: "hy.example",
                                                                                                  path: "/v1/federation/items", query: "a=1",
                                                                                                  body: body))
        #expect(await code {
            try await r.hengyang.services.regionRequests.verify(method: "GET", authority: "hy.example", path: "/v1/federation/items", query: "a=1",
                                                                fields: fields, body: body)
        } == "region_signature_invalid")
    }

    /// A signature that covers less than the region requests must, or lacks the tag, is refused.
    @Test func aSignatureOverTooLittleIsRefused() async throws {
        let r = try await regions((try TemporaryDirectory(), try TemporaryDirectory()))
        let key = r.changsha.keyring.active
        let body = Array("{}".utf8)
        let request = MessageSignatures.Request(method: "POST", authority: "hy.example", path: "/x", query: nil,
                                                fields: ["content-digest": MessageSignatures.contentDigest(body)])
        for (components, tag) in [(["@method", "@authority", "@path", "content-digest"], RegionRequests.tag),
                                  (RegionRequests.components, "another-tag")] {
            let parameters = MessageSignatures.Parameters(components: components, parameters: [
                ("created", .integer(Int64(r.clock.now().timeIntervalSince1970))), ("nonce", .string(UUID().uuidString)),
                ("keyid", .string(key.kid)), ("tag", .string(tag)),
            ])
            let (input, signature) = try MessageSignatures.sign(request, parameters, label: "msb", with: key.signer)
            #expect(await code {
                try await r.hengyang.services.regionRequests.verify(method: "POST", authority: "hy.example", path: "/x", query: nil,
                                                                    fields: ["Signature-Input": input, "Signature": signature,
                                                                             "Content-Digest": MessageSignatures.contentDigest(body)], body: body)
            } == "region_signature_invalid", "\(components) \(tag)")
        }
    }
}

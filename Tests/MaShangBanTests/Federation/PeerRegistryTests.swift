import Foundation
import GRDB
import Testing
@testable import MaShangBan
import MaShangBanTestSupport

/// 跨域通办's peers: registration rules, and refreshes that take only pinned keys, keep
/// retired ones, refuse unpinned ones (audited once), and change nothing when the peer is
/// down or answers for another region.
@Suite("Peer regions and their pinned keys")
struct PeerRegistryTests {
    /// Answers `GET /v1/keys` with what the test puts in it, or fails like a peer that is down.
    final class FakePeer: PeerTransport, @unchecked Sendable {
        let lock = NSLock()
        var answer: Result<(Int, [UInt8]), any Error> = .failure(URLError(.cannotConnectToHost))
        var asked: [String] = []
        /// The answer to `GET /v1/federation/items`, and the headers that asked.
        var catalogue: (Int, [UInt8]) = (200, Array(#"{"items":[],"region":"430100"}"#.utf8))
        var catalogueHeaders: [(String, String)] = []

        /// The answer to `GET /v1/federation/checkpoint` (a witness's read); none by default.
        var checkpoint: Result<(Int, [UInt8]), any Error> = .failure(URLError(.cannotConnectToHost))
        var cosignatures: [[UInt8]] = []

        func get(url: String, headers: [(String, String)], timeout: Duration) async throws -> (status: Int, body: [UInt8]) {
            try lock.withLock {
                if url.contains("/v1/federation/checkpoint") {
                    let (status, body) = try checkpoint.get()
                    return (status, body)
                }
                asked.append(url)
                if url.hasSuffix("/v1/federation/items") {
                    catalogueHeaders = headers
                    return catalogue
                }
                let (status, body) = try answer.get()
                return (status, body)
            }
        }

        func post(url: String, headers: [(String, String)], body: [UInt8], timeout: Duration) async throws -> (status: Int, body: [UInt8]) {
            lock.withLock { cosignatures.append(body) }
            return (201, [])
        }

        func publish(region: String, _ keys: [(any SignatureSigner, retired: Bool)]) throws {
            let entries = try keys.map { signer, retired -> JSONValue in
                .object(["kid": .string(CryptoSuite.keyID(of: signer.verifier)), "alg": .string(signer.verifier.algorithm.rawValue),
                         "public_key_pem": .string(try signer.verifier.publicKeyPEM()), "status": .string(retired ? "retired" : "active"),
                         "retired_at": retired ? .string("2026-12-01T00:00:00.000Z") : .null])
            }
            lock.withLock { answer = .success((200, JSONValue.object(["region": .string(region), "keys": .array(entries)]).canonicalBytes)) }
        }
    }

    func fingerprint(_ signer: any SignatureSigner) throws -> String {
        try #require(PublishedKey.fingerprint(publicKeyPEM: try signer.verifier.publicKeyPEM()))
    }

    @Test func registrationIsChecked() async throws {
        let dir = try TemporaryDirectory()
        let peers = try openBackend(dir).services.peers
        let pin = "sha256:" + String(repeating: "ab", count: 32)
        let bad: [PeerRegistry.Registration] = [
            .init(region: "43010", name: "长沙市", baseURL: "https://cs.example", keyFingerprints: [pin]),
            .init(region: "430400", name: "衡阳市", baseURL: "https://hy.example", keyFingerprints: [pin]),
            .init(region: "430100", name: "", baseURL: "https://cs.example", keyFingerprints: [pin]),
            .init(region: "430100", name: "长沙市", baseURL: "ftp://cs.example", keyFingerprints: [pin]),
            .init(region: "430100", name: "长沙市", baseURL: "https://cs.example", keyFingerprints: []),
            .init(region: "430100", name: "长沙市", baseURL: "https://cs.example", keyFingerprints: ["sha256:abc"]),
        ]
        for registration in bad {
            do {
                _ = try await peers.register(registration, by: .system)
                Issue.record("\(registration) was taken")
            } catch let error as MSBError {
                #expect(error.code == "validation_failed", "\(error)")
            }
        }
        let (peer, created) = try await peers.register(.init(region: "430100", name: "长沙市", baseURL: "https://cs.example/",
                                                             keyFingerprints: [pin.uppercased().replacingOccurrences(of: "SHA256", with: "sha256")]),
                                                       by: .system)
        #expect(created && peer.baseURL == "https://cs.example" && peer.pins == [pin])
        let (again, createdAgain) = try await peers.register(.init(region: "430100", name: "长沙", baseURL: "https://cs2.example",
                                                                   keyFingerprints: [pin]), by: .system)
        #expect(!createdAgain && again.name == "长沙" && again.baseURL == "https://cs2.example")
        #expect(try await peers.list().map(\.region) == ["430100"])
    }

    @Test func refreshTakesPinnedKeysOnly() async throws {
        let dir = try TemporaryDirectory()
        let backend = try openBackend(dir)
        let peers = backend.services.peers
        let suite = CryptoSuite(profile: .intl)
        let (pinned, later, stranger) = (try suite.signatures.generate(), try suite.signatures.generate(), try suite.signatures.generate())
        _ = try await peers.register(.init(region: "430100", name: "长沙市", baseURL: "http://127.0.0.1:9",
                                           keyFingerprints: [try fingerprint(pinned), try fingerprint(later)]), by: .system)
        let fake = FakePeer()
        let noLog = PeerRegistry.Witnessed(status: "unreachable", detail: "no answer from http://127.0.0.1:9")

        // Down: nothing taken, the reason kept.
        let down = try await peers.refresh(over: fake)
        #expect(down == [.init(region: "430100", error: "no answer from http://127.0.0.1:9")])
        #expect(fake.asked == ["http://127.0.0.1:9/v1/keys"])
        #expect(try await peers.list().first?.keys.isEmpty == true)

        try fake.publish(region: "430100", [(pinned, false), (stranger, false)])
        let first = try await peers.refresh(over: fake)
        let (pinnedKid, strangerKid, laterKid) = (CryptoSuite.keyID(of: pinned.verifier), CryptoSuite.keyID(of: stranger.verifier),
                                                   CryptoSuite.keyID(of: later.verifier))
        #expect(first == [.init(region: "430100", added: [pinnedKid], refused: [strangerKid], items: 0, witness: noLog)])
        let held = try #require(try await peers.list().first)
        #expect(held.refreshError == nil && held.refreshedAt != nil)
        #expect(Set(held.keys.map { "\($0.kid) \($0.status)" }) == ["\(pinnedKid) active", "\(strangerKid) refused"])

        // The same answer again changes nothing and audits nothing.
        let before = try await backend.services.auditTrail.entries(after: 0, limit: 1000).entries.count
        #expect(try await peers.refresh(over: fake) == [.init(region: "430100", items: 0, witness: noLog)])
        #expect(try await backend.services.auditTrail.entries(after: 0, limit: 1000).entries.count == before)

        // Rotation at the peer: the old key retired (kept), the new one pinned and taken.
        try fake.publish(region: "430100", [(pinned, true), (later, false)])
        #expect(try await peers.refresh(over: fake) == [.init(region: "430100", added: [laterKid], retired: [pinnedKid], items: 0, witness: noLog)])
        // A key the peer stops listing is kept; a retired key never comes back to active.
        try fake.publish(region: "430100", [(pinned, false)])
        #expect(try await peers.refresh(over: fake) == [.init(region: "430100", items: 0, witness: noLog)])
        let keys = try #require(try await peers.list().first?.keys)
        #expect(Set(keys.map { "\($0.kid) \($0.status)" }) == ["\(pinnedKid) retired", "\(laterKid) active", "\(strangerKid) refused"])

        // An answer for another region, or not a key list, changes nothing.
        try fake.publish(region: "450300", [(stranger, false)])
        #expect(try await peers.refresh(over: fake).first?.error == "GET /v1/keys answered for region 450300, not 430100")
        fake.lock.withLock { fake.answer = .success((500, [])) }
        #expect(try await peers.refresh(over: fake).first?.error == "GET /v1/keys answered 500")
        #expect(try await peers.list().first?.keys.count == 3)

        // The catalogue: signed by this region, kept, audited when it changes; a refusal is its error.
        try fake.publish(region: "430100", [(later, false)])
        fake.lock.withLock {
            fake.catalogue = (200, Array(#"{"region":"430100","items":[{"national_code":"11430100-A","name":"长沙事项","required":["resident_id_card"],"decided_by":"430100"}]}"#.utf8))
        }
        #expect(try await peers.refresh(over: fake) == [.init(region: "430100", items: 1, witness: noLog)])
        #expect(try await peers.list().first?.items == [PeerItem(nationalCode: "11430100-A", name: "长沙事项", required: ["resident_id_card"])])
        #expect(fake.lock.withLock { fake.catalogueHeaders.map(\.0) } == ["Content-Digest", "Signature-Input", "Signature"])
        #expect(fake.lock.withLock { fake.catalogueHeaders.first { $0.0 == "Signature-Input" }?.1.contains(#"tag="mashangban-federation""#) } == true)
        fake.lock.withLock { fake.catalogue = (401, Array(#"{"code":"region_signature_invalid"}"#.utf8)) }
        #expect(try await peers.refresh(over: fake).first?.error == "catalogue: GET /v1/federation/items answered 401 (region_signature_invalid)")
        #expect(try await peers.list().first?.items.count == 1, "kept from the last catalogue read")

        let actions = try await backend.services.auditTrail.entries(after: 0, limit: 1000).entries.map(\.action).filter { $0.hasPrefix("peer.") }
        #expect(actions == ["peer.created", "peer.key_added", "peer.key_refused", "peer.key_retired", "peer.key_added", "peer.items_synced"])
    }
}

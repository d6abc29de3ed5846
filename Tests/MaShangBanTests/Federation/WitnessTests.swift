import Foundation
import GRDB
import Testing
@testable import MaShangBan
import MaShangBanTestSupport

/// Witnessing: this region cosigns a peer's checkpoints while each extends the last one it
/// cosigned, and refuses (audits, keeps as evidence) a fork or a log that shrank.
@Suite("Witnessing a peer's audit log")
struct WitnessTests {
    /// A log of `count` made-up records: its leaves' tree, as RFC 9162 computes it.
    struct Log {
        let leaves: [[UInt8]]
        let hasher = MerkleHasher(SHA256Hashing())

        init(_ count: Int, salt: String = "") {
            leaves = (0..<count).map { SHA256Hashing().hash(Array("record \($0)\(salt)".utf8)) }
        }

        func subtree(_ lo: Int64, _ hi: Int64) -> [UInt8] {
            if hi - lo == 1 { return hasher.leaf(leaves[Int(lo)]) }
            let k = Merkle.split(hi - lo)
            return hasher.node(subtree(lo, lo + k), subtree(lo + k, hi))
        }

        var root: [UInt8] { subtree(0, Int64(leaves.count)) }
    }

    /// The peer's answer to its witness: a note of `log` signed by `signer`, and the proof from `from`.
    func answer(_ log: Log, signer: any SignatureSigner, from: Int64?, path: [[UInt8]]? = nil) throws -> (Int, [UInt8]) {
        let size = Int64(log.leaves.count)
        let note = try CheckpointNote.signed(origin: "mashangban/430100", size: size, root: log.root, by: signer)
        let proof = path ?? from.map { from in Merkle.consistencyProof(from: from, to: size) { log.subtree($0, $1) } }
        let consistency: JSONValue = proof.map { .object(["path": .array($0.map { .string(Encoding.hex($0)) })]) } ?? .null
        return (200, JSONValue.object(["size": .int(size), "note": .string(note), "consistency": consistency]).canonicalBytes)
    }

    @Test func cosignsWhileTheLogExtendsAndRefusesForks() async throws {
        let dir = try TemporaryDirectory()
        let backend = try openBackend(dir)
        let peers = backend.services.peers
        let signer = try CryptoSuite(profile: .intl).signatures.generate()
        let fingerprint = try #require(PublishedKey.fingerprint(publicKeyPEM: try signer.verifier.publicKeyPEM()))
        _ = try await peers.register(.init(region: "430100", name: "长沙市", baseURL: "http://127.0.0.1:9", keyFingerprints: [fingerprint]),
                                     by: .system)
        let fake = PeerRegistryTests.FakePeer()
        try fake.publish(region: "430100", [(signer, false)])
        func witness() async throws -> PeerRegistry.Witnessed? { try await peers.refresh(over: fake).first?.witness }
        func set(_ answer: (Int, [UInt8])) { fake.lock.withLock { fake.checkpoint = .success(answer) } }

        // The first checkpoint seen is cosigned, and the cosignature posted back.
        set(try answer(Log(5), signer: signer, from: nil))
        #expect(try await witness() == .init(status: "cosigned", size: 5))
        let posted = try #require(fake.lock.withLock { fake.cosignatures.last }.flatMap(JSONValue.parse))
        let line = try #require(posted["cosignature"]?.stringValue)
        let text = CheckpointNote.text(origin: "mashangban/430100", size: 5, root: Log(5).root)
        #expect(Cosignature.verify(line: line, noteText: text, name: "mashangban/430400/witness", backend.keyring.active.signer.verifier) != nil)
        #expect(Cosignature.verify(line: line, noteText: text + "x", name: "mashangban/430400/witness", backend.keyring.active.signer.verifier) == nil)
        #expect(try await witness() == .init(status: "unchanged", size: 5))

        // It grows with a proof: cosigned again.
        set(try answer(Log(13), signer: signer, from: 5))
        #expect(try await witness() == .init(status: "cosigned", size: 13))

        // A fork: a bigger log that does not start with the cosigned one; its proof does not hold.
        set(try answer(Log(20, salt: "forked"), signer: signer, from: 13))
        #expect(try await witness() == .init(status: "forked", size: 20, detail: "no consistency proof from 13 to 20"))
        // A log that shrank, and another root at the same size.
        set(try answer(Log(8), signer: signer, from: nil))
        #expect(try await witness() == .init(status: "forked", size: 8, detail: "the log shrank from 13 to 8 records"))
        set(try answer(Log(13, salt: "other"), signer: signer, from: 13, path: []))
        #expect(try await witness() == .init(status: "forked", size: 13, detail: "another root at the same size 13"))
        // A note by a key nobody pinned is no checkpoint of the peer's.
        set(try answer(Log(30), signer: try CryptoSuite(profile: .intl).signatures.generate(), from: 13))
        #expect(try await witness()?.status == "invalid")

        // The last good checkpoint stays; each new fork is audited once; a true extension is cosigned again.
        let forks = try await backend.services.auditTrail.entries(after: 0, limit: 1000).entries.filter { $0.action == "witness.fork_detected" }
        #expect(forks.count == 3 && forks.allSatisfy { $0.object == "peer:430100" })
        set(try answer(Log(21), signer: signer, from: 13))
        #expect(try await witness() == .init(status: "cosigned", size: 21))
    }

    @Test func aCosignatureIsBoundToItsNameKeyAndNote() throws {
        let signer = try CryptoSuite(profile: .intl).signatures.generate()
        let other = try CryptoSuite(profile: .intl).signatures.generate()
        let text = "mashangban/430400\n12\nAAAA\n"
        let line = try Cosignature.line(noteText: text, timestamp: 1_700_000_000, name: "mashangban/430100/witness", by: signer)
        #expect(Cosignature.verify(line: line, noteText: text, name: "mashangban/430100/witness", signer.verifier) == 1_700_000_000)
        #expect(Cosignature.verify(line: line, noteText: text, name: "mashangban/450300/witness", signer.verifier) == nil)
        #expect(Cosignature.verify(line: line, noteText: text, name: "mashangban/430100/witness", other.verifier) == nil)
        // The key ID is C2SP's: SHA-256(name ‖ 0x0A ‖ 0x04 ‖ the raw Ed25519 key)[:4], then the big-endian time.
        let bytes = try #require(Data(base64Encoded: String(line.split(separator: " ")[2])).map([UInt8].init))
        #expect(Array(bytes.prefix(4)) == Array(SHA256Hashing().hash(Array("mashangban/430100/witness\n".utf8) + [0x04] + signer.verifier.rawPublicKey).prefix(4)))
        #expect(Array(bytes[4..<12]) == [0, 0, 0, 0, 0x65, 0x53, 0xF1, 0x00])
        // The gm profile's SM2 keys cosign too.
        let sm2 = try CryptoSuite(profile: .gm).signatures.generate()
        let gmLine = try Cosignature.line(noteText: text, timestamp: 5, name: "mashangban/430100/witness", by: sm2)
        #expect(Cosignature.verify(line: gmLine, noteText: text, name: "mashangban/430100/witness", sm2.verifier) == 5)
    }
}

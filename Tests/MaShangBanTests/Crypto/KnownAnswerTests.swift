import Foundation
import Testing
@testable import MaShangBan
import MaShangBanTestSupport

@Suite("Crypto known answers (Tests/MaShangBanTests/Fixtures/crypto.json)")
struct KnownAnswerTests {
    @Test func sm3Vectors() throws {
        let vectors = try #require(Fixtures.rawJSON("crypto") as? [String: Any])
        let sm3 = try #require(vectors["sm3"] as? [[String: String]])
        #expect(sm3.count == 2)
        for vector in sm3 {
            let text = try #require(vector["message_ascii"])
            let message = Array(text.utf8)
            #expect(Encoding.hex(SM3Hashing().hash(message)) == vector["digest_hex"])
        }
    }

    @Test func ed25519Vector() throws {
        let vectors = try #require(Fixtures.rawJSON("crypto") as? [String: Any])
        let vector = try #require((vectors["ed25519"] as? [[String: String]])?.first)
        func bytes(_ key: String) throws -> [UInt8] {
            let hex = try #require(vector[key])
            return try #require(Encoding.fromHex(hex))
        }
        let secret = try bytes("secret_key_hex")
        let signer = try Ed25519Signer(rawRepresentation: secret)
        #expect(Encoding.hex(signer.verifier.rawPublicKey) == vector["public_key_hex"])
        let message = try bytes("message_hex")
        let signature = try bytes("signature_hex")
        #expect(signer.verifier.isValidSignature(signature, for: message))
        // Ed25519 is deterministic (RFC 8032): our signature is the vector's.
        #expect(Encoding.hex(try signer.sign(message)) == vector["signature_hex"])
        var flipped = signature
        flipped[10] ^= 0x01
        #expect(!signer.verifier.isValidSignature(flipped, for: message))
    }

    @Test func sha256AndHMACSHA256() {
        #expect(Encoding.hex(SHA256Hashing().hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        // RFC 4231 test case 1.
        let mac = HMACSHA256().mac(key: [UInt8](repeating: 0x0b, count: 20), data: Array("Hi There".utf8))
        #expect(Encoding.hex(mac) == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
    }

    /// A MAC keyed once gives what the MAC gives with its key each time, for keys shorter
    /// than, as long as and longer than a block, from many tasks at once (the keyed state is shared).
    @Test(arguments: CryptoProfile.allCases)
    func aKeyedMACIsTheMAC(profile: CryptoProfile) async {
        let suite = CryptoSuite(profile: profile)
        // RFC 4231 test case 1, keyed once.
        if profile == .intl {
            let mac = suite.authentication.keyed([UInt8](repeating: 0x0b, count: 20)).mac(Array("Hi There".utf8))
            #expect(Encoding.hex(mac) == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        }
        for keyLength in [0, 20, 64, 65, 131] {
            let key = (0..<keyLength).map { UInt8(truncatingIfNeeded: $0 * 7 + keyLength) }
            let keyed = suite.authentication.keyed(key)
            let agreed = await withTaskGroup(of: Bool.self) { group in
                for task in 0..<8 {
                    group.addTask {
                        (0..<50).allSatisfy { value in
                            let data = Array("holder-\(task)-\(value)".utf8) + [UInt8](repeating: 0x5c, count: value * 3)
                            return keyed.mac(data) == suite.mac(key: key, data: data)
                        }
                    }
                }
                return await group.allSatisfy { $0 }
            }
            #expect(agreed, "key of \(keyLength) bytes")
        }
    }

    /// The buffered CSPRNG hands each byte out once: draws from many tasks, across several
    /// refills of its buffer, never repeat a 12-byte nonce or an id's 16 bytes, and large draws
    /// (straight from the kernel) have what they ask for.
    @Test func systemRandomNeverHandsOutABytesTwice() async {
        let draws = await withTaskGroup(of: [[UInt8]].self) { group in
            for task in 0..<4 {
                group.addTask { (0..<1500).map { _ in SystemRandom().bytes(task % 2 == 0 ? 12 : 16) } }
            }
            return await group.reduce(into: [[UInt8]]()) { $0 += $1 }
        }
        #expect(draws.count == 6000 && Set(draws).count == 6000, "84 KiB of draws, about 20 refills of the buffer")
        #expect(draws.allSatisfy { $0.count == 12 || $0.count == 16 })
        #expect(Set(draws.flatMap { $0 }).count > 200, "bytes spread over their values")
        let large = SystemRandom().bytes(SystemRandom.largestBuffered + 1)
        #expect(large.count == 257 && large != [UInt8](repeating: 0, count: 257))
    }

    @Test(arguments: CryptoProfile.allCases)
    func aeadRoundTripAndTamper(profile: CryptoProfile) throws {
        let suite = CryptoSuite(profile: profile)
        let key = SystemRandom().bytes(32)
        let plaintext = Array("湖南省衡阳市蒸湘区解放大道12号".utf8)
        let box = try suite.encryption.seal(plaintext, key: key, associatedData: Array("lic_1".utf8))
        #expect(try suite.encryption.open(box, key: key, associatedData: Array("lic_1".utf8)) == plaintext)
        #expect(!box.containsSubsequence(plaintext))
        var altered = box
        altered[altered.count / 2] ^= 0x01
        #expect(throws: CryptoError.self) { try suite.encryption.open(altered, key: key, associatedData: Array("lic_1".utf8)) }
        #expect(throws: CryptoError.self) { try suite.encryption.open(box, key: key, associatedData: Array("lic_2".utf8)) }
        #expect(throws: CryptoError.self) { try suite.encryption.open(box, key: SystemRandom().bytes(32), associatedData: Array("lic_1".utf8)) }
    }

    @Test(arguments: CryptoProfile.allCases)
    func signRoundTripAndPEM(profile: CryptoProfile) throws {
        let suite = CryptoSuite(profile: profile)
        let signer = try suite.signatures.generate()
        let message = Array("码上办".utf8)
        let signature = try signer.sign(message)
        #expect(signature.count == 64)
        #expect(signer.verifier.isValidSignature(signature, for: message))
        var flipped = signature
        flipped[0] ^= 0x80
        #expect(!signer.verifier.isValidSignature(flipped, for: message))
        #expect(!signer.verifier.isValidSignature(signature, for: message + [0]))

        let reloaded = try SignatureKeys.loadSigner(privateKeyPEM: signer.privateKeyPEM())
        #expect(reloaded.verifier.rawPublicKey == signer.verifier.rawPublicKey)
        let publicOnly = try SignatureKeys.loadVerifier(publicKeyPEM: signer.verifier.publicKeyPEM())
        #expect(publicOnly.algorithm == suite.signatures.algorithm)
        #expect(publicOnly.isValidSignature(try reloaded.sign(message), for: message))
        #expect(suite.keyID(of: publicOnly).count == 11)
    }

    @Test func sm2SignatureFormsRoundTrip() throws {
        let signer = try #require(try SM2Scheme().generate() as? SM2Signer)
        let der = try signer.signDER(Array("x".utf8))
        let raw = try SM2Signature.raw(fromDER: der)
        #expect(raw.count == 64)
        #expect(try SM2Signature.raw(fromDER: SM2Signature.der(fromRaw: raw)) == raw)
        #expect(throws: CryptoError.self) { try SM2Signature.raw(fromDER: [0x30, 0x01]) }
    }
}

extension Array where Element == UInt8 {
    func containsSubsequence(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return false }
        return (0...(count - needle.count)).contains { Array(self[$0..<($0 + needle.count)]) == needle }
    }
}

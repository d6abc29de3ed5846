import Foundation
import Testing
@testable import MaShangBan
import MaShangBanTestSupport

@Suite("JWS compact")
struct JWSTests {
    @Test(arguments: CryptoProfile.allCases)
    func signAndVerify(profile: CryptoProfile) throws {
        let suite = CryptoSuite(profile: profile)
        let signer = try suite.signatures.generate()
        let kid = suite.keyID(of: signer.verifier)
        let token = try JWS.sign(payload: ["iss": "430400", "exp": 1_800_000_120], kid: kid, signer: signer)
        let parsed = try JWS.verify(token) { $0 == kid ? signer.verifier : nil }
        #expect(parsed.payload["iss"] == "430400")
        #expect(parsed.algorithm == suite.signatures.algorithm.rawValue)
        #expect(parsed.kid == kid)
    }

    func keyAndToken() throws -> (any SignatureSigner, String) {
        let signer = try Ed25519Scheme().generate()
        return (signer, try JWS.sign(payload: ["typ": "present"], kid: "k1", signer: signer))
    }

    func header(_ json: String) -> String { Encoding.base64URL(Array(json.utf8)) }

    @Test func rejectsAlgNone() throws {
        let (signer, token) = try keyAndToken()
        let parts = token.split(separator: ".")
        let forged = header(#"{"alg":"none","kid":"k1"}"#) + "." + parts[1] + "."
        #expect(throws: JWSError.algorithmNone) { try JWS.verify(forged) { _ in signer.verifier } }
        let forgedWithSig = header(#"{"alg":"none","kid":"k1"}"#) + "." + parts[1] + "." + parts[2]
        #expect(throws: JWSError.algorithmNone) { try JWS.verify(forgedWithSig) { _ in signer.verifier } }
    }

    /// Headers are cached by their text: a header seen before is the same header, and a
    /// cache filled with odd headers neither grows past its size nor lets a bad one through.
    @Test func cachedHeadersAnswerAsParsedOnes() throws {
        let (signer, token) = try keyAndToken()
        let parts = token.split(separator: ".")
        for _ in 0..<2 { #expect(try JWS.verify(token) { $0 == "k1" ? signer.verifier : nil }.kid == "k1") }
        for n in 0..<(HeaderCache.capacity * 3) {
            let other = header(#"{"alg":"EdDSA","kid":"k\#(n + 2)"}"#) + "." + parts[1] + "." + parts[2]
            #expect(throws: JWSError.unknownKey) { try JWS.verify(other) { $0 == "k1" ? signer.verifier : nil } }
            #expect(throws: JWSError.badSignature) { try JWS.verify(other) { _ in signer.verifier } }
        }
        let none = header(#"{"alg":"none","kid":"k1"}"#) + "." + parts[1] + "." + parts[2]
        for _ in 0..<2 { #expect(throws: JWSError.algorithmNone) { try JWS.verify(none) { _ in signer.verifier } } }
        let notAnObject = header("[1]") + "." + parts[1] + "." + parts[2]
        for _ in 0..<2 {
            #expect(throws: JWSError.malformed("header is not a JSON object")) { try JWS.verify(notAnObject) { _ in signer.verifier } }
        }
        #expect(try JWS.verify(token) { $0 == "k1" ? signer.verifier : nil }.kid == "k1")
    }

    /// The payload is read once, when its claims are: a signed payload that is not a JSON
    /// object verifies as a signature but yields no claims.
    @Test func aPayloadThatIsNotAnObjectYieldsNoClaims() throws {
        let signer = try Ed25519Scheme().generate()
        for payload in ["[1,2]", "\"present\"", "{\"typ\":", "not json"] {
            let token = try JWS.sign(payloadJSON: Array(payload.utf8), kid: "k1", signer: signer)
            let parsed = try JWS.verify(token) { _ in signer.verifier }
            #expect(parsed.payload.isEmpty, "\(payload)")
            #expect(throws: JWSError.self, "\(payload)") { try parsed.claims(QRToken.self) }
        }
    }

    @Test func rejectsAlgThatDoesNotMatchTheKey() throws {
        let (signer, token) = try keyAndToken()
        let parts = token.split(separator: ".")
        let relabelled = header(#"{"alg":"SM2","kid":"k1"}"#) + "." + parts[1] + "." + parts[2]
        #expect(throws: JWSError.algorithmMismatch) { try JWS.verify(relabelled) { _ in signer.verifier } }
        let hs = header(#"{"alg":"HS256","kid":"k1"}"#) + "." + parts[1] + "." + parts[2]
        #expect(throws: JWSError.algorithmMismatch) { try JWS.verify(hs) { _ in signer.verifier } }
    }

    @Test func rejectsBadBase64URL() throws {
        let (signer, token) = try keyAndToken()
        for bad in [token.replacingOccurrences(of: ".", with: "+.", options: [], range: token.range(of: ".")),
                    token + "=", token.replacingOccurrences(of: "-", with: "/") + "/", "a.b.c!"] {
            #expect(throws: JWSError.self) { try JWS.verify(bad) { _ in signer.verifier } }
        }
        #expect(throws: JWSError.malformed("bad base64url")) { try JWS.parse(token + "*") }
    }

    /// Strict base64url: every encoding of every length decodes back, and one whose last
    /// character carries set bits that hold no byte is refused (it names the same bytes).
    @Test func base64URLIsCanonical() {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        for length in 0..<10 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 200) }
            let text = Encoding.base64URL(bytes)
            #expect(Encoding.fromBase64URL(text) == bytes)
            guard let last = text.last, let value = alphabet.firstIndex(of: last) else { continue }
            let spare = [0, 0, 0x0F, 0x03][text.count % 4]
            guard spare != 0 else { continue }
            for bit in [1, 2, 4, 8] where bit & spare != 0 {
                let altered = String(text.dropLast()) + String(alphabet[value ^ bit])
                #expect(Encoding.fromBase64URL(altered) == nil, "\(altered)")
            }
        }
        #expect(Encoding.fromBase64URL("QQ") == [0x41])
        #expect(Encoding.fromBase64URL("QR") == nil)
        #expect(Encoding.fromBase64URL("QUI") == [0x41, 0x42])
        #expect(Encoding.fromBase64URL("QUJ") == nil)
        #expect(Encoding.fromBase64URL("Q") == nil)
    }

    /// The decoder answers as the one before it did (the URL alphabet translated to the
    /// standard one, canonical last character, then Foundation's decoder) on random texts of
    /// the alphabet with a few bytes from outside it.
    @Test func base64URLDecodesAsFoundationDoes() {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        let strays = Array("=+/ .\n\u{0}é".utf8)
        func reference(_ text: String) -> [UInt8]? {
            let bytes = Array(text.utf8)
            guard bytes.count % 4 != 1, bytes.allSatisfy(alphabet.contains) else { return nil }
            let last = bytes.last.flatMap { alphabet.firstIndex(of: $0) } ?? 0
            if (bytes.count % 4 == 2 && last & 0x0F != 0) || (bytes.count % 4 == 3 && last & 0x03 != 0) { return nil }
            var standard = bytes.map { $0 == UInt8(ascii: "-") ? UInt8(ascii: "+") : $0 == UInt8(ascii: "_") ? UInt8(ascii: "/") : $0 }
            while standard.count % 4 != 0 { standard.append(UInt8(ascii: "=")) }
            return Data(base64Encoded: Data(standard)).map { [UInt8]($0) }
        }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % UInt64(bound))
        }
        var decoded = 0
        for _ in 0..<5000 {
            var bytes = (0..<next(40)).map { _ in alphabet[next(alphabet.count)] }
            if next(8) == 0, !bytes.isEmpty { bytes[next(bytes.count)] = strays[next(strays.count)] }
            let text = String(decoding: bytes, as: UTF8.self)
            let expected = reference(text)
            #expect(Encoding.fromBase64URL(text) == expected, "\(text)")
            if expected != nil { decoded += 1 }
        }
        #expect(decoded > 1000, "the texts must mostly be valid to compare decodings")
    }

    @Test func rejectsWrongShapeUnknownKeyBadSignatureAndSize() throws {
        let (signer, token) = try keyAndToken()
        #expect(throws: JWSError.malformed("not three dot-separated parts")) { try JWS.parse("abc.def") }
        #expect(throws: JWSError.malformed("not three dot-separated parts")) { try JWS.parse(token + ".") }
        #expect(throws: JWSError.malformed("not three dot-separated parts")) { try JWS.parse(token + ".e30.e30") }
        #expect(throws: JWSError.malformed("bad base64url")) { try JWS.parse(token.replacingOccurrences(of: ".", with: ".\u{301}")) }
        #expect(throws: JWSError.unknownKey) { try JWS.verify(token) { _ in nil } }
        var tampered = Array(token)
        tampered[tampered.count - 5] = tampered[tampered.count - 5] == "A" ? "B" : "A"
        #expect(throws: JWSError.badSignature) { try JWS.verify(String(tampered)) { _ in signer.verifier } }
        let other = try Ed25519Scheme().generate()
        #expect(throws: JWSError.badSignature) { try JWS.verify(token) { _ in other.verifier } }
        let huge = try JWS.sign(payload: ["pad": .string(String(repeating: "x", count: 4000))], kid: "k1", signer: signer)
        #expect(throws: JWSError.tooLong) { try JWS.verify(huge) { _ in signer.verifier } }
        let notJSON = header("not json") + "." + header("{}") + "." + Encoding.base64URL([1, 2, 3])
        #expect(throws: JWSError.malformed("header is not a JSON object")) { try JWS.parse(notJSON) }
    }

    @Test func canonicalJSONFollowsRFC8785() {
        let value: JSONValue = ["b": 1, "a": .string("x/é\n\u{1}\""), "A": .array([true, .null, -5])]
        #expect(value.canonicalString == #"{"A":[true,null,-5],"a":"x/é\n\u0001\"","b":1}"#)
        // Sorted by UTF-16 code units: U+1F600 is the surrogate pair D83D DE00, which sorts before U+E000.
        let astral: JSONValue = ["\u{E000}": 1, "\u{1F600}": 2]
        #expect(astral.canonicalString == "{\"\u{1F600}\":2,\"\u{E000}\":1}")
        let below: JSONValue = ["王": 1, "é": 2, "z": 3, "a": 4, "\u{FFFF}x": 5, "\u{10000}": 6]
        #expect(below.canonicalString == "{\"a\":4,\"z\":3,\"é\":2,\"王\":1,\"\u{10000}\":6,\"\u{FFFF}x\":5}")
        // Names sorted by their bytes (none from U+E000 up) come out as by UTF-16 code units.
        var generator = SystemRandomNumberGenerator()
        let alphabet: [Character] = ["a", "B", "_", "0", "é", "ÿ", "王", "\u{D7FF}", "\u{7F}", "\u{1}"]
        for _ in 0..<200 {
            let names = (0..<Int.random(in: 0...8, using: &generator)).map { _ in
                String((0..<Int.random(in: 0...4, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
            }
            let members = Dictionary(names.map { ($0, JSONValue.null) }, uniquingKeysWith: { first, _ in first })
            #expect(JSONValue.sortedMembers(members).map(\.key) == members.keys.sorted { $0.utf16.lexicographicallyPrecedes($1.utf16) })
        }
    }
}

import Foundation
import Testing
@testable import MaShangBan

/// RFC 9421 signatures and RFC 9530 digests, checked against the RFCs' own examples: the
/// test request, its Ed25519 test key, and the signature of Appendix B.2.6.
@Suite("HTTP message signatures (RFC 9421)")
struct MessageSignaturesTests {
    /// RFC 9421 Appendix B.1.4's `test-key-ed25519`.
    static let testKey = """
        -----BEGIN PRIVATE KEY-----
        MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF
        -----END PRIVATE KEY-----
        """
    static let testPublicKey = """
        -----BEGIN PUBLIC KEY-----
        MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=
        -----END PUBLIC KEY-----
        """
    /// Appendix B.2's test request (`POST /foo?param=Value&Pet=dog`).
    static let request = MessageSignatures.Request(
        method: "POST", authority: "example.com", path: "/foo", query: "param=Value&Pet=dog",
        fields: ["Date": "Tue, 20 Apr 2021 02:07:55 GMT", "Content-Type": "application/json",
                 "Content-Digest": "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
                 "Content-Length": "18"])
    static let b26 = MessageSignatures.Parameters(components: ["date", "@method", "@path", "@authority", "content-type", "content-length"],
                                                  parameters: [("created", .integer(1_618_884_473)), ("keyid", .string("test-key-ed25519"))])

    @Test func appendixB26IsSignedAsTheRFCSigns() throws {
        let base = try MessageSignatures.base(Self.b26, of: Self.request)
        #expect(base == """
            "date": Tue, 20 Apr 2021 02:07:55 GMT
            "@method": POST
            "@path": /foo
            "@authority": example.com
            "content-type": application/json
            "content-length": 18
            "@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"
            """)
        let signer = try SignatureKeys.loadSigner(privateKeyPEM: Self.testKey)
        let (input, signature) = try MessageSignatures.sign(Self.request, Self.b26, label: "sig-b26", with: signer)
        #expect(input == #"sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519""#)
        #expect(signature == "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:")
    }

    @Test func theRFCsSignedRequestVerifiesAndNothingChangedDoes() throws {
        let verifier = try SignatureKeys.loadVerifier(publicKeyPEM: Self.testPublicKey)
        let received = try MessageSignatures.received(
            input: #"sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519""#,
            signature: "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:")
        #expect(received.parameters == Self.b26)
        #expect(received.parameters["keyid"] == .string("test-key-ed25519"))
        #expect(try MessageSignatures.verify(received, of: Self.request, with: verifier))
        var fields = Self.request.fields
        fields["content-length"] = "19"
        let changed = MessageSignatures.Request(method: "POST", authority: "example.com", path: "/foo", query: nil, fields: fields)
        #expect(try !MessageSignatures.verify(received, of: changed, with: verifier))
        let elsewhere = MessageSignatures.Request(method: "POST", authority: "example.org", path: "/foo", query: nil, fields: Self.request.fields)
        #expect(try !MessageSignatures.verify(received, of: elsewhere, with: verifier), "sent to another host")
    }

    /// RFC 9530's examples: the test request's body under SHA-512 and SHA-256.
    @Test func contentDigestsAreTheRFCs() {
        let body = Array(#"{"hello": "world"}"#.utf8)
        #expect(MessageSignatures.contentDigest(body, sha512: true) == Self.request.fields["content-digest"])
        #expect(MessageSignatures.contentDigest(body) == "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:")
    }

    /// What regions send: method, authority, path, query and body digest, with created, a
    /// nonce, the key id and a tag; signed and checked with each profile's keys.
    @Test(arguments: CryptoProfile.allCases)
    func ourRequestsRoundTrip(profile: CryptoProfile) throws {
        let signer = try CryptoSuite(profile: profile).signatures.generate()
        let body = Array(#"{"token":"x"}"#.utf8)
        let request = MessageSignatures.Request(method: "POST", authority: "127.0.0.1:8080", path: "/v1/federation/redemptions", query: "a=1",
                                                fields: ["content-digest": MessageSignatures.contentDigest(body)])
        let parameters = MessageSignatures.Parameters(
            components: ["@method", "@authority", "@path", "@query", "content-digest"],
            parameters: [("created", .integer(1_800_000_000)), ("nonce", .string("n-1")), ("keyid", .string("kid \"1\"")), ("tag", .string("msb"))])
        let (input, signature) = try MessageSignatures.sign(request, parameters, label: "msb", with: signer)
        let received = try MessageSignatures.received(input: input, signature: signature)
        #expect(received.parameters == parameters)
        #expect(try MessageSignatures.verify(received, of: request, with: signer.verifier))
        let other = try CryptoSuite(profile: profile).signatures.generate()
        #expect(try !MessageSignatures.verify(received, of: request, with: other.verifier))
        #expect(try MessageSignatures.base(parameters, of: request).contains(#""@query": ?a=1"#))
    }

    /// A key's fingerprint is the SHA-256 of its SubjectPublicKeyInfo DER (as `openssl pkey
    /// -pubin -outform DER | sha256sum` gives it for the RFC's test key).
    @Test func fingerprintsAreOfTheKeysDER() {
        #expect(PublishedKey.fingerprint(publicKeyPEM: Self.testPublicKey) == "sha256:34571606cb7a0d71be377e671ddcccae2a169ed7733598214129231cd30c4a3c")
        #expect(PublishedKey.fingerprint(publicKeyPEM: Self.testKey) == nil, "a private key is no public key")
        #expect(PublishedKey.fingerprint(publicKeyPEM: "-----BEGIN PUBLIC KEY-----\n!!\n-----END PUBLIC KEY-----") == nil)
    }

    @Test func malformedFieldsAreRefused() {
        let bad: [(String, String)] = [
            (#"sig=("@method")"#, "other=:AAAA:"),
            (#"sig=("@method");created=1, sig2=("@path")"#, "sig=:AAAA:"),
            (#"sig="@method""#, "sig=:AAAA:"),
            (#"sig=("@method";req);created=1"#, "sig=:AAAA:"),
            (#"sig=("@method");created=x"#, "sig=:AAAA:"),
            (#"sig=("@method");created=1;created=2"#, "sig=:AAAA:"),
            (#"sig=("@method")"#, "sig=AAAA"),
            (#"sig=("@method")"#, "sig=:not base64!:"),
        ]
        for (input, signature) in bad {
            #expect(throws: MessageSignatures.SignatureError.self, "\(input) \(signature)") {
                try MessageSignatures.received(input: input, signature: signature)
            }
        }
        let request = MessageSignatures.Request(method: "GET", authority: "a", path: "/", query: nil, fields: [:])
        #expect(throws: MessageSignatures.SignatureError.self) {
            try MessageSignatures.base(.init(components: ["content-digest"], parameters: []), of: request)
        }
        #expect(throws: MessageSignatures.SignatureError.self) {
            try MessageSignatures.base(.init(components: ["@method", "@method"], parameters: []), of: request)
        }
        #expect(throws: MessageSignatures.SignatureError.self) {
            try MessageSignatures.base(.init(components: ["@target-uri"], parameters: []), of: request)
        }
    }
}

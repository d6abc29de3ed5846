import Foundation
import Testing
@testable import MaShangBan
import MaShangBanTestSupport

/// Our signatures and the `openssl` command line agree, both directions.
@Suite("Interop with the openssl CLI",
       .enabled(if: Tool.openssl.isInstalled, "needs the openssl command (Debian package openssl; make test installs it)"))
struct OpenSSLInteropTests {
    let openssl = Tool.openssl.path ?? "/usr/bin/openssl"
    let distid = "distid:1234567812345678"

    @Test func sm2SignedByOpenSSLVerifiesHere() throws {
        let dir = try TemporaryDirectory()
        let key = dir.url.appendingPathComponent("sm2.pem").path
        let msg = dir.url.appendingPathComponent("msg").path
        let sig = dir.url.appendingPathComponent("sig").path
        #expect(try run(openssl, ["genpkey", "-algorithm", "SM2", "-out", key]).status == 0)
        try Data("一码出示".utf8).write(to: URL(fileURLWithPath: msg))
        #expect(try run(openssl, ["pkeyutl", "-sign", "-rawin", "-digest", "sm3", "-inkey", key, "-in", msg, "-out", sig,
                                  "-pkeyopt", distid]).status == 0)
        let signer = try #require(try SignatureKeys.loadSigner(privateKeyPEM: String(contentsOfFile: key, encoding: .utf8)) as? SM2Signer)
        let verifier = try #require(signer.verifier as? SM2Verifier)
        let der = [UInt8](try Data(contentsOf: URL(fileURLWithPath: sig)))
        #expect(verifier.isValidDERSignature(der, for: Array("一码出示".utf8)))
        // And in JWS form (r‖s).
        #expect(verifier.isValidSignature(try SM2Signature.raw(fromDER: der), for: Array("一码出示".utf8)))
        #expect(!verifier.isValidDERSignature(der, for: Array("一码获取".utf8)))
    }

    @Test func sm2SignedHereVerifiesWithOpenSSL() throws {
        let dir = try TemporaryDirectory()
        let signer = try #require(try SM2Scheme().generate() as? SM2Signer)
        let pub = dir.url.appendingPathComponent("pub.pem")
        let msg = dir.url.appendingPathComponent("msg")
        let sig = dir.url.appendingPathComponent("sig")
        try signer.verifier.publicKeyPEM().write(to: pub, atomically: true, encoding: .utf8)
        try Data("audit checkpoint".utf8).write(to: msg)
        let raw = try signer.sign(Array("audit checkpoint".utf8))
        try Data(try SM2Signature.der(fromRaw: raw)).write(to: sig)
        let verify = ["pkeyutl", "-verify", "-rawin", "-digest", "sm3", "-pubin", "-inkey", pub.path, "-in", msg.path,
                      "-sigfile", sig.path, "-pkeyopt", distid]
        #expect(try run(openssl, verify).status == 0)
        try Data("tampered".utf8).write(to: msg)
        #expect(try run(openssl, verify).status != 0)
    }

    @Test func ed25519BothDirections() throws {
        let dir = try TemporaryDirectory()
        let key = dir.url.appendingPathComponent("ed.pem")
        let pub = dir.url.appendingPathComponent("ed.pub")
        let msg = dir.url.appendingPathComponent("msg")
        let sig = dir.url.appendingPathComponent("sig")
        try Data("scan".utf8).write(to: msg)

        #expect(try run(openssl, ["genpkey", "-algorithm", "ED25519", "-out", key.path]).status == 0)
        #expect(try run(openssl, ["pkeyutl", "-sign", "-rawin", "-inkey", key.path, "-in", msg.path, "-out", sig.path]).status == 0)
        let theirs = try SignatureKeys.loadSigner(privateKeyPEM: String(contentsOf: key, encoding: .utf8))
        #expect(theirs.verifier.algorithm == .ed25519)
        #expect(theirs.verifier.isValidSignature([UInt8](try Data(contentsOf: sig)), for: Array("scan".utf8)))

        let ours = try Ed25519Scheme().generate()
        try ours.verifier.publicKeyPEM().write(to: pub, atomically: true, encoding: .utf8)
        try Data(try ours.sign(Array("scan".utf8))).write(to: sig)
        let verify = ["pkeyutl", "-verify", "-rawin", "-pubin", "-inkey", pub.path, "-in", msg.path, "-sigfile", sig.path]
        #expect(try run(openssl, verify).status == 0)
        // Our PEM private key is readable by openssl too.
        try ours.privateKeyPEM().write(to: key, atomically: true, encoding: .utf8)
        #expect(try run(openssl, ["pkey", "-in", key.path, "-noout"]).status == 0)
    }

    @Test func hmacSM3MatchesOpenSSL() throws {
        let key: [UInt8] = [0x0b, 0x0b, 0x0b, 0x0b]
        let dir = try TemporaryDirectory()
        let msg = dir.url.appendingPathComponent("msg")
        try Data("hello".utf8).write(to: msg)
        let result = try run(openssl, ["dgst", "-sm3", "-mac", "HMAC", "-macopt", "hexkey:0b0b0b0b", "-hex", msg.path])
        let expected = String(decoding: result.output, as: UTF8.self).split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        #expect(result.status == 0)
        #expect(Encoding.hex(HMACSM3().mac(key: key, data: Array("hello".utf8))) == expected)
    }
}

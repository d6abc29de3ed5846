import Foundation
@testable import MaShangBan
import Testing

/// Each code shape accepts exactly what the regular expression it replaced accepted, on the
/// edge cases and on many random strings near the shape (Regex here, in the test only).
@Suite("Code shapes against the regular expressions they replaced")
struct CodeShapeTests {
    static var pairs: [(String, CodeShape, Regex<Substring>)] { [
        ("hall", CodeShape("A-Za-z0-9._-", lengths: 1...16), /[A-Za-z0-9._-]{1,16}/),
        ("identifier (window, official, policy)", CodeShape.identifier, /[A-Za-z0-9][A-Za-z0-9_.-]{0,63}/),
        ("unit", UnitRegistry.codeShape, /[A-Za-z0-9][A-Za-z0-9_-]{1,31}/),
        ("credential", UnitRegistry.credentialShape, /[A-Za-z0-9-]{4,32}/),
        ("peer request key", CodeShape.peerRequestKey, /[A-Za-z0-9._:-]{1,128}/),
        ("region", CodeShape.regionCode, /[1-9][0-9]{5}/),
        ("pin", PeerRegistry.pinShape, /sha256:[0-9a-f]{64}/),
        ("licence type", LicenceTypeRegistry.codeShape, /[a-z][a-z0-9_]{1,63}/),
        ("item", ItemRegistry.codeShape, /[a-z0-9][a-z0-9_-]{1,63}/),
        ("national item code", ItemRegistry.nationalCodeShape, /[0-9A-Za-z][0-9A-Za-z._-]{0,63}/),
        ("industry", Policies.industryShape, /[A-T][0-9]{0,4}/),
    ] }

    @Test func shapesAgreeWithTheirExpressions() {
        let edges = ["", "a", "A", "0", "1", "-", ".", "_", ":", "ab", "a-", "-a", "aB9_.-", "a b", "a\n", "é", "ａ", "a\u{301}",
                     "110105", "010105", "1101055", "11010", "A", "T1234", "U1", "T12345", "sha256:",
                     "sha256:" + String(repeating: "0a", count: 32), "SHA256:" + String(repeating: "0a", count: 32),
                     "sha256:" + String(repeating: "0A", count: 32), String(repeating: "a", count: 16), String(repeating: "a", count: 17),
                     String(repeating: "a", count: 32), String(repeating: "a", count: 33), String(repeating: "a", count: 64),
                     String(repeating: "a", count: 65), String(repeating: "k", count: 128), String(repeating: "k", count: 129)]
        let alphabet = Array("aZz09_.-:AT1s h\u{301}é".map(String.init))
        var generator = SystemRandomNumberGenerator()
        var samples = edges
        for _ in 0..<3000 {
            let length = Int.random(in: 0...10, using: &generator)
            samples.append((0..<length).map { _ in alphabet.randomElement(using: &generator) ?? "a" }.joined())
        }
        for (name, shape, expression) in Self.pairs {
            let disagreements = samples.filter { shape.matches($0) != ($0.wholeMatch(of: expression) != nil) }
            #expect(disagreements.isEmpty, "\(name): \(disagreements.prefix(5))")
            #expect(samples.contains { shape.matches($0) }, "\(name) accepts something")
        }
    }
}

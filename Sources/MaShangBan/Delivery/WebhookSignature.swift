import Foundation

/// The webhook signature (docs/API.md "Webhook to an approval system"):
/// `MSB-Signature: t=<unix>,v1=<hex HMAC(secret, "<t>.<raw body>")>`, HMAC-SHA256 (HMAC-SM3
/// under 国密). Receivers check the HMAC and that `t` is recent.
public enum WebhookSignature {
    public static let header = "MSB-Signature"
    /// How far `t` may be from the receiver's clock.
    public static let tolerance: Int64 = 300

    public static func sign(body: [UInt8], secret: String, timestamp: Int64, suite: CryptoSuite) -> String {
        "t=\(timestamp),v1=" + Encoding.hex(mac(body: body, secret: secret, timestamp: timestamp, suite: suite))
    }

    /// Why a signature was refused, or nil when it is good.
    public static func problem(with header: String?, body: [UInt8], secret: String, now: Int64, suite: CryptoSuite) -> String? {
        guard let header else { return "no \(Self.header) header" }
        var timestamp: Int64?
        var signatures: [[UInt8]] = []
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { continue }
            if pair[0] == "t" { timestamp = Int64(pair[1]) }
            if pair[0] == "v1", let bytes = Encoding.fromHex(pair[1]) { signatures.append(bytes) }
        }
        guard let timestamp, !signatures.isEmpty else { return "malformed \(Self.header) header" }
        guard abs(now - timestamp) <= tolerance else { return "stale timestamp" }
        let expected = mac(body: body, secret: secret, timestamp: timestamp, suite: suite)
        guard signatures.contains(where: { constantTimeEqual($0, expected) }) else { return "signature does not match" }
        return nil
    }

    static func mac(body: [UInt8], secret: String, timestamp: Int64, suite: CryptoSuite) -> [UInt8] {
        suite.mac(key: Array(secret.utf8), data: Array("\(timestamp).".utf8) + body)
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

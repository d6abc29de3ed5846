import Foundation

/// A source of cryptographically secure random bytes. Injected everywhere tokens, ids
/// and nonces are made, so tests can make them predictable.
public protocol RandomSource: Sendable {
    func bytes(_ count: Int) -> [UInt8]
}

/// The operating system's CSPRNG: glibc's `arc4random_buf` (one `getrandom(2)` call per
/// request) on Linux, `SystemRandomNumberGenerator` elsewhere.
public struct SystemRandom: RandomSource {
    public init() {}
    public func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        #if canImport(Glibc)
        out.withUnsafeMutableBytes { if let base = $0.baseAddress { arc4random_buf(base, $0.count) } }
        #else
        var generator = SystemRandomNumberGenerator()
        for index in out.indices { out[index] = generator.next() }
        #endif
        return out
    }
}

extension RandomSource {
    /// An opaque identifier: `prefix_` and 128 random bits in base64url.
    public func identifier(prefix: String) -> String {
        prefix + "_" + Encoding.base64URL(bytes(16))
    }

    /// An opaque identifier that sorts by creation time: `prefix_`, the milliseconds since
    /// 1970 in 12 hex digits, then 96 random bits. Rows keyed by it are appended to their
    /// index instead of inserted at random places, which keeps bulk imports fast.
    public func sortableIdentifier(prefix: String, at instant: Date) -> String {
        let millis = UInt64(max(0, instant.timeIntervalSince1970 * 1000))
        let time = Encoding.hex((0..<6).reversed().map { UInt8(truncatingIfNeeded: millis >> (8 * UInt64($0))) })
        return prefix + "_" + time + Encoding.base64URL(bytes(12))
    }
}

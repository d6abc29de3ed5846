import Foundation

/// A source of cryptographically secure random bytes. Injected everywhere tokens, ids
/// and nonces are made, so tests can make them predictable.
public protocol RandomSource: Sendable {
    func bytes(_ count: Int) -> [UInt8]
}

/// The operating system's CSPRNG (`getrandom(2)` on Linux, through `SystemRandomNumberGenerator`).
public struct SystemRandom: RandomSource {
    public init() {}
    public func bytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var out = [UInt8]()
        out.reserveCapacity(count + 8)
        while out.count < count {
            withUnsafeBytes(of: generator.next() as UInt64) { out.append(contentsOf: $0) }
        }
        return Array(out.prefix(count))
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

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
}

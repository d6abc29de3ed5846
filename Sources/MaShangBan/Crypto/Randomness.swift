import Foundation

/// A source of cryptographically secure random bytes. Injected everywhere tokens, ids
/// and nonces are made, so tests can make them predictable.
public protocol RandomSource: Sendable {
    func bytes(_ count: Int) -> [UInt8]
}

/// The operating system's CSPRNG. Small draws (ids, nonces: a few per request) come from a
/// shared buffer of 4 KiB filled by one `arc4random_buf` (`getrandom(2)`) call, so they cost
/// a copy, not a system call each; a byte is handed out once and then zeroed in the buffer.
/// Draws of more than 256 bytes go to the kernel directly. (The process never forks without
/// exec, so no child can share the buffer.)
public struct SystemRandom: RandomSource {
    public init() {}
    public func bytes(_ count: Int) -> [UInt8] {
        count > Self.largestBuffered ? Self.fresh(count) : Self.buffer.take(count)
    }

    static let largestBuffered = 256
    private static let buffer = RandomBuffer(size: 4096)

    static func fresh(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        fill(&out)
        return out
    }

    static func fill(_ bytes: inout [UInt8]) {
        #if canImport(Glibc)
        bytes.withUnsafeMutableBytes { if let base = $0.baseAddress { arc4random_buf(base, $0.count) } }
        #else
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = generator.next() }
        #endif
    }
}

/// Kernel random bytes drawn ahead, handed out once each.
final class RandomBuffer: Sendable {
    private let state: Locked<(bytes: [UInt8], next: Int)>

    init(size: Int) { state = Locked(([UInt8](repeating: 0, count: size), size)) }

    func take(_ count: Int) -> [UInt8] {
        state.withLock { state in
            if state.next + count > state.bytes.count {
                SystemRandom.fill(&state.bytes)
                state.next = 0
            }
            let range = state.next..<(state.next + count)
            defer {
                state.bytes.replaceSubrange(range, with: repeatElement(0, count: count))
                state.next += count
            }
            return Array(state.bytes[range])
        }
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

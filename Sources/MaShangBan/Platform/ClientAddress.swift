import Foundation

/// The address a request is counted under (rate limits, failed authentications): an IPv4
/// address as it is, an IPv6 address by its /64 (one host is given a whole /64 and can
/// rotate through it). `X-Forwarded-For` counts only when the peer is a trusted proxy.
public enum ClientAddress {
    /// The counting key of a textual IP address; nil if it is not one.
    public static func key(_ address: String) -> String? {
        guard let bytes = IPAddressBytes(address) else { return nil }
        switch bytes.octets.count {
        case 4: return bytes.octets.map(String.init).joined(separator: ".")
        default:
            let prefix = stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes.octets[$0]) << 8 | UInt16(bytes.octets[$0 + 1]), radix: 16) }
            return prefix.joined(separator: ":") + "::/64"
        }
    }

    /// The client's address: the peer's, or — when the peer is a trusted proxy — the
    /// right-most `X-Forwarded-For` entry that is not itself a trusted proxy. Nil if unknown.
    public static func resolve(peer: String?, forwardedFor: String?, trusted: TrustedProxies) -> String? {
        guard let peer else { return nil }
        guard let forwardedFor, !trusted.isEmpty, trusted.contains(peer) else { return peer }
        let hops = forwardedFor.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        for hop in hops.reversed() {
            guard IPAddressBytes(hop) != nil else { return peer }  // a malformed list: trust only the peer
            if !trusted.contains(hop) { return hop }
        }
        return hops.first ?? peer
    }
}

/// Proxies whose `X-Forwarded-For` is believed (`--trusted-proxy CIDR`, repeatable).
public struct TrustedProxies: Sendable, Equatable {
    struct Range: Sendable, Equatable {
        let octets: [UInt8]
        let bits: Int
    }

    private var ranges: [Range] = []

    public init() {}

    public var isEmpty: Bool { ranges.isEmpty }

    /// Adds `a.b.c.d/n`, `x:…/n` or a single address; false if it is not one.
    public mutating func add(_ cidr: String) -> Bool {
        let parts = cidr.split(separator: "/", maxSplits: 1).map(String.init)
        guard let address = parts.first.flatMap(IPAddressBytes.init) else { return false }
        let width = address.octets.count * 8
        let bits = parts.count == 2 ? Int(parts[1]) : width
        guard let bits, (0...width).contains(bits) else { return false }
        ranges.append(Range(octets: address.octets, bits: bits))
        return true
    }

    public func contains(_ address: String) -> Bool {
        guard let candidate = IPAddressBytes(address) else { return false }
        return ranges.contains { range in
            guard range.octets.count == candidate.octets.count else { return false }
            for bit in 0..<range.bits {
                let mask = UInt8(0x80) >> UInt8(bit % 8)
                if range.octets[bit / 8] & mask != candidate.octets[bit / 8] & mask { return false }
            }
            return true
        }
    }
}

/// An IPv4 (4 octets) or IPv6 (16 octets) address, parsed by the C library; an IPv4-mapped
/// IPv6 address is its IPv4 address.
struct IPAddressBytes {
    let octets: [UInt8]

    init?(_ text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            octets = withUnsafeBytes(of: &v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        let mapped = bytes.prefix(10).allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF
        octets = mapped ? Array(bytes.suffix(4)) : bytes
    }
}

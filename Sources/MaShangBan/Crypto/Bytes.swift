import Foundation

/// Hex and base64url (RFC 4648 §5, no padding) encodings used by tokens, hashes and ids.
public enum Encoding {
    private static let hexDigits = Array("0123456789abcdef".utf8)

    public static func hex<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for b in bytes {
            out.append(hexDigits[Int(b >> 4)])
            out.append(hexDigits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes lower- or upper-case hex; nil for odd length or a non-hex character.
    public static func fromHex(_ string: String) -> [UInt8]? {
        let chars = Array(string.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = nibble(chars[i]), let lo = nibble(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    private static let base64URLAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    public static func base64URL<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        let input = Array(bytes)
        var out = [UInt8]()
        out.reserveCapacity((input.count * 4 + 2) / 3)
        var i = 0
        while i + 3 <= input.count {
            let n = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
            out.append(base64URLAlphabet[Int(n >> 18 & 63)])
            out.append(base64URLAlphabet[Int(n >> 12 & 63)])
            out.append(base64URLAlphabet[Int(n >> 6 & 63)])
            out.append(base64URLAlphabet[Int(n & 63)])
            i += 3
        }
        switch input.count - i {
        case 1:
            let n = UInt32(input[i]) << 16
            out.append(base64URLAlphabet[Int(n >> 18 & 63)])
            out.append(base64URLAlphabet[Int(n >> 12 & 63)])
        case 2:
            let n = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8
            out.append(base64URLAlphabet[Int(n >> 18 & 63)])
            out.append(base64URLAlphabet[Int(n >> 12 & 63)])
            out.append(base64URLAlphabet[Int(n >> 6 & 63)])
        default: break
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Each byte's value in the base64url alphabet, or 0xFF for a byte outside it.
    private static let base64URLValues: [UInt8] = {
        var values = [UInt8](repeating: 0xFF, count: 256)
        for (value, byte) in base64URLAlphabet.enumerated() { values[Int(byte)] = UInt8(value) }
        return values
    }()

    /// Strict base64url: only the URL-safe alphabet, no padding, no white space,
    /// and no length that base64 cannot produce. Decoded here, four characters to three
    /// bytes: through Foundation's decoder (after translating to the standard alphabet) it
    /// was a third of reading a scanned code.
    public static func fromBase64URL<S: StringProtocol>(_ string: S) -> [UInt8]? {
        let utf8 = string.utf8
        let count = utf8.count
        guard count % 4 != 1 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(count / 4 * 3 + 2)
        var group: UInt32 = 0  // the values of the characters since the last whole group
        var held = 0
        for c in utf8 {
            let value = base64URLValues[Int(c)]
            guard value != 0xFF else { return nil }
            group = group << 6 | UInt32(value)
            held += 1
            if held == 4 {
                out.append(UInt8(truncatingIfNeeded: group >> 16))
                out.append(UInt8(truncatingIfNeeded: group >> 8))
                out.append(UInt8(truncatingIfNeeded: group))
                (group, held) = (0, 0)
            }
        }
        // Reject non-canonical encodings: the bits of the last character that hold no byte
        // (4 of them after 2 characters of a group, 2 after 3) must be zero.
        switch held {
        case 2:
            guard group & 0x0F == 0 else { return nil }
            out.append(UInt8(truncatingIfNeeded: group >> 4))
        case 3:
            guard group & 0x03 == 0 else { return nil }
            out.append(UInt8(truncatingIfNeeded: group >> 10))
            out.append(UInt8(truncatingIfNeeded: group >> 2))
        default: break
        }
        return out
    }
}

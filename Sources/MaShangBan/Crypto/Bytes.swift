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

    /// Strict base64url: only the URL-safe alphabet, no padding, no white space,
    /// and no length that base64 cannot produce.
    public static func fromBase64URL<S: StringProtocol>(_ string: S) -> [UInt8]? {
        let utf8 = string.utf8
        guard utf8.count % 4 != 1 else { return nil }
        var standard = [UInt8]()
        standard.reserveCapacity(utf8.count + 3)
        var last: UInt8 = 0  // the value (0–63) of the last character
        for c in utf8 {
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): standard.append(c); last = c - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): standard.append(c); last = c - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): standard.append(c); last = c - UInt8(ascii: "0") + 52
            case UInt8(ascii: "-"): standard.append(UInt8(ascii: "+")); last = 62
            case UInt8(ascii: "_"): standard.append(UInt8(ascii: "/")); last = 63
            default: return nil
            }
        }
        // Reject non-canonical encodings: the bits of the last character that hold no byte
        // (4 of them after 2 characters of a group, 2 after 3) must be zero.
        switch standard.count % 4 {
        case 2: guard last & 0x0F == 0 else { return nil }
        case 3: guard last & 0x03 == 0 else { return nil }
        default: break
        }
        while standard.count % 4 != 0 { standard.append(UInt8(ascii: "=")) }
        guard let data = Data(base64Encoded: Data(standard)) else { return nil }
        return [UInt8](data)
    }
}

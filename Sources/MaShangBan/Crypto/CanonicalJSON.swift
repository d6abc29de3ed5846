import Foundation

/// A JSON value restricted to what our signed and hashed documents use: no floats, so that
/// the RFC 8785 (JCS) form is exact. Numbers are integers.
public enum JSONValue: Sendable, Equatable, Codable {
    case null
    case bool(Bool)
    case int(Int64)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        // Each failed attempt costs a thrown error, so the commonest kinds go first.
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([String: JSONValue].self) { self = .object(value) }
        else if let value = try? container.decode(Int64.self) { self = .int(value) }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "only integers, strings, booleans, null, arrays and objects")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let v): try container.encode(v)
        case .int(let v): try container.encode(v)
        case .string(let v): try container.encode(v)
        case .array(let v): try container.encode(v)
        case .object(let v): try container.encode(v)
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var intValue: Int64? {
        if case .int(let i) = self { return i }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let values) = self { return values }
        return nil
    }

    /// Parses JSON text; nil if it is not JSON or uses a non-integer number.
    public static func parse(_ bytes: [UInt8]) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }

    /// The RFC 8785 canonical form: members sorted by UTF-16 code units, no insignificant
    /// white space, minimal string escapes, `/` not escaped.
    public var canonicalBytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(128)
        write(into: &out)
        return out
    }

    public var canonicalString: String { String(decoding: canonicalBytes, as: UTF8.self) }

    func write(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let v): out.append(contentsOf: (v ? "true" : "false").utf8)
        case .int(let v): out.append(contentsOf: String(v).utf8)
        case .string(let v): Self.writeString(v, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, member) in Self.sortedMembers(members).enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeString(member.key, into: &out)
                out.append(UInt8(ascii: ":"))
                member.value.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// The object's members in RFC 8785 order: by their names' UTF-16 code units. UTF-8
    /// bytes sort the same unless a name holds a character from U+E000 up (lead byte 0xEE or
    /// more), and compare without transcoding, so names without those are sorted by their
    /// bytes. Sorting the members, not the names, spares looking each value up again.
    static func sortedMembers<Value>(_ members: [String: Value]) -> [(key: String, value: Value)] {
        var sorted = Array(members)
        let bytewise = sorted.allSatisfy { member in member.key.utf8.allSatisfy { $0 < 0xEE } }
        if bytewise {
            sorted.sort { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        } else {
            sorted.sort { $0.key.utf16.lexicographicallyPrecedes($1.key.utf16) }
        }
        return sorted
    }

    private static let hex = Array("0123456789abcdef".utf8)

    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most strings (ids, codes, timestamps, hashes) need no escape: copy them whole.
        let plain = s.utf8.withContiguousStorageIfAvailable { bytes in
            !bytes.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }
        }
        if plain == true {
            out.append(contentsOf: s.utf8)
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x08: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0C: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x00..<0x20:
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                        hex[Int(byte >> 4)], hex[Int(byte & 0x0f)]])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// Writes canonical JSON (RFC 8785, as `JSONValue.canonicalBytes`) straight to bytes, for
/// answers drawn on every request: building a `JSONValue` tree (a dictionary per object,
/// hashed, then sorted) for the window's view cost more than writing it. Members are
/// written in the order they are given, which must be RFC 8785's: each body written so is
/// compared in a test with its `JSONValue` form.
public struct CanonicalWriter {
    public private(set) var bytes: [UInt8] = []
    /// Whether the next member or element needs a comma before it.
    private var afterValue = false

    public init(capacity: Int = 512) { bytes.reserveCapacity(capacity) }

    /// An object whose members `body` writes, each with `member` and then its value.
    public mutating func object(_ body: (inout CanonicalWriter) -> Void) {
        open(UInt8(ascii: "{"))
        body(&self)
        close(UInt8(ascii: "}"))
    }

    /// An array of `elements`, each written by `element`.
    public mutating func array<Elements: Sequence>(_ elements: Elements, _ element: (inout CanonicalWriter, Elements.Element) -> Void) {
        open(UInt8(ascii: "["))
        for each in elements { element(&self, each) }
        close(UInt8(ascii: "]"))
    }

    /// A member's name; its value comes next.
    public mutating func member(_ name: String) {
        if afterValue { bytes.append(UInt8(ascii: ",")) }
        JSONValue.writeString(name, into: &bytes)
        bytes.append(UInt8(ascii: ":"))
        afterValue = false
    }

    /// A string, or `null`.
    public mutating func string(_ value: String?) {
        if afterValue { bytes.append(UInt8(ascii: ",")) }
        if let value { JSONValue.writeString(value, into: &bytes) } else { bytes.append(contentsOf: "null".utf8) }
        afterValue = true
    }

    /// An object of string members, in RFC 8785's order whatever their names.
    public mutating func strings(_ members: [String: String]) {
        object { writer in
            for (name, value) in JSONValue.sortedMembers(members) {
                writer.member(name)
                writer.string(value)
            }
        }
    }

    private mutating func open(_ bracket: UInt8) {
        if afterValue { bytes.append(UInt8(ascii: ",")) }
        bytes.append(bracket)
        afterValue = false
    }

    private mutating func close(_ bracket: UInt8) {
        bytes.append(bracket)
        afterValue = true
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByDictionaryLiteral, ExpressibleByBooleanLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

/// Compact JSON objects of strings, read without a general parser.
public enum CompactJSON {
    /// The members of `bytes` when it is an object of strings with no white space, each
    /// name once, and only the escapes `JSONValue` writes; nil for any other JSON text
    /// (which may still be valid: leave it to a general parser).
    public static func strings(_ bytes: some Sequence<UInt8>) -> [String: String]? {
        var reader = CanonicalReader(bytes: Array(bytes))
        guard let members = reader.strings(), reader.atEnd else { return nil }
        return members
    }
}

/// A reader of canonical JSON strings, integers and objects of strings, as `JSONValue` writes them.
/// It refuses (nil) what that writer never writes: white space, escapes other than
/// `\" \\ \/ \b \f \n \r \t` and `\u` of an ASCII character, invalid UTF-8.
struct CanonicalReader {
    let bytes: [UInt8]
    private var at = 0

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    var atEnd: Bool { at == bytes.count }

    /// Steps over `character` if it comes next.
    mutating func take(_ character: Unicode.Scalar) -> Bool {
        guard at < bytes.count, bytes[at] == UInt8(ascii: character) else { return false }
        at += 1
        return true
    }

    /// Steps over `null` if it comes next.
    mutating func null() -> Bool {
        guard bytes[at...].starts(with: "null".utf8) else { return false }
        at += 4
        return true
    }

    /// A string: the bytes between the quotes as they are, or unescaped when there are escapes.
    mutating func string() -> String? {
        guard take("\"") else { return nil }
        let start = at
        var unescaped: [UInt8]?
        while at < bytes.count {
            let byte = bytes[at]
            switch byte {
            case UInt8(ascii: "\""):
                defer { at += 1 }
                if let unescaped { return Self.text(unescaped[...]) }
                return Self.text(bytes[start..<at])
            case UInt8(ascii: "\\"):
                if unescaped == nil { unescaped = Array(bytes[start..<at]) }
                guard let (character, length) = escape() else { return nil }
                unescaped?.append(character)
                at += length
            case ..<0x20:
                return nil
            default:
                unescaped?.append(byte)
                at += 1
            }
        }
        return nil
    }

    /// `bytes` as a string, nil unless they are valid UTF-8. `String(validating:as:)` is
    /// generic code the standard library does not specialise, and looked its types up for
    /// every string; decoding (which repairs) and comparing the result with the input is exact.
    private static func text(_ bytes: ArraySlice<UInt8>) -> String? {
        let text = String(decoding: bytes, as: UTF8.self)
        return text.utf8.elementsEqual(bytes) ? text : nil
    }

    /// The escape at `at` (a backslash): the byte it stands for and its length.
    private func escape() -> (UInt8, Int)? {
        guard at + 1 < bytes.count else { return nil }
        switch bytes[at + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): return (bytes[at + 1], 2)
        case UInt8(ascii: "b"): return (0x08, 2)
        case UInt8(ascii: "f"): return (0x0C, 2)
        case UInt8(ascii: "n"): return (0x0A, 2)
        case UInt8(ascii: "r"): return (0x0D, 2)
        case UInt8(ascii: "t"): return (0x09, 2)
        case UInt8(ascii: "u"):
            guard at + 5 < bytes.count else { return nil }
            var value = 0
            for digit in bytes[(at + 2)...(at + 5)] {
                guard let nibble = Int(String(UnicodeScalar(digit)), radix: 16) else { return nil }
                value = value << 4 | nibble
            }
            return value < 0x80 ? (UInt8(value), 6) : nil
        default: return nil
        }
    }

    /// A JSON integer as `JSONValue` writes it (no leading zeros, no `+`, fraction or
    /// exponent) that fits in 64 bits.
    mutating func integer() -> Int64? {
        let start = at
        if at < bytes.count, bytes[at] == UInt8(ascii: "-") { at += 1 }
        let digits = at
        while at < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[at]) { at += 1 }
        guard at > digits, at - digits == 1 || bytes[digits] != UInt8(ascii: "0"),
              at == bytes.count || ![UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[at])
        else { return nil }
        return Int64(String(decoding: bytes[start..<at], as: UTF8.self))
    }

    /// Reads an object member by member: `member` gets each name with the reader at its
    /// value, reads the value, and returns false to refuse the object. True when the object
    /// was read to its closing brace.
    mutating func object(_ member: (_ name: String, _ reader: inout CanonicalReader) -> Bool) -> Bool {
        guard take("{") else { return false }
        if take("}") { return true }
        repeat {
            guard let name = string(), take(":"), member(name, &self) else { return false }
        } while take(",")
        return take("}")
    }

    /// An object whose members are all strings, each name once.
    mutating func strings() -> [String: String]? {
        var members: [String: String] = [:]
        let read = object { name, reader in
            guard let value = reader.string() else { return false }
            return members.updateValue(value, forKey: name) == nil
        }
        return read ? members : nil
    }
}

/// The shape of a code, name or key a request carries: an optional fixed prefix, then a first
/// character from one set and the rest from another, so many characters in all; ASCII only.
/// It says what a regular expression such as `[a-z0-9][a-z0-9_-]{1,63}` would, checked byte
/// by byte: a Swift regex literal is parsed again each time it is used (a hall code's check
/// was 4 % of a whole flow's server CPU).
public struct CodeShape: Sendable {
    private let prefix: [UInt8]
    private let first: ByteSet
    private let rest: ByteSet
    private let lengths: ClosedRange<Int>

    /// `first` and `rest` are character classes written as inside a regular expression's
    /// brackets ("A-Za-z0-9._-": ranges, and a '-' first or last stands for itself); `first`
    /// nil is `rest`. `lengths` counts the characters after `prefix`.
    public init(prefix: String = "", first: String? = nil, _ rest: String, lengths: ClosedRange<Int>) {
        self.prefix = Array(prefix.utf8)
        self.rest = ByteSet(rest)
        self.first = first.map(ByteSet.init) ?? self.rest
        self.lengths = lengths
    }

    public func matches(_ text: some StringProtocol) -> Bool {
        let bytes = text.utf8
        guard lengths.contains(bytes.count - prefix.count), bytes.starts(with: prefix) else { return false }
        for (offset, byte) in bytes.dropFirst(prefix.count).enumerated() where !(offset == 0 ? first : rest).contains(byte) {
            return false
        }
        return true
    }

    /// An id others give their own records (a window, an official, a policy): a letter or
    /// digit, then up to 63 letters, digits, '_', '.' or '-'.
    public static let identifier = CodeShape(first: "A-Za-z0-9", "A-Za-z0-9_.-", lengths: 1...64)
    /// A region code (行政区划代码): six digits, the first not 0.
    public static let regionCode = CodeShape(first: "1-9", "0-9", lengths: 6...6)
    /// The key a peer region gives its request (`Idempotency-Key`-like), as audited.
    public static let peerRequestKey = CodeShape("A-Za-z0-9._:-", lengths: 1...128)
}

/// A set of ASCII bytes.
private struct ByteSet: Sendable {
    private var bits: (UInt64, UInt64) = (0, 0)

    init(_ characterClass: String) {
        let spec = Array(characterClass.utf8)
        var index = 0
        while index < spec.count {
            if index + 2 < spec.count, spec[index + 1] == UInt8(ascii: "-") {
                for byte in spec[index]...spec[index + 2] { insert(byte) }
                index += 3
            } else {
                insert(spec[index])
                index += 1
            }
        }
    }

    private mutating func insert(_ byte: UInt8) {
        precondition(byte < 128, "a code shape is ASCII")
        if byte < 64 { bits.0 |= 1 << UInt64(byte) } else { bits.1 |= 1 << UInt64(byte - 64) }
    }

    func contains(_ byte: UInt8) -> Bool {
        byte < 64 ? bits.0 & (1 << UInt64(byte)) != 0 : byte < 128 && bits.1 & (1 << UInt64(byte - 64)) != 0
    }
}

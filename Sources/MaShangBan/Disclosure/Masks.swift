/// The class of a licence field: it decides how the field is masked for display
/// (docs/DESIGN.md "Desensitisation").
public enum FieldClass: String, Sendable, Codable, CaseIterable {
    case personName = "person_name"
    case citizenID = "citizen_id"
    case phone
    case address
    case birthDate = "birth_date"
    case account
    case licenceNumber = "licence_number"
    case photo
    case `public`
}

/// How values of one class are masked. Each hidden character becomes `*`, keeping the
/// length, except addresses, whose tail becomes `****`.
public enum MaskRule: Sendable, Equatable {
    /// Shown as is.
    case none
    /// Left out entirely.
    case omit
    /// Keep the first `first` and last `last` characters. A value too short to hide
    /// anything that way is masked completely.
    case keep(first: Int, last: Int)
    /// The first character; the last one too when there are 3 or more.
    case personName
    /// Keep through the first 区/县/旗; else through the last 市 in the first 12
    /// characters; else the first 6 characters; then `****`. A step that would keep the
    /// whole value is skipped (湖南省衡阳市蒸湘区 → 湖南省衡阳市****).
    case address
    /// Keep the year, mask the digits after it: 1985-01-01 → 1985-**-**.
    case birthDate

    /// The masked form of `value`, or nil when the rule omits it.
    public func apply(_ value: String) -> String? {
        switch self {
        case .none:
            return value
        case .omit:
            return nil
        case .keep(let first, let last):
            return Self.star(value) { index, count, _ in count <= first + last || (first..<(count - last)).contains(index) }
        case .personName:
            let chars = Self.characters(value)
            switch chars.count {
            case 0: return ""
            case 1: return "*"
            case 2: return String(chars[0]) + "*"
            default: return String(chars[0]) + String(repeating: "*", count: chars.count - 2) + String(chars[chars.count - 1])
            }
        case .address:
            // The first of these that still hides something; a value too short for all of
            // them shows its first half.
            let chars = Self.characters(value)
            let candidates = [
                chars.firstIndex(where: { $0 == "区" || $0 == "县" || $0 == "旗" }).map { $0 + 1 },
                chars.prefix(12).lastIndex(of: "市").map { $0 + 1 },
                6,
            ]
            let kept = candidates.compactMap { $0 }.first { $0 < chars.count } ?? chars.count / 2
            return String(chars.prefix(kept)) + "****"
        case .birthDate:
            return Self.star(value) { index, count, isDigit in count <= 4 || (index >= 4 && isDigit) }
        }
    }

    /// The characters of `value`. When each scalar is a character on its own (printable
    /// ASCII, CJK ideographs and the middle dot of names like 买买提·艾力: what names and
    /// addresses are made of), they are taken scalar by scalar, without Unicode's rules for
    /// breaking text into characters, which cost several times more.
    static func characters(_ value: String) -> [Character] {
        let alone = value.unicodeScalars.allSatisfy { scalar in
            switch scalar.value {
            case 0x20...0x7E, 0xB7, 0x3400...0x4DBF, 0x4E00...0x9FFF: return true
            default: return false
            }
        }
        return alone ? value.unicodeScalars.map(Character.init) : Array(value)
    }

    /// `value` with each character that `hidden(index, count, isDigit)` picks replaced by `*`.
    /// Most values masked this way (id and card numbers, dates) are ASCII, and ASCII without a
    /// CR (CR LF is one character) is one character per byte: those are masked byte by byte,
    /// without breaking the text into characters, which costs ten times more.
    private static func star(_ value: String, hidden: (_ index: Int, _ count: Int, _ isDigit: Bool) -> Bool) -> String {
        if value.utf8.allSatisfy({ $0 < 0x80 && $0 != 0x0D }) {
            let bytes = Array(value.utf8)
            let masked = bytes.enumerated().map { index, byte in
                hidden(index, bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)) ? UInt8(ascii: "*") : byte
            }
            return String(decoding: masked, as: UTF8.self)
        }
        let chars = characters(value)
        return String(chars.enumerated().map { index, char in hidden(index, chars.count, char.isNumber) ? "*" : char })
    }
}

/// Display masks per field class, as docs/DESIGN.md's table; each class's rule can be replaced.
public struct MaskTable: Sendable, Equatable {
    public var rules: [FieldClass: MaskRule]

    public static let standard = MaskTable(rules: [
        .personName: .personName,
        .citizenID: .keep(first: 3, last: 4),
        .phone: .keep(first: 3, last: 4),
        .address: .address,
        .birthDate: .birthDate,
        .account: .keep(first: 0, last: 4),
        .licenceNumber: .keep(first: 2, last: 4),
        .photo: .omit,
        .public: .none,
    ])

    public init(rules: [FieldClass: MaskRule]) { self.rules = rules }

    /// This table with some classes' rules replaced.
    public func replacing(_ overrides: [FieldClass: MaskRule]) -> MaskTable {
        MaskTable(rules: rules.merging(overrides) { $1 })
    }

    /// The display form of a value of `fieldClass`; nil when it is omitted.
    public func mask(_ value: String, as fieldClass: FieldClass) -> String? {
        (rules[fieldClass] ?? .omit).apply(value)
    }
}

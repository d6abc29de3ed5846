/// The class of a licence field: it decides how the field is masked for display
/// (DESIGN.md "Desensitisation").
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
        case .none: return value
        case .omit: return nil
        case .keep, .birthDate:
            // Most such values (id numbers, card numbers, dates) are ASCII, and without a CR
            // (CR LF is one character) ASCII is one character per byte: those are masked as
            // bytes, without breaking the text into characters, which costs ten times more.
            if value.utf8.allSatisfy({ $0 < 0x80 && $0 != 0x0D }) { return applyToASCII(Array(value.utf8)) }
        case .personName, .address: break
        }
        return applyToCharacters(Array(value))
    }

    /// `apply` for ASCII text without a CR, one character per byte.
    private func applyToASCII(_ bytes: [UInt8]) -> String? {
        let star = UInt8(ascii: "*")
        var masked = bytes
        switch self {
        case .keep(let first, let last):
            guard bytes.count > first + last else { return String(repeating: "*", count: bytes.count) }
            for index in first..<(bytes.count - last) { masked[index] = star }
        case .birthDate:
            guard bytes.count > 4 else { return String(repeating: "*", count: bytes.count) }
            for index in 4..<bytes.count where (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { masked[index] = star }
        default:
            return applyToCharacters(bytes.map { Character(UnicodeScalar($0)) })
        }
        return String(decoding: masked, as: UTF8.self)
    }

    private func applyToCharacters(_ chars: [Character]) -> String? {
        switch self {
        case .none:
            return String(chars)
        case .omit:
            return nil
        case .keep(let first, let last):
            guard chars.count > first + last else { return String(repeating: "*", count: chars.count) }
            return String(chars.prefix(first)) + String(repeating: "*", count: chars.count - first - last) + String(chars.suffix(last))
        case .personName:
            switch chars.count {
            case 0: return ""
            case 1: return "*"
            case 2: return String(chars[0]) + "*"
            default: return String(chars[0]) + String(repeating: "*", count: chars.count - 2) + String(chars[chars.count - 1])
            }
        case .address:
            // The first of these that still hides something; a value too short for all of
            // them shows its first half.
            let candidates = [
                chars.firstIndex(where: { "区县旗".contains($0) }).map { $0 + 1 },
                chars.prefix(12).lastIndex(of: "市").map { $0 + 1 },
                6,
            ]
            let kept = candidates.compactMap { $0 }.first { $0 < chars.count } ?? chars.count / 2
            return String(chars.prefix(kept)) + "****"
        case .birthDate:
            guard chars.count > 4 else { return String(repeating: "*", count: chars.count) }
            return String(chars.prefix(4)) + String(chars.dropFirst(4).map { $0.isNumber ? "*" : $0 })
        }
    }
}

/// Display masks per field class, as DESIGN.md's table; each class's rule can be replaced.
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

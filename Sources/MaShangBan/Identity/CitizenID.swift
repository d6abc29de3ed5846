import Foundation

/// A resident citizen ID number (公民身份号码, GB 11643-1999): 6-digit region code,
/// 8-digit birth date, 3-digit sequence, and a MOD 11-2 check character (ISO 7064).
/// A lower-case `x` check character is normalised to `X`.
public struct CitizenID: Sendable, Hashable, CustomStringConvertible {
    public let value: String

    /// Why a value is not a citizen ID. The reason never repeats the value.
    public enum Invalid: Error, Equatable, Sendable {
        case length, characters, region, birthDate(String), checkCharacter

        public var reason: String {
            switch self {
            case .length: return "length must be 18 characters"
            case .characters: return "characters: 17 digits and a digit or X are expected"
            case .region: return "region code must not start with 0"
            case .birthDate(let why): return "birth date (\(why))"
            case .checkCharacter: return "check character does not match"
            }
        }
    }

    /// GB 11643 §7: weights 2^(17-i) mod 11 for positions 1…17.
    static let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    static let checkCharacters = Array("10X98765432".utf8)

    /// The MOD 11-2 check character (ASCII) of the first 17 digits.
    static func checkCharacter(_ digits: [Int]) -> UInt8 {
        checkCharacters[zip(digits, weights).reduce(0) { $0 + $1.0 * $1.1 } % 11]
    }

    /// The full 18-character ID for 17 leading digits (for generated test and bench data);
    /// nil unless `seventeen` is exactly 17 ASCII digits.
    public static func completing(_ seventeen: String) -> String? {
        let digits = seventeen.utf8.map { Int($0) - Int(UInt8(ascii: "0")) }
        guard digits.count == 17, digits.allSatisfy({ (0...9).contains($0) }) else { return nil }
        return seventeen + String(UnicodeScalar(checkCharacter(digits)))
    }

    /// Validates `string`; `today` bounds the birth date (it may not lie in the future).
    public init(_ string: String, today: Date = Date()) throws(Invalid) {
        var bytes = Array(string.utf8)
        guard bytes.count == 18 else { throw string.count == 18 ? .characters : .length }
        if bytes[17] == UInt8(ascii: "x") { bytes[17] = UInt8(ascii: "X") }
        var digits = [Int](repeating: 0, count: 17)
        for i in 0..<17 {
            guard bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") else { throw .characters }
            digits[i] = Int(bytes[i] - UInt8(ascii: "0"))
        }
        guard bytes[17] == UInt8(ascii: "X") || (bytes[17] >= UInt8(ascii: "0") && bytes[17] <= UInt8(ascii: "9")) else {
            throw .characters
        }
        guard digits[0] != 0 else { throw .region }
        try Self.checkBirthDate(Array(digits[6..<14]), today: today)
        guard Self.checkCharacter(digits) == bytes[17] else { throw .checkCharacter }
        value = String(decoding: bytes, as: UTF8.self)
    }

    private static func checkBirthDate(_ d: [Int], today: Date) throws(Invalid) {
        let year = d[0] * 1000 + d[1] * 100 + d[2] * 10 + d[3]
        let month = d[4] * 10 + d[5]
        let day = d[6] * 10 + d[7]
        guard (1..<13).contains(month) else { throw .birthDate("month \(month)") }
        guard year >= 1800 else { throw .birthDate("year before 1800") }
        guard day >= 1, day <= CalendarDate.daysIn(month: month, year: year) else { throw .birthDate("no such day") }
        guard CalendarDate.format(year: year, month: month, day: day) <= CalendarDate(today).text else {
            throw .birthDate("in the future")
        }
    }

    public var description: String { value }

    /// The 6-digit administrative region code of registration.
    public var region: String { String(value.prefix(6)) }

    /// Validates a citizen ID a client sent; 422 `invalid_citizen_id` naming `field`.
    public init(_ string: String, field: String, today: Date) throws {
        do { self = try CitizenID(string, today: today) } catch { throw MSBError.invalidCitizenID(field, error) }
    }
}

extension MSBError {
    public static func invalidCitizenID(_ field: String, _ reason: CitizenID.Invalid) -> MSBError {
        MSBError(.invalidCitizenID, "\(field) is not a valid citizen ID: \(reason.reason)")
    }

    public static func invalidCreditCode(_ field: String, _ reason: CreditCode.Invalid) -> MSBError {
        MSBError(.invalidCreditCode, "\(field) is not a valid unified social credit code: \(reason.reason)")
    }
}

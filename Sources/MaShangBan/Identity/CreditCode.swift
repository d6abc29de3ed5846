import Foundation

/// A unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters from a
/// 31-character alphabet (digits and capitals without I, O, S, V, Z), the last a check
/// character over the first 17 with weights 3^(i) mod 31.
public struct CreditCode: Sendable, Hashable, CustomStringConvertible {
    public let value: String

    public enum Invalid: Error, Equatable, Sendable {
        case length, lowerCase, character(Character), checkCharacter

        public var reason: String {
            switch self {
            case .length: return "length must be 18 characters"
            case .lowerCase: return "lower case is not accepted"
            case .character(let c): return "character \(c) is not in the alphabet"
            case .checkCharacter: return "check character does not match"
            }
        }
    }

    static let alphabet = Array("0123456789ABCDEFGHJKLMNPQRTUWXY")
    static let values: [Character: Int] = Dictionary(uniqueKeysWithValues: alphabet.enumerated().map { ($1, $0) })
    static let weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]

    public init(_ string: String) throws(Invalid) {
        let chars = Array(string)
        guard chars.count == 18 else { throw .length }
        if chars.contains(where: { $0.isLowercase }) { throw .lowerCase }
        var numbers: [Int] = []
        for c in chars {
            guard let v = Self.values[c] else { throw .character(c.isASCII && !c.isWhitespace ? c : "?") }
            numbers.append(v)
        }
        let sum = zip(numbers.prefix(17), Self.weights).reduce(0) { $0 + $1.0 * $1.1 }
        let check = (31 - sum % 31) % 31
        guard numbers[17] == check else { throw .checkCharacter }
        value = string
    }

    public var description: String { value }
}


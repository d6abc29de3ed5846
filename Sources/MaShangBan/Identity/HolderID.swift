import Foundation

/// A holder id: a person's citizen ID or an enterprise's credit code, validated.
public enum HolderID: Sendable, Hashable, CustomStringConvertible {
    case person(CitizenID)
    case enterprise(CreditCode)

    public var kind: HolderKind {
        switch self {
        case .person: return .person
        case .enterprise: return .enterprise
        }
    }

    public var value: String {
        switch self {
        case .person(let id): return id.value
        case .enterprise(let code): return code.value
        }
    }

    public var description: String { value }

    /// Validates `value` as the given kind; `field` names it in the error.
    public init(_ value: String, kind: HolderKind, field: String, today: Date) throws {
        switch kind {
        case .person:
            self = .person(try CitizenID(value, field: field, today: today))
        case .enterprise:
            do { self = .enterprise(try CreditCode(value)) } catch { throw MSBError.invalidCreditCode(field, error) }
        }
    }

    /// Validates `value` as whichever kind it is (a path segment names no kind): a citizen
    /// ID when it is one, else a credit code. The error speaks of a citizen ID when the
    /// first 17 characters are digits.
    public init(either value: String, field: String, today: Date) throws {
        if let id = try? CitizenID(value, today: today) {
            self = .person(id)
        } else if let code = try? CreditCode(value) {
            self = .enterprise(code)
        } else {
            let looksPersonal = value.count == 18 && value.prefix(17).allSatisfy { $0.isASCII && $0.isNumber }
            try self.init(value, kind: looksPersonal ? .person : .enterprise, field: field, today: today)
        }
    }
}

import Foundation

/// A licence as an issuer sends it (docs/API.md "Issuer"). Field values are strings. `issuer`
/// is accepted and ignored: a licence's issuer name is its issuer client's name.
public struct LicenceSubmission: Sendable, Decodable, Equatable {
    public struct Holder: Sendable, Decodable, Equatable {
        public var kind: String
        public var id: String
    }

    public var type: String
    public var number: String
    public var holder: Holder
    public var fields: [String: String]
    public var validFrom: String
    public var validUntil: String?
    public var issuer: String?

    enum CodingKeys: String, CodingKey {
        case type, number, holder, fields, issuer
        case validFrom = "valid_from"
        case validUntil = "valid_until"
    }

    /// Decodes one NDJSON line. A compact line of exactly the documented members is read
    /// without a general parser (`compact`); another well-formed line through
    /// `JSONSerialization` (about three times faster than `JSONDecoder` here, and a batch
    /// reads millions); anything neither maps exactly goes through `JSONDecoder`, whose error
    /// is the one reported, so a line is accepted or refused as the single-licence route would.
    static func decode(line: [UInt8], fallback decoder: JSONDecoder) throws -> LicenceSubmission {
        try compact(line) ?? general(line, fallback: decoder)
    }

    /// `decode` without the compact reader.
    static func general(_ line: [UInt8], fallback decoder: JSONDecoder) throws -> LicenceSubmission {
        let data = Data(line)
        if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           let submission = LicenceSubmission(object) {
            return submission
        }
        return try decoder.decode(LicenceSubmission.self, from: data)
    }

    /// A line as compact as issuers' tools write NDJSON, read by `CanonicalReader`: only the
    /// documented members, each once, strings (or null for `valid_until` and `issuer`), no
    /// white space. Nil for anything else (another member, a repeated one, white space, an
    /// escape `JSONValue` never writes), which the general parsers then read: what this
    /// accepts, they read alike (the fuzz target `ndjson` checks it).
    static func compact(_ line: [UInt8]) -> LicenceSubmission? {
        var reader = CanonicalReader(bytes: line)
        var (type, number, validFrom): (String?, String?, String?) = (nil, nil, nil)
        var (validUntil, issuer): (String??, String??) = (nil, nil)
        var holder: Holder?
        var fields: [String: String]?
        func optional(_ reader: inout CanonicalReader) -> String?? {
            reader.null() ? .some(nil) : reader.string().map { .some($0) }
        }
        let read = reader.object { name, reader in
            switch name {
            case "type" where type == nil: type = reader.string(); return type != nil
            case "number" where number == nil: number = reader.string(); return number != nil
            case "valid_from" where validFrom == nil: validFrom = reader.string(); return validFrom != nil
            case "valid_until" where validUntil == nil: validUntil = optional(&reader); return validUntil != nil
            case "issuer" where issuer == nil: issuer = optional(&reader); return issuer != nil
            case "fields" where fields == nil: fields = reader.strings(); return fields != nil
            case "holder" where holder == nil:
                var (kind, id): (String?, String?) = (nil, nil)
                let read = reader.object { name, reader in
                    switch name {
                    case "kind" where kind == nil: kind = reader.string(); return kind != nil
                    case "id" where id == nil: id = reader.string(); return id != nil
                    default: return false
                    }
                }
                guard read, let kind, let id else { return false }
                holder = Holder(kind: kind, id: id)
                return true
            default: return false
            }
        }
        guard read, reader.atEnd, let type, let number, let holder, let fields, let validFrom else { return nil }
        return LicenceSubmission(type: type, number: number, holder: holder, fields: fields, validFrom: validFrom,
                                 validUntil: validUntil ?? nil, issuer: issuer ?? nil)
    }

    /// The submission if `object` has exactly the documented types; nil otherwise.
    private init?(_ object: [String: Any]) {
        guard let type = object["type"] as? String, let number = object["number"] as? String,
              let holder = object["holder"] as? [String: Any],
              let kind = holder["kind"] as? String, let id = holder["id"] as? String,
              let fields = object["fields"] as? [String: String],
              let validFrom = object["valid_from"] as? String
        else { return nil }
        var issuer: String?
        switch object["issuer"] {
        case nil, is NSNull: issuer = nil
        case let value as String: issuer = value
        default: return nil
        }
        var validUntil: String?
        switch object["valid_until"] {
        case nil, is NSNull: validUntil = nil
        case let value as String: validUntil = value
        default: return nil
        }
        self.init(type: type, number: number, holder: Holder(kind: kind, id: id), fields: fields,
                  validFrom: validFrom, validUntil: validUntil, issuer: issuer)
    }

    init(type: String, number: String, holder: Holder, fields: [String: String], validFrom: String, validUntil: String?, issuer: String?) {
        (self.type, self.number, self.holder, self.fields, self.validFrom, self.validUntil, self.issuer) =
            (type, number, holder, fields, validFrom, validUntil, issuer)
    }
}

/// A licence's state as seen now: `valid`, `expired` (past `valid_until`) or `revoked`.
public enum LicenceStatus: String, Sendable, Codable {
    case valid, expired, revoked

    /// Revoked wins; otherwise expired once `valid_until` lies before `today`.
    public init(revoked: Bool, validUntil: CalendarDate?, today: CalendarDate) {
        if revoked { self = .revoked }
        else if let validUntil, validUntil < today { self = .expired }
        else { self = .valid }
    }
}

/// A licence from the library, decrypted.
public struct Licence: Sendable, Equatable {
    public let id: String
    public let type: LicenceType
    public let number: String
    public let holder: HolderID
    public let fields: [String: String]
    public let validFrom: CalendarDate
    public let validUntil: CalendarDate?
    public let issuer: String
    public let revoked: Bool

    public func status(today: CalendarDate) -> LicenceStatus {
        LicenceStatus(revoked: revoked, validUntil: validUntil, today: today)
    }

    public static func == (a: Licence, b: Licence) -> Bool { a.id == b.id && a.fields == b.fields && a.revoked == b.revoked }
}

/// A submission that passed every check against its type.
struct ValidatedLicence: Sendable {
    let type: LicenceType
    let number: String
    let holder: HolderID
    let fields: [String: String]
    let validFrom: CalendarDate
    let validUntil: CalendarDate?

    /// Checks a submission against its type (docs/API.md "Issuer"): unknown type 422
    /// `unknown_licence_type`; bad holder ids 422 `invalid_citizen_id` / `invalid_credit_code`;
    /// anything else 422 `validation_failed` naming the field. Details never hold values.
    init(_ s: LicenceSubmission, type: LicenceType?, today: Date) throws {
        guard let type else {
            throw MSBError(.unknownLicenceType, "type is not a known licence type")
        }
        guard let kind = HolderKind(rawValue: s.holder.kind) else {
            throw MSBError.validationFailed("holder.kind must be person or enterprise")
        }
        guard kind == type.holder else {
            throw MSBError.validationFailed("holder.kind must be \(type.holder.rawValue) for a \(type.code)")
        }
        let holder = try HolderID(s.holder.id, kind: kind, field: "holder.id", today: today)
        var number = try MSBError.requireText(s.number, field: "number", maximum: 64)
        if type.numberClass == .citizenID {
            do { number = try CitizenID(number, today: today).value } catch { throw MSBError.invalidCitizenID("number", error) }
        }
        if let unknown = s.fields.keys.filter({ type.field($0) == nil }).min() {
            throw MSBError.validationFailed("fields.\(unknown.prefix(64)) is not a field of \(type.code)")
        }
        var fields: [String: String] = [:]
        for field in type.fields {  // in the type's order, so the first problem reported is always the same
            guard let value = s.fields[field.name] else { continue }
            let name = field.name
            guard value.utf8.count <= (field.fieldClass == .photo ? 512 * 1024 : 4096), !value.hasControlCharacters else {
                throw MSBError.validationFailed("fields.\(name) is too long or holds control characters")
            }
            if value.isEmpty { continue }
            var normalised = value
            if field.fieldClass == .citizenID {
                do { normalised = try CitizenID(value, today: today).value } catch { throw MSBError.invalidCitizenID("fields.\(name)", error) }
            }
            if field.namesHolder, normalised != holder.value {
                throw MSBError.validationFailed("fields.\(name) must equal holder.id")
            }
            fields[name] = normalised
        }
        for field in type.fields where field.required && fields[field.name] == nil {
            throw MSBError.validationFailed("fields.\(field.name) is required")
        }
        guard let validFrom = CalendarDate(s.validFrom) else { throw MSBError.validationFailed("valid_from must be a YYYY-MM-DD date") }
        var validUntil: CalendarDate?
        if let raw = s.validUntil {
            guard let date = CalendarDate(raw) else { throw MSBError.validationFailed("valid_until must be a YYYY-MM-DD date") }
            guard validFrom <= date else { throw MSBError.validationFailed("valid_until is before valid_from") }
            validUntil = date
        }
        (self.type, self.number, self.holder, self.fields, self.validFrom, self.validUntil) =
            (type, number, holder, fields, validFrom, validUntil)
    }
}

import Foundation
import GRDB

/// Whose licence it is: a person (citizen ID) or an enterprise (credit code).
public enum HolderKind: String, Sendable, Codable, CaseIterable {
    case person, enterprise
}

/// One field of a licence type. Values are JSON strings.
public struct LicenceField: Sendable, Codable, Equatable {
    public let name: String
    public let fieldClass: FieldClass
    /// Must be present and non-empty.
    public let required: Bool
    /// Names the holder: its value must equal the holder id.
    public let namesHolder: Bool

    public init(_ name: String, _ fieldClass: FieldClass, required: Bool = false, namesHolder: Bool = false) {
        self.name = name
        self.fieldClass = fieldClass
        self.required = required || namesHolder
        self.namesHolder = namesHolder
    }

    enum CodingKeys: String, CodingKey {
        case name, required
        case fieldClass = "class"
        case namesHolder = "names_holder"
    }
}

/// A kind of licence (证照类型): who holds it, its fields and their classes, and the class
/// that masks its number.
public struct LicenceType: Sendable, Codable, Equatable {
    public let code: String
    public let name: String
    public let holder: HolderKind
    public let numberClass: FieldClass
    public let fields: [LicenceField]
    public let builtIn: Bool

    enum CodingKeys: String, CodingKey {
        case code, name, holder, fields
        case numberClass = "number_class"
        case builtIn = "built_in"
    }

    public func field(_ name: String) -> LicenceField? { fields.first { $0.name == name } }

    /// The business licence (营业执照): it names the enterprise's legal representative, who
    /// authorises the enterprise's agents.
    static let businessLicence = "business_licence"
    static let legalRepresentativeField = "legal_representative_id"

    /// The five built-in types (docs/API.md "Built-in licence types").
    public static let builtIns: [LicenceType] = [
        LicenceType(code: "resident_id_card", name: "居民身份证", holder: .person, numberClass: .citizenID, fields: [
            .init("name", .personName, required: true), .init("sex", .public, required: true), .init("ethnicity", .public),
            .init("birth_date", .birthDate, required: true), .init("address", .address, required: true),
            .init("id_number", .citizenID, namesHolder: true), .init("issuing_authority", .public), .init("photo", .photo),
        ], builtIn: true),
        LicenceType(code: "social_security_card", name: "社会保障卡", holder: .person, numberClass: .account, fields: [
            .init("name", .personName, required: true), .init("id_number", .citizenID, namesHolder: true),
            .init("card_number", .account, required: true), .init("issuing_region", .public),
        ], builtIn: true),
        LicenceType(code: businessLicence, name: "营业执照", holder: .enterprise, numberClass: .public, fields: [
            .init("credit_code", .public, namesHolder: true), .init("enterprise_name", .public, required: true),
            .init("enterprise_type", .public), .init("legal_representative", .personName, required: true),
            .init(legalRepresentativeField, .citizenID, required: true), .init("registered_capital", .public),
            .init("established_on", .public), .init("address", .address, required: true), .init("business_scope", .public),
        ], builtIn: true),
        LicenceType(code: "construction_permit", name: "建筑工程施工许可证", holder: .enterprise, numberClass: .licenceNumber, fields: [
            .init("permit_number", .licenceNumber, required: true), .init("project_name", .public, required: true),
            .init("construction_unit", .public, required: true), .init("site_address", .address, required: true),
            .init("contract_price", .public), .init("area_m2", .public),
        ], builtIn: true),
        LicenceType(code: "planning_permit", name: "建设工程规划许可证", holder: .enterprise, numberClass: .licenceNumber, fields: [
            .init("permit_number", .licenceNumber, required: true), .init("project_name", .public, required: true),
            .init("site_address", .address, required: true), .init("construction_scale", .public),
        ], builtIn: true),
    ]
}

/// The built-in licence types and those an admin added (stored in `licence_types`).
public struct LicenceTypeRegistry: Sendable {
    let transactions: Transactions
    let audit: AuditLog
    let now: Now

    /// What an admin sends to add a type.
    public struct Definition: Sendable, Decodable {
        public var code: String
        public var name: String
        public var holder: String
        public var numberClass: String
        public var fields: [FieldDefinition]

        public struct FieldDefinition: Sendable, Decodable {
            public var name: String
            public var fieldClass: String
            public var required: Bool?
            public var namesHolder: Bool?

            enum CodingKeys: String, CodingKey {
                case name, required
                case fieldClass = "class"
                case namesHolder = "names_holder"
            }
        }

        enum CodingKeys: String, CodingKey {
            case code, name, holder, fields
            case numberClass = "number_class"
        }
    }

    public func all() async throws -> [LicenceType] {
        try await transactions.read { db in try Self.all(db) }
    }

    static func all(_ db: Database) throws -> [LicenceType] {
        let added = try LicenceTypeStore.definitions(db).map(definitions.decode)
        return LicenceType.builtIns + added
    }

    static func find(_ db: Database, code: String) throws -> LicenceType? {
        if let builtIn = LicenceType.builtIns.first(where: { $0.code == code }) { return builtIn }
        return try LicenceTypeStore.definition(code, db).map(definitions.decode)
    }

    static let definitions = DefinitionCache<LicenceType>()

    /// Adds a type. 422 `validation_failed` for a bad code, holder or field, or an unknown
    /// class; 422 `licence_type_exists` for a code already taken.
    public func add(_ definition: Definition, by actor: AuditActor) async throws -> LicenceType {
        let now = self.now()
        let type = try Self.validate(definition)
        let audit = self.audit
        let json = String(decoding: try JSONEncoder().encode(type), as: UTF8.self)
        try await transactions.write { db in
            if try Self.find(db, code: type.code) != nil {
                throw MSBError(.licenceTypeExists, "licence type \(type.code) exists already")
            }
            try LicenceTypeStore.insert(code: type.code, definition: json, at: now, db)
            try audit.append(db, actor: actor, action: "licence_type.created", object: "licence_type:\(type.code)",
                             detail: ["fields": .int(Int64(type.fields.count))])
        }
        return type
    }

    static let codeShape = CodeShape(first: "a-z", "a-z0-9_", lengths: 2...64)

    static func validate(_ d: Definition) throws -> LicenceType {
        guard codeShape.matches(d.code) else {
            throw MSBError.validationFailed("code must be 2 to 64 lower-case letters, digits or '_', starting with a letter")
        }
        let name = try MSBError.requireText(d.name, field: "name", maximum: 100)
        guard let holder = HolderKind(rawValue: d.holder) else { throw MSBError.validationFailed("holder must be person or enterprise") }
        guard let numberClass = FieldClass(rawValue: d.numberClass) else {
            throw MSBError.validationFailed("number_class: unknown field class \(d.numberClass.prefix(40))")
        }
        guard !d.fields.isEmpty, d.fields.count <= 100 else { throw MSBError.validationFailed("fields must list 1 to 100 fields") }
        var fields: [LicenceField] = []
        for (i, f) in d.fields.enumerated() {
            guard codeShape.matches(f.name) else {
                throw MSBError.validationFailed("fields[\(i)].name must be 2 to 64 lower-case letters, digits or '_'")
            }
            guard let fieldClass = FieldClass(rawValue: f.fieldClass) else {
                throw MSBError.validationFailed("fields[\(i)].class: unknown field class \(f.fieldClass.prefix(40))")
            }
            guard !fields.contains(where: { $0.name == f.name }) else {
                throw MSBError.validationFailed("fields[\(i)].name \(f.name) appears twice")
            }
            fields.append(LicenceField(f.name, fieldClass, required: f.required ?? false, namesHolder: f.namesHolder ?? false))
        }
        return LicenceType(code: d.code, name: name, holder: holder, numberClass: numberClass, fields: fields, builtIn: false)
    }
}

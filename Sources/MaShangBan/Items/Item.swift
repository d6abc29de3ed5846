import Foundation
import GRDB

/// An item (事项) handled at a window: the licence types it needs (一件事一次办: one scan
/// carries them all), the approval system that receives it (none for an item another region
/// decides: 异地代收 sends its submissions to that region), and its field policies.
public struct Item: Sendable, Codable, Equatable {
    public let code: String
    public let name: String
    public let approvalSystem: String?
    public let required: [String]
    public let fields: FieldPolicies
    public let createdAt: Timestamp
    /// 跨域通办: the national item code (全国统一事项编码) that names it to other regions, and the
    /// region that decides it (nil: this one; items created before these were added have
    /// neither).
    public let nationalCode: String?
    public let decidedBy: String?

    enum CodingKeys: String, CodingKey {
        case code, name, required, fields
        case approvalSystem = "approval_system"
        case createdAt = "created_at"
        case nationalCode = "national_code"
        case decidedBy = "decided_by"
    }
}

public struct ItemRegistry: Sendable {
    let transactions: Transactions
    let audit: AuditLog
    let now: Now
    /// This deployment's region: the one that decides an item unless it names another.
    let region: String

    public struct Definition: Sendable, Decodable {
        public var code: String
        public var name: String
        public var approvalSystem: String?
        public var required: [String]
        public var fields: [String: String]?
        public var nationalCode: String?
        public var decidedBy: String?

        enum CodingKeys: String, CodingKey {
            case code, name, required, fields
            case approvalSystem = "approval_system"
            case nationalCode = "national_code"
            case decidedBy = "decided_by"
        }
    }

    static let codeShape = CodeShape(first: "a-z0-9", "a-z0-9_-", lengths: 2...64)
    static let nationalCodeShape = CodeShape(first: "0-9A-Za-z", "0-9A-Za-z._-", lengths: 1...64)

    /// Adds an item. 422: `unknown_licence_type`, `unknown_approval_system`, `item_exists`,
    /// or `validation_failed` for a bad code, name, policy value, a policy key naming a
    /// field the type lacks, or an approval system missing (or, for an item another region
    /// decides, named).
    public func create(_ d: Definition, by actor: AuditActor) async throws -> Item {
        guard Self.codeShape.matches(d.code) else {
            throw MSBError.validationFailed("code must be 2 to 64 lower-case letters, digits, '_' or '-'")
        }
        let name = try MSBError.requireText(d.name, field: "name", maximum: 100)
        if let national = d.nationalCode, !Self.nationalCodeShape.matches(national) {
            throw MSBError.validationFailed("national_code must be 1 to 64 letters, digits, '.', '_' or '-'")
        }
        if let decider = d.decidedBy {
            guard CodeShape.regionCode.matches(decider) else { throw MSBError.validationFailed("decided_by must be a 6-digit region code") }
            guard d.nationalCode != nil else { throw MSBError.validationFailed("decided_by needs national_code: the other region knows the item by it") }
        }
        let decidedElsewhere = d.decidedBy.map { $0 != region } ?? false
        if decidedElsewhere, d.approvalSystem != nil {
            throw MSBError.validationFailed("an item another region decides has no approval system here: its submissions go to that region")
        }
        if !decidedElsewhere, d.approvalSystem == nil { throw MSBError.validationFailed("approval_system is required") }
        guard !d.required.isEmpty, d.required.count <= 20, Set(d.required).count == d.required.count else {
            throw MSBError.validationFailed("required must list 1 to 20 different licence types")
        }
        let instant = now()
        let createdAt = Timestamp(instant)
        let audit = self.audit
        return try await transactions.write { db in
            var types: [String: LicenceType] = [:]
            for code in d.required {
                guard let type = try LicenceTypeRegistry.find(db, code: code) else {
                    throw MSBError(.unknownLicenceType, "required names an unknown licence type")
                }
                types[code] = type
            }
            var policies: [String: FieldPolicy] = [:]
            for (key, value) in d.fields ?? [:] {
                guard let policy = FieldPolicy(rawValue: value) else {
                    throw MSBError.validationFailed("fields.\(key.prefix(80)) must be full, masked or omitted")
                }
                if !FieldPolicies.partyKeys.contains(key) {
                    let parts = key.split(separator: ".", maxSplits: 1).map(String.init)
                    guard parts.count == 2, let type = types[parts[0]] else {
                        throw MSBError.validationFailed("fields.\(key.prefix(80)) must name a required licence type and one of its fields")
                    }
                    guard parts[1] == "number" || type.field(parts[1]) != nil else {
                        throw MSBError.validationFailed("fields.\(key.prefix(80)): \(type.code) has no field \(parts[1].prefix(64))")
                    }
                }
                policies[key] = policy
            }
            if let system = d.approvalSystem, try !ApprovalSystemStore.exists(system, db) {
                throw MSBError(.unknownApprovalSystem, "approval_system names no registered approval system")
            }
            if try ItemStore.exists(d.code, db) {
                throw MSBError(.itemExists, "item \(d.code) exists already")
            }
            let item = Item(code: d.code, name: name, approvalSystem: d.approvalSystem, required: d.required,
                            fields: FieldPolicies(policies), createdAt: createdAt, nationalCode: d.nationalCode,
                            decidedBy: d.decidedBy ?? (d.nationalCode == nil ? nil : region))
            try ItemStore.insert(code: item.code, approvalSystem: item.approvalSystem,
                                 definition: String(decoding: try JSONEncoder().encode(item), as: UTF8.self), at: instant, db)
            var detail: [String: JSONValue] = ["required": .int(Int64(item.required.count))]
            if let system = item.approvalSystem { detail["approval_system"] = .string(system) }
            if let decider = item.decidedBy, decider != region { detail["decided_by"] = .string(decider) }
            try audit.append(db, actor: actor, action: "item.created", object: "item:\(item.code)", detail: detail)
            return item
        }
    }

    public func list() async throws -> [Item] {
        try await transactions.read { db in
            try ItemStore.definitions(db).map(Self.definitions.decode)
        }
    }

    /// 跨域通办's catalogue: the items this region decides that carry a national code, which
    /// peer regions may take at their windows (`GET /v1/federation/items`).
    public func crossRegion() async throws -> [Item] {
        try await list().filter { $0.nationalCode != nil && ($0.decidedBy ?? region) == region }
    }

    /// The item, or 404 `not_found`.
    public func find(_ code: String) async throws -> Item {
        try await transactions.read { db in try Self.find(db, code) }
    }

    /// This region's item with a national code: the one it decides, else any (the oldest); nil if none.
    static func find(_ db: Database, nationalCode: String, region: String) throws -> Item? {
        let matching = try ItemStore.definitions(db).map(definitions.decode).filter { $0.nationalCode == nationalCode }
        return matching.first { ($0.decidedBy ?? region) == region } ?? matching.first
    }

    static func find(_ db: Database, _ code: String) throws -> Item {
        guard let json = try ItemStore.definition(code, db) else { throw MSBError.notFound("no such item") }
        return try definitions.decode(json)
    }

    static let definitions = DefinitionCache<Item>()
}

/// What an item's receiving approval system gets of one field: the value, its display
/// mask, or nothing. A field an item does not list is `omitted` (data minimisation).
public enum FieldPolicy: String, Sendable, Codable, CaseIterable {
    case full, masked, omitted
}

/// An item's field policies, keyed `<licence type>.<field>` (also `<licence type>.number`)
/// and `holder.id` / `agent.id`.
public struct FieldPolicies: Sendable, Equatable, Codable {
    public let policies: [String: FieldPolicy]

    public init(_ policies: [String: FieldPolicy]) { self.policies = policies }

    public func policy(_ key: String) -> FieldPolicy { policies[key] ?? .omitted }

    public init(from decoder: any Decoder) throws {
        policies = try decoder.singleValueContainer().decode([String: FieldPolicy].self)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(policies)
    }

    /// Keys that name no licence field but the parties.
    public static let partyKeys: Set<String> = ["holder.id", "agent.id"]

    /// Applies a policy to one value of `fieldClass`.
    static func apply(_ policy: FieldPolicy, _ value: String, _ fieldClass: FieldClass, masks: MaskTable) -> String? {
        switch policy {
        case .full: return value
        case .masked: return masks.mask(value, as: fieldClass)
        case .omitted: return nil
        }
    }
}

extension DisclosureView {
    /// What the item's approval system receives: `{"holder","agent","licences"}`, each field
    /// present only as the item's policy says (full, masked or left out).
    public static func receiver(policies: FieldPolicies, holder: HolderID, agent: CitizenID?, licences: [Licence],
                                masks: MaskTable) -> JSONValue {
        func party(kind: HolderKind, id: String, key: String) -> JSONValue {
            var members: [String: JSONValue] = ["kind": .string(kind.rawValue)]
            let idClass: FieldClass = kind == .person ? .citizenID : .public
            if let value = FieldPolicies.apply(policies.policy(key), id, idClass, masks: masks) { members["id"] = .string(value) }
            return .object(members)
        }
        let licenceViews: [JSONValue] = licences.map { licence in
            var fields: [String: JSONValue] = [:]
            for field in licence.type.fields {
                guard let value = licence.fields[field.name],
                      let shown = FieldPolicies.apply(policies.policy("\(licence.type.code).\(field.name)"), value, field.fieldClass, masks: masks)
                else { continue }
                fields[field.name] = .string(shown)
            }
            var members: [String: JSONValue] = ["type": .string(licence.type.code), "fields": .object(fields)]
            if let number = FieldPolicies.apply(policies.policy("\(licence.type.code).number"), licence.number,
                                                licence.type.numberClass, masks: masks) {
                members["number"] = .string(number)
            }
            return .object(members)
        }
        return .object([
            "holder": party(kind: holder.kind, id: holder.value, key: "holder.id"),
            "agent": agent.map { party(kind: .person, id: $0.value, key: "agent.id") } ?? .null,
            "licences": .array(licenceViews),
        ])
    }
}

import MaShangBan

/// A licence type with its fields and their classes.
struct LicenceTypeBody: ResponseBody {
    let type: LicenceType
    var json: JSONValue {
        .object([
            "code": .string(type.code), "name": .string(type.name), "holder": .string(type.holder.rawValue),
            "number_class": .string(type.numberClass.rawValue), "built_in": .bool(type.builtIn),
            "fields": .array(type.fields.map { field in
                .object(["name": .string(field.name), "class": .string(field.fieldClass.rawValue), "required": .bool(field.required),
                         "names_holder": .bool(field.namesHolder)])
            }),
        ])
    }
}

/// An item (事项): what it needs, who receives it, what they may see.
struct ItemBody: ResponseBody {
    let item: Item
    var json: JSONValue {
        .object([
            "code": .string(item.code), "name": .string(item.name), "approval_system": .string(item.approvalSystem),
            "required": .array(item.required.map(JSONValue.string)), "created_at": .time(item.createdAt),
            "fields": .object(item.fields.policies.mapValues { .string($0.rawValue) }),
            "national_code": item.nationalCode.map(JSONValue.string) ?? .null, "decided_by": item.decidedBy.map(JSONValue.string) ?? .null,
        ])
    }
}

/// An approval system; its webhook secret only in the answer that registered it.
struct ApprovalSystemBody: ResponseBody {
    let system: ApprovalSystem
    var secret: String?
    var json: JSONValue {
        var members: [String: JSONValue] = ["code": .string(system.code), "name": .string(system.name),
                                            "webhook_url": .string(system.webhookURL)]
        if let secret { members["secret"] = .string(secret) } else { members["created_at"] = .time(system.createdAt) }
        return .object(members)
    }
}

/// A face-auth provider, active or revoked.
struct ProviderBody: ResponseBody {
    let provider: FaceAuthProvider
    var json: JSONValue {
        .object(["id": .string(provider.id), "name": .string(provider.name), "alg": .string(provider.alg),
                 "created_at": .time(provider.createdAt), "status": .string(provider.status), "revoked_at": .time(provider.revokedAt)])
    }
}

/// A face-check challenge: the nonce and until when it can be used.
struct ChallengeBody: ResponseBody {
    let nonce: String
    let expiresAt: Timestamp
    var json: JSONValue { .object(["nonce": .string(nonce), "expires_at": .time(expiresAt)]) }
}

// The list answers, each under its own member name.
extension ListBody where Element == LicenceTypeBody {
    init(types: [LicenceType]) { self.init(name: "licence_types", elements: types.map(LicenceTypeBody.init)) }
}

extension ListBody where Element == ItemBody {
    init(items: [Item]) { self.init(name: "items", elements: items.map(ItemBody.init)) }
}

extension ListBody where Element == ApprovalSystemBody {
    init(systems: [ApprovalSystem]) { self.init(name: "approval_systems", elements: systems.map { ApprovalSystemBody(system: $0) }) }
}

extension ListBody where Element == ProviderBody {
    init(providers: [FaceAuthProvider]) { self.init(name: "providers", elements: providers.map(ProviderBody.init)) }
}

/// `GET /v1/federation/items`: what a peer region needs to take the item at its windows.
struct FederationItemsBody: ResponseBody {
    let region: String
    let items: [Item]
    var json: JSONValue {
        .object(["region": .string(region), "items": .array(items.map { item in
            .object(["national_code": item.nationalCode.map(JSONValue.string) ?? .null, "name": .string(item.name),
                     "required": .array(item.required.map(JSONValue.string)), "decided_by": .string(item.decidedBy ?? region)])
        })])
    }
}

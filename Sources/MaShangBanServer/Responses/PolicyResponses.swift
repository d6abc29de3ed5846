import MaShangBan

struct PolicyBody: ResponseBody {
    let policy: Policy
    var snippet: String?
    var json: JSONValue {
        let list = { (values: [String]) in JSONValue.array(values.map(JSONValue.string)) }
        var members: [String: JSONValue] = [
            "id": .string(policy.id), "title": .string(policy.title), "body": .string(policy.body), "unit": .string(policy.unit),
            "industries": list(policy.industries), "regions": list(policy.regions), "enterprise_scales": list(policy.scales),
            "valid_from": .date(policy.validFrom), "valid_until": .date(policy.validUntil), "benefit": .string(policy.benefit),
            "created_at": .time(policy.createdAt),
        ]
        if let snippet { members["snippet"] = .string(snippet) }
        return .object(members)
    }
}

/// A page of policies, each with its snippet when a search found it by its words, and the
/// cursor of the next page (`null` on the last).
struct PolicyPageBody: ResponseBody {
    let hits: [PolicyHit]
    let next: String?
    var json: JSONValue {
        .object(["policies": .array(hits.map { PolicyBody(policy: $0.policy, snippet: $0.snippet).json }), "next": .string(next)])
    }
}

struct ProfileBody: ResponseBody {
    let profile: EnterpriseProfile
    var json: JSONValue {
        .object(["industry": .string(profile.industry), "region": .string(profile.region), "scale": .string(profile.scale)])
    }
}

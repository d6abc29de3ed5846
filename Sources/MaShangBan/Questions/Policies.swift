import Foundation
import GRDB

/// 惠企政策 码上查: every policy that benefits enterprises, in one searchable catalogue.
/// Policies are public documents (stored in clear); the search is SQLite FTS5 with its
/// `trigram` tokenizer over title and body (no tokenizer of ours), ranked by bm25.
public struct Policy: Sendable, Equatable {
    public let id: String
    public let title: String
    public let body: String
    /// The publishing unit (nil: published by an admin for the region).
    public let unit: String?
    /// GB/T 4754 codes (a section letter, a division, …); empty: every industry.
    public let industries: [String]
    /// Region codes; a city's or province's covers its districts; empty: everywhere.
    public let regions: [String]
    /// micro, small, medium, large; empty: every scale.
    public let scales: [String]
    public let validFrom: CalendarDate
    public let validUntil: CalendarDate?
    public let benefit: String
    public let createdAt: Timestamp
}

/// A search hit: the policy, and a snippet (the body around the first word found in it, or
/// else the title) with the words marked (`<mark>`).
public struct PolicyHit: Sendable {
    public let policy: Policy
    public let snippet: String?
}

/// An enterprise's profile (`PUT /v1/enterprise/profile`): what decides the policies it qualifies for.
public struct EnterpriseProfile: Sendable, Equatable {
    public let industry: String
    public let region: String
    public let scale: String
}

public struct Policies: Sendable {
    let transactions: Transactions
    let audit: AuditLog
    let now: Now

    public static let scales = ["micro", "small", "medium", "large"]
    public static let maximumPage = 100

    public struct Publication: Sendable, Decodable {
        public var id: String
        public var title: String
        public var body: String
        public var unit: String?
        public var industries: [String]?
        public var regions: [String]?
        public var enterpriseScales: [String]?
        public var validFrom: String
        public var validUntil: String?
        public var benefit: String

        enum CodingKeys: String, CodingKey {
            case id, title, body, unit, industries, regions, benefit
            case enterpriseScales = "enterprise_scales"
            case validFrom = "valid_from"
            case validUntil = "valid_until"
        }
    }

    static let industryShape = CodeShape(first: "A-T", "0-9", lengths: 1...5)

    /// Who publishes: an admin (any unit, or none), a unit (itself only), or the demo's loader.
    struct Publisher: Sendable {
        let unit: String?
        let isUnit: Bool
        let actor: AuditActor

        init(_ client: Client) { (unit, isUnit, actor) = (client.party, client.role == .unit, .client(client.id)) }
        init(actor: AuditActor) { (unit, isUnit, self.actor) = (nil, false, actor) }
    }

    /// A publication checked against the rules; a unit client publishes for itself only.
    static func validate(_ p: Publication, by publisher: Publisher, now: Date) throws -> Policy {
        guard CodeShape.identifier.matches(p.id) else { throw MSBError.validationFailed("id must be 1 to 64 letters, digits, '.', '_' or '-'") }
        let title = try MSBError.requireText(p.title, field: "title", maximum: 200)
        guard !p.body.trimmed.isEmpty, p.body.count <= 50_000 else { throw MSBError.validationFailed("body must be 1 to 50000 characters") }
        let benefit = try MSBError.requireText(p.benefit, field: "benefit", maximum: 500)
        var unit = p.unit
        if publisher.isUnit {
            guard p.unit == nil || p.unit == publisher.unit else { throw MSBError.forbidden("a unit publishes its own policies only") }
            unit = publisher.unit
        }
        let list = { (values: [String]?, field: String, valid: (String) -> Bool) throws -> [String] in
            let values = values ?? []
            guard values.count <= 50, Set(values).count == values.count, values.allSatisfy(valid) else {
                throw MSBError.validationFailed("\(field) must list at most 50 different valid values")
            }
            return values
        }
        let industries = try list(p.industries, "industries") { industryShape.matches($0) }
        let regions = try list(p.regions, "regions") { CodeShape.regionCode.matches($0) }
        let scales = try list(p.enterpriseScales, "enterprise_scales") { Self.scales.contains($0) }
        guard let from = CalendarDate(p.validFrom) else { throw MSBError.validationFailed("valid_from must be a date YYYY-MM-DD") }
        let until = try p.validUntil.map { text in
            guard let day = CalendarDate(text), day >= from else { throw MSBError.validationFailed("valid_until must be a date on or after valid_from") }
            return day
        }
        return Policy(id: p.id, title: title, body: p.body, unit: unit, industries: industries, regions: regions, scales: scales,
                      validFrom: from, validUntil: until, benefit: benefit, createdAt: Timestamp(now))
    }

    /// Publishes (or replaces) a policy; true when new. 403 `forbidden` (another unit's),
    /// 422 `validation_failed`, `unit_unknown`.
    public func publish(_ p: Publication, client: Client) async throws -> (policy: Policy, created: Bool) {
        let (policy, publisher) = (try Self.validate(p, by: Publisher(client), now: now()), Publisher(client))
        let audit = self.audit
        return try await transactions.write { db in
            let created = try Self.store(policy, by: publisher, audit: audit, db)
            return (policy, created)
        }
    }

    /// Publishes every line of an NDJSON body in one transaction; a bad line is reported and
    /// never stops the good ones.
    public func publish(ndjson body: [UInt8], client: Client) async throws -> BatchImport.Result {
        try await publish(ndjson: body, by: Publisher(client))
    }

    /// The demo's 200 policies, published as the system.
    @_spi(Demo) public func publish(ndjson body: [UInt8], by actor: AuditActor) async throws -> BatchImport.Result {
        try await publish(ndjson: body, by: Publisher(actor: actor))
    }

    func publish(ndjson body: [UInt8], by publisher: Publisher) async throws -> BatchImport.Result {
        let instant = now()
        var (valid, result) = BatchImport.lines(body, what: "a policy's JSON object") { (p: Publication) in
            try Self.validate(p, by: publisher, now: instant)
        }
        let (audit, lines) = (self.audit, valid)
        let refused = try await transactions.write { db -> [BatchImport.Rejection] in
            var refused: [BatchImport.Rejection] = []
            for (line, policy) in lines {
                do {
                    _ = try Self.store(policy, by: publisher, audit: audit, db)
                } catch let error as MSBError {
                    refused.append(.init(line: line, code: error.code, detail: error.detail))
                }
            }
            if lines.count - refused.count >= PolicyStore.bulk { try PolicyStore.optimize(db) }
            return refused
        }
        result.reject(refused)
        result.accepted = lines.count - refused.count
        return result
    }

    private static func store(_ policy: Policy, by publisher: Publisher, audit: AuditLog, _ db: Database) throws -> Bool {
        if let unit = policy.unit, try UnitStore.unit(unit, db) == nil { throw MSBError(.unitUnknown, "unit \(unit.prefix(32)) is not registered") }
        if let existing = try PolicyStore.owner(policy.id, db), publisher.isUnit, existing != publisher.unit {
            throw MSBError.forbidden("policy \(policy.id) is another unit's")
        }
        let created = try PolicyStore.upsert(policy, db)
        try audit.append(db, actor: publisher.actor, action: created ? "policy.published" : "policy.replaced", object: "policy:\(policy.id)")
        return created
    }

    /// Withdraws a policy (a unit: its own only). 404 `not_found`.
    public func withdraw(_ id: String, client: Client) async throws {
        let (audit, stamp) = (self.audit, Timestamp(now()))
        try await transactions.write { db in
            guard let owner = try PolicyStore.owner(id, db), client.role == .admin || owner == client.party else {
                throw MSBError.notFound("no such policy")
            }
            try PolicyStore.withdraw(id, at: stamp, db)
            try audit.append(db, actor: .client(client.id), action: "policy.withdrawn", object: "policy:\(id)")
        }
    }

    // MARK: Search

    /// What a search asks for; every field optional.
    public struct Query: Sendable {
        public var text: String?
        public var industry: String?
        public var region: String?
        public var scale: String?
        public var validOn: CalendarDate?
        public var limit = 20
        public var after: String?

        public init(text: String? = nil, industry: String? = nil, region: String? = nil, scale: String? = nil, validOn: CalendarDate? = nil,
                    limit: Int = 20, after: String? = nil) {
            (self.text, self.industry, self.region, self.scale, self.validOn, self.limit, self.after) =
                (text, industry, region, scale, validOn, limit, after)
        }
    }

    /// `GET /v1/policies`: with words, the live policies whose title or body hold every word,
    /// best first (bm25) with a snippet; without, newest first. Filters apply in SQL; `next`
    /// is the cursor of the following page. 422 `validation_failed`.
    public func search(_ q: Query) async throws -> (hits: [PolicyHit], next: String?) {
        // `+` separates words too: a form-encoded query (`q=a+b`) arrives with it undecoded.
        let words = (q.text ?? "").split(whereSeparator: { $0.isWhitespace || $0 == "+" }).map(String.init)
        guard words.count <= 8, words.allSatisfy({ $0.count <= 50 && !$0.hasControlCharacters }) else {
            throw MSBError.validationFailed("q must be at most 8 words of at most 50 characters")
        }
        if let industry = q.industry, !Self.industryShape.matches(industry) {
            throw MSBError.validationFailed("industry must be a GB/T 4754 code")
        }
        if let region = q.region, !CodeShape.regionCode.matches(region) { throw MSBError.validationFailed("region must be 6 digits") }
        if let scale = q.scale, !Self.scales.contains(scale) { throw MSBError.validationFailed("scale must be micro, small, medium or large") }
        let cursor = try q.after.map { try PolicyStore.Cursor(text: $0) }
        let filter = PolicyStore.Filter(industries: q.industry.map(Self.prefixes) ?? [], regions: q.region.map(Self.covering) ?? [],
                                        scale: q.scale, validOn: q.validOn)
        let limit = min(max(1, q.limit), Self.maximumPage)
        return try await transactions.read { db in
            let page = try PolicyStore.search(words: words, filter: filter, after: cursor, limit: limit + 1, db)
            let hits = Array(page.prefix(limit))
            return (hits.map(\.hit), page.count > limit ? hits.last?.cursor.text : nil)
        }
    }

    /// The codes a policy may name to cover an enterprise in `industry`: each prefix of it.
    static func prefixes(_ industry: String) -> [String] { (1...industry.count).map { String(industry.prefix($0)) } }

    /// The regions that cover `region`: itself, its city (`xxxx00`) and its province (`xx0000`).
    static func covering(_ region: String) -> [String] {
        Array(Set([region, String(region.prefix(4)) + "00", String(region.prefix(2)) + "0000"])).sorted()
    }

    // MARK: The enterprise's profile

    /// `PUT /v1/enterprise/profile`. 422 `validation_failed`.
    public func setProfile(industry: String, region: String, scale: String, client: Client) async throws -> EnterpriseProfile {
        guard client.role == .enterprise, let enterprise = client.party else { throw MSBError.forbidden("this route is for enterprise clients") }
        guard Self.industryShape.matches(industry), CodeShape.regionCode.matches(region), Self.scales.contains(scale)
        else { throw MSBError.validationFailed("industry must be a GB/T 4754 code, region 6 digits, scale micro, small, medium or large") }
        let profile = EnterpriseProfile(industry: industry, region: region, scale: scale)
        let (audit, stamp) = (self.audit, Timestamp(now()))
        try await transactions.write { db in
            try PolicyStore.setProfile(enterprise, profile, at: stamp, db)
            try audit.append(db, actor: .client(client.id), action: "enterprise.profile_set", object: "client:\(client.id)")
        }
        return profile
    }

    /// The policies the calling enterprise qualifies for today, newest first. 409
    /// `profile_missing` before it set its profile.
    public func forEnterprise(client: Client, limit: Int, after: String?) async throws -> (hits: [PolicyHit], next: String?) {
        guard client.role == .enterprise, let enterprise = client.party else { throw MSBError.forbidden("this route is for enterprise clients") }
        guard let profile = try await transactions.read({ db in try PolicyStore.profile(enterprise, db) }) else {
            throw MSBError(.profileMissing, "set the enterprise's profile first: PUT /v1/enterprise/profile")
        }
        return try await search(Query(industry: profile.industry, region: profile.region, scale: profile.scale, validOn: CalendarDate(now()),
                                      limit: limit, after: after))
    }
}

import Foundation
import GRDB

/// A holder's consent (授权): after face recognition, these licences may be presented —
/// optionally only for one item and at one hall — until `expiresAt`.
public struct Consent: Sendable, Equatable {
    public let id: String
    public let clientID: String
    public let holderKind: HolderKind
    public let holderRef: String
    public let agentRef: String?
    public let item: String?
    public let hall: String?
    /// The licences, in the holder's order, when granted; empty from `find` (a hand-over
    /// reads the licences themselves with their ids: `Scans.handOver`).
    public let licenceIDs: [String]
    public let createdAt: Timestamp
    public let expiresAt: Timestamp
    public let withdrawn: Bool

    /// Live: not withdrawn and not past `expiresAt` at `instant`.
    public func isLive(at instant: Date) -> Bool {
        !withdrawn && (expiresAt.date.map { $0 > instant } ?? false)
    }
}

/// Grants and withdraws consents (docs/API.md "App backend").
public struct Consents: Sendable {
    let transactions: Transactions
    let faceAuth: FaceAuth
    let vault: DataVault
    let holderReference: HolderReference
    let audit: AuditLog
    let random: any RandomSource
    let now: Now
    /// Told of each consent granted, so its first code can be signed early.
    let recent: RecentConsents

    /// `POST /v1/consents`.
    public struct Request: Sendable, Decodable {
        public var holder: String
        public var agent: String?
        public var attestation: String
        public var licences: [String]
        public var item: String?
        public var hall: String?
        public var ttlSeconds: Int?

        enum CodingKeys: String, CodingKey {
            case holder, agent, attestation, licences, item, hall
            case ttlSeconds = "ttl_seconds"
        }

        public init(holder: String, agent: String? = nil, attestation: String, licences: [String], item: String? = nil,
                    hall: String? = nil, ttlSeconds: Int? = nil) {
            (self.holder, self.agent, self.attestation, self.licences, self.item, self.hall, self.ttlSeconds) =
                (holder, agent, attestation, licences, item, hall, ttlSeconds)
        }
    }

    public static let defaultLifetime = 600
    public static let lifetimes = 60...1800

    /// Records a consent. Besides the attestation errors of `FaceAuth` (whose subject is
    /// the holder, or for an enterprise its agent): 422 `validation_failed` (field rules),
    /// 403 `agent_not_authorized`, 404 `item_unknown`, 422 `licence_not_in_wallet`,
    /// 409 `licence_revoked` / `licence_expired`.
    public func grant(_ request: Request, client: Client) async throws -> Consent {
        let faceAuth = self.faceAuth
        let instant = now()
        let holder = try HolderID(either: request.holder, field: "holder", today: instant)
        let subject: CitizenID
        var agent: CitizenID?
        switch holder {
        case .person(let id):
            guard request.agent == nil else { throw MSBError.validationFailed("agent is only for enterprise holders") }
            subject = id
        case .enterprise:
            guard let raw = request.agent else { throw MSBError.validationFailed("agent is required for an enterprise holder") }
            let id = try CitizenID(raw, field: "agent", today: instant)
            (agent, subject) = (id, id)
        }
        guard !request.licences.isEmpty, request.licences.count <= 20, Set(request.licences).count == request.licences.count else {
            throw MSBError.validationFailed("licences must list 1 to 20 different licence ids")
        }
        let ttl = request.ttlSeconds ?? Self.defaultLifetime
        guard Self.lifetimes.contains(ttl) else { throw MSBError.validationFailed("ttl_seconds must be 60 to 1800") }
        if let hall = request.hall { try Hall.validate(hall, field: "hall") }
        let today = CalendarDate(instant)
        let holderRef = holderReference.ref(holder.value)
        // Counted per app client and only once the face check has passed: failed attempts by
        // one app use up nothing, and cannot lock the holder out of another app.
        let limiter = faceAuth.limiter
        let bucket = "\(client.id):\(holderRef)"
        try await limiter.take(.consent, bucket, limit: limiter.limits.consentsPerHolder, spend: false)
        let agentRef = agent.map { holderReference.ref($0.value) }
        let consent = Consent(
            id: random.sortableIdentifier(prefix: "con", at: instant), clientID: client.id, holderKind: holder.kind,
            holderRef: holderRef, agentRef: agentRef, item: request.item, hall: request.hall, licenceIDs: request.licences,
            createdAt: Timestamp(instant), expiresAt: Timestamp(instant.addingTimeInterval(TimeInterval(ttl))),
            withdrawn: false)
        let agentBox = try agent.map { try vault.seal($0.value, context: "consent:\(consent.id):agent") }
        let attestation = await faceAuth.signed(request.attestation)
        try await transactions.unit { db in
            if let agentRef, !(try AgentStore.isAuthorised(enterpriseRef: holderRef, agentRef: agentRef, today: today, db)) {
                throw MSBError(.agentNotAuthorized, "the agent holds no live authorisation for this enterprise")
            }
            try faceAuth.verify(attestation, subject: subject, purpose: .consent, clientID: client.id, db)
            if let item = request.item, try !ItemStore.exists(item, db) {
                throw MSBError.itemUnknown
            }
            for id in request.licences {
                guard let state = try WalletStore.state(holderRef: holderRef, licence: id, db) else {
                    throw MSBError(.licenceNotInWallet, "a listed licence is not in the holder's wallet")
                }
                try Self.requireValid(revoked: state.revoked, validUntil: state.validUntil, today: today)
            }
            try ConsentStore.insert(consent, agentBox: agentBox, db)
            var detail: [String: JSONValue] = ["client": .string(client.id), "licences": .int(Int64(request.licences.count))]
            if let item = consent.item { detail["item"] = .string(item) }
            if let agentRef { detail["agent"] = .string("holder:\(agentRef)") }
            try audit.append(db, actor: .holder(ref: holderRef), action: "consent.granted", object: "consent:\(consent.id)",
                                     detail: detail)
        }
        limiter.spend(.consent, bucket, limit: limiter.limits.consentsPerHolder)
        recent.remember(consent)
        return consent
    }

    /// Withdraws a consent of this client (404 `not_found` otherwise); its unscanned codes die.
    /// Withdrawing twice changes nothing.
    public func withdraw(id: String, client: Client) async throws {
        let instant = now()
        let audit = audit
        try await transactions.unit { db in
            let consent = try ConsentStore.consent(id, db)
            guard let consent, consent.clientID == client.id else { throw MSBError.notFound("no such consent") }
            guard !consent.withdrawn else { return }
            var chain = try audit.chain(db)
            try Self.end(id, at: instant, actor: .client(client.id), chain: &chain, db)
        }
    }

    /// Marks a consent withdrawn and revokes its active presentations, with audit records.
    static func end(_ id: String, at instant: Date, actor: AuditActor, chain: inout AuditChain, _ db: Database) throws {
        _ = try ConsentStore.withdraw(id, at: instant, db)
        try chain.append(actor: actor, action: "consent.withdrawn", object: "consent:\(id)")
        for presentation in try PresentationStore.active(consent: id, db) {
            try Presentations.revoke(presentation, at: instant, actor: actor, reason: ProblemCode.consentWithdrawn.rawValue,
                                     chain: &chain, db)
        }
    }

    /// 409 `licence_revoked` or `licence_expired` unless the licence is valid `today`.
    static func requireValid(revoked: Bool, validUntil: CalendarDate?, today: CalendarDate) throws {
        switch LicenceStatus(revoked: revoked, validUntil: validUntil, today: today) {
        case .valid: return
        case .revoked: throw MSBError(.licenceRevoked, "a listed licence has been revoked")
        case .expired: throw MSBError(.licenceExpired, "a listed licence has expired")
        }
    }
}

extension MSBError {
    static let itemUnknown = MSBError(.itemUnknown, "no such item")
}

import Foundation
import GRDB

/// Agents (经办人) an enterprise authorises to present its licences. The legal
/// representative named on the enterprise's valid business licence authorises with a
/// face attestation of their own; an authorisation lasts until its `valid_until` day ends
/// or it is withdrawn.
public struct EnterpriseAgents: Sendable {
    let transactions: Transactions
    /// Opens the enterprise's business licence.
    let library: LicenceLibrary
    let faceAuth: FaceAuth
    let holderReference: HolderReference
    let audit: AuditLog
    let now: Now
    /// The furthest `valid_until` may lie ahead, in days (`--max-agent-days`).
    let maximumDays: Int

    public static let defaultMaximumDays = 366


    /// An agent's authorisation as the API shows it.
    public struct Authorisation: Sendable, Equatable {
        public let enterprise: String
        public let agent: String
        public let validUntil: String
    }

    /// Authorises `agent` for `enterprise`. 422 `business_licence_missing` when the library
    /// holds no valid business licence of the enterprise; the attestation errors of
    /// `FaceAuth` (its subject must be the legal representative); 422 `validation_failed`
    /// for a `valid_until` that is not a date from today to `maximumDays` ahead.
    public func authorise(enterprise: CreditCode, agent: CitizenID, attestation: String, validUntil: String,
                          client: Client) async throws -> Authorisation {
        let actor = AuditActor.client(client.id)
        let today = CalendarDate(now())
        guard let until = CalendarDate(validUntil) else { throw MSBError.validationFailed("valid_until must be a YYYY-MM-DD date") }
        guard until >= today else { throw MSBError.validationFailed("valid_until must not be in the past") }
        guard until <= today.adding(days: maximumDays) else {
            throw MSBError.validationFailed("valid_until must be at most \(maximumDays) days ahead")
        }
        let enterpriseRef = holderReference.ref(enterprise.value)
        let agentRef = holderReference.ref(agent.value)
        let instant = now()
        let (library, faceAuth) = (self.library, self.faceAuth)
        let signed = await faceAuth.signed(attestation)
        try await transactions.write { db in
            guard let representative = try Self.legalRepresentative(of: enterpriseRef, library: library, today: today, db) else {
                throw MSBError(.businessLicenceMissing,
                               "the library holds no valid business licence of this enterprise")
            }
            try faceAuth.verify(signed, subject: representative, purpose: .agentGrant, clientID: client.id, db)
            try AgentStore.grant(enterpriseRef: enterpriseRef, agentRef: agentRef, until: until,
                                 grantedBy: holderReference.ref(representative.value), at: instant, db)
            try audit.append(db, actor: actor, action: "agent.authorised", object: "holder:\(enterpriseRef)",
                                     detail: ["agent": .string("holder:\(agentRef)"), "valid_until": .string(until.text)])
        }
        return Authorisation(enterprise: enterprise.value, agent: agent.value, validUntil: until.text)
    }

    /// Withdraws an authorisation (404 `not_found` if there is no live one); the agent's
    /// live consents for the enterprise are withdrawn with it, and their unscanned codes die.
    public func withdraw(enterprise: CreditCode, agent: CitizenID, by actor: AuditActor) async throws {
        let enterpriseRef = holderReference.ref(enterprise.value)
        let agentRef = holderReference.ref(agent.value)
        let instant = now()
        let audit = audit
        try await transactions.write { db in
            var chain = try audit.chain(db)
            guard try Self.end(enterpriseRef, agentRef, at: instant, actor: actor, action: "agent.withdrawn", detail: [:], chain: &chain, db) else {
                throw MSBError.notFound("this agent holds no authorisation for this enterprise")
            }
        }
    }

    /// Ends, inside the caller's transaction, every live authorisation of the enterprise that
    /// `representativeRef` granted (or that was granted before grantors were recorded): its
    /// legal representative has changed. Audited `agent.ended`, reason `legal_representative_changed`.
    static func endGrants(of enterpriseRef: String, grantedBy representativeRef: String, at instant: Date, actor: AuditActor,
                          chain: inout AuditChain, _ db: Database) throws {
        for agentRef in try AgentStore.grantedBy(representativeRef, enterpriseRef: enterpriseRef, db) {
            _ = try end(enterpriseRef, agentRef, at: instant, actor: actor, action: "agent.ended",
                        detail: ["reason": "legal_representative_changed"], chain: &chain, db)
        }
    }

    /// Ends one live authorisation with the agent's live consents for the enterprise (their
    /// unscanned codes die), audited as `action`; false if there was no live one.
    private static func end(_ enterpriseRef: String, _ agentRef: String, at instant: Date, actor: AuditActor, action: String,
                            detail: [String: JSONValue], chain: inout AuditChain, _ db: Database) throws -> Bool {
        guard try AgentStore.withdraw(enterpriseRef: enterpriseRef, agentRef: agentRef, at: instant, db) else { return false }
        let consents = try ConsentStore.live(holderRef: enterpriseRef, agentRef: agentRef, at: instant, db)
        var detail = detail
        detail["agent"] = .string("holder:\(agentRef)")
        detail["consents"] = .int(Int64(consents.count))
        try chain.append(actor: actor, action: action, object: "holder:\(enterpriseRef)", detail: detail)
        for id in consents { try Consents.end(id, at: instant, actor: actor, chain: &chain, db) }
        return true
    }

    /// The legal representative on the enterprise's newest valid business licence.
    static func legalRepresentative(of enterpriseRef: String, library: LicenceLibrary, today: CalendarDate,
                                    _ db: Database) throws -> CitizenID? {
        let licence = try LicenceStore.newestValid(holderRef: enterpriseRef, type: LicenceType.businessLicence, today: today, db)
            .map { try library.open($0, db) }
        guard let id = licence?.fields[LicenceType.legalRepresentativeField] else { return nil }
        return try? CitizenID(id, today: .distantFuture)
    }
}

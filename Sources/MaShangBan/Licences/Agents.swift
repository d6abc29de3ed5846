import Foundation
import GRDB

/// Agents (经办人) an enterprise authorises to present its licences. The legal
/// representative named on the enterprise's valid business licence authorises with a
/// face attestation of their own; an authorisation lasts until its `valid_until` day ends
/// or it is withdrawn.
public struct EnterpriseAgents: Sendable {
    let library: LicenceLibrary
    let faceAuth: FaceAuth

    /// An agent's authorisation as the API shows it.
    public struct Authorisation: Sendable, Equatable {
        public let enterprise: String
        public let agent: String
        public let validUntil: String
    }

    /// Authorises `agent` for `enterprise`. 422 `business_licence_missing` when the library
    /// holds no valid business licence of the enterprise; the attestation errors of
    /// `FaceAuth` (its subject must be the legal representative); 422 `validation_failed`
    /// for a `valid_until` that is not a date from today on.
    public func authorise(enterprise: CreditCode, agent: CitizenID, attestation: String, validUntil: String,
                          by actor: AuditActor) async throws -> Authorisation {
        let today = library.today
        guard let until = CalendarDate(validUntil) else { throw MSBError.validationFailed("valid_until must be a YYYY-MM-DD date") }
        guard until >= today else { throw MSBError.validationFailed("valid_until must not be in the past") }
        let enterpriseRef = library.holderReference.ref(enterprise.value)
        let agentRef = library.holderReference.ref(agent.value)
        let stamp = Timestamp.string(library.now())
        let (library, faceAuth) = (self.library, self.faceAuth)
        try await library.pool.write { db in
            guard let representative = try Self.legalRepresentative(of: enterpriseRef, library: library, today: today, db) else {
                throw MSBError(code: "business_licence_missing", status: 422,
                               detail: "the library holds no valid business licence of this enterprise")
            }
            try faceAuth.verify(attestation, subject: representative, db)
            try db.cachedStatement(sql: """
                INSERT INTO agent_authorisations (enterprise_ref, agent_ref, valid_until, created_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (enterprise_ref, agent_ref) DO UPDATE SET valid_until = excluded.valid_until,
                    created_at = excluded.created_at, withdrawn_at = NULL
                """).execute(arguments: [enterpriseRef, agentRef, until.text, stamp])
            try library.audit.append(db, actor: actor, action: "agent.authorised", object: "holder:\(enterpriseRef)",
                                     detail: ["agent": .string("holder:\(agentRef)"), "valid_until": .string(until.text)])
        }
        return Authorisation(enterprise: enterprise.value, agent: agent.value, validUntil: until.text)
    }

    /// Withdraws an authorisation (404 `not_found` if there is no live one); the agent's
    /// live consents for the enterprise are withdrawn with it, and their unscanned codes die.
    public func withdraw(enterprise: CreditCode, agent: CitizenID, by actor: AuditActor) async throws {
        let enterpriseRef = library.holderReference.ref(enterprise.value)
        let agentRef = library.holderReference.ref(agent.value)
        let stamp = Timestamp.string(library.now())
        let audit = library.audit
        try await library.pool.write { db in
            try db.cachedStatement(sql: """
                UPDATE agent_authorisations SET withdrawn_at = ?
                WHERE enterprise_ref = ? AND agent_ref = ? AND withdrawn_at IS NULL
                """).execute(arguments: [stamp, enterpriseRef, agentRef])
            guard db.changesCount == 1 else { throw MSBError.notFound("this agent holds no authorisation for this enterprise") }
            let consents = try String.fetchAll(db.cachedStatement(sql: """
                SELECT id FROM consents WHERE holder_ref = ? AND agent_ref = ? AND withdrawn_at IS NULL AND expires_at > ?
                """), arguments: [enterpriseRef, agentRef, stamp])
            var chain = try audit.chain(db)
            try chain.append(actor: actor, action: "agent.withdrawn", object: "holder:\(enterpriseRef)",
                             detail: ["agent": .string("holder:\(agentRef)"), "consents": .int(Int64(consents.count))])
            for id in consents { try Consents.end(id, at: stamp, actor: actor, chain: &chain, db) }
        }
    }

    /// Whether `agentRef` holds a live authorisation for `enterpriseRef` on `today`.
    static func isAuthorised(enterpriseRef: String, agentRef: String, today: CalendarDate, _ db: Database) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: """
            SELECT 1 FROM agent_authorisations
            WHERE enterprise_ref = ? AND agent_ref = ? AND withdrawn_at IS NULL AND valid_until >= ?
            """), arguments: [enterpriseRef, agentRef, today.text]) ?? false
    }

    /// The legal representative on the enterprise's newest valid business licence.
    static func legalRepresentative(of enterpriseRef: String, library: LicenceLibrary, today: CalendarDate,
                                    _ db: Database) throws -> CitizenID? {
        let licence = try db.cachedStatement(sql: """
            SELECT \(LicenceLibrary.columns) FROM licences l WHERE holder_ref = ? AND type = 'business_licence' AND revoked_at IS NULL
              AND (valid_until IS NULL OR valid_until >= ?) ORDER BY rowid DESC LIMIT 1
            """).firstRow([enterpriseRef, today.text]) { try library.decode($0, db) }
        guard let id = licence?.fields["legal_representative_id"] else { return nil }
        return try? CitizenID(id, today: .distantFuture)
    }
}

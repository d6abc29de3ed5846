import Foundation
import GRDB

/// A window terminal scans a holder's code (一码出示): the token is verified, then in one
/// transaction consumed, checked against its consent and the item, and turned into a
/// submission. The window gets the display-masked view; refusals are audited.
/// A class: each scan's closures capture it, and copying a struct of these thirteen
/// members (each holding references) into each one cost a percent of a scan's CPU.
public final class Scans: Sendable {
    let transactions: Transactions
    /// Opens the consented licences.
    let library: LicenceLibrary
    let vault: DataVault
    let audit: AuditLog
    let random: any RandomSource
    let now: Now
    let keyring: Keyring
    let masks: MaskTable
    let region: String
    /// Told of each new submission, so the delivery worker sends it at once.
    let delivery: WakeSignal
    /// 跨域通办: a peer's code is redeemed by the peer that issued it.
    let peerCalls: PeerCalls

    init(transactions: Transactions, library: LicenceLibrary, vault: DataVault, audit: AuditLog, random: any RandomSource, now: @escaping Now,
         keyring: Keyring, masks: MaskTable, region: String, delivery: WakeSignal, peerCalls: PeerCalls) {
        (self.transactions, self.library, self.vault, self.audit, self.random, self.now) = (transactions, library, vault, audit, random, now)
        (self.keyring, self.masks, self.region, self.delivery, self.peerCalls) = (keyring, masks, region, delivery, peerCalls)
    }

    /// `POST /v1/scans`. Errors (docs/API.md "Terminal"): 422 `token_invalid`, 410
    /// `token_expired`, 409 `token_used`, 410 `token_revoked`, 403 `wrong_hall`, 403
    /// `consent_expired`, 403 `consent_scope`, 403 `agent_not_authorized`, 409
    /// `licence_revoked` / `licence_expired`, 404 `item_unknown`. A refused scan changes
    /// nothing (the code stays usable unless it was the problem) and is audited as
    /// `scan.rejected` with its code.
    public func scan(token: String, item code: String, terminal: Client) async throws -> WindowView {
        let instant = now()
        var jti: String?
        do {
            // Most scans are of a code we issued, as we issued it: that is checked against its
            // record instead of its signature (`QRToken.unverified`); anything else is verified.
            let unverified = QRToken.unverified(token, kind: .present, region: region, keyring: keyring, now: instant)
            jti = unverified?.jti
            if let unverified, let handedOver = try await TokenNotRecognised.orNil({
                try await accept(unverified, tokenHash: Presentations.tokenHash(token, suite: audit.suite), item: code, terminal: terminal,
                                 at: instant)
            }) {
                delivery.fire()
                return handedOver.windowView(masks: masks)
            }
            jti = nil
            // A `kid` none of our keys has may be a peer's: its codes are redeemed there.
            var unknownKID: String?
            let claims: QRToken
            do {
                claims = try QRToken.verify(token, kind: .present, region: region, now: instant) { kid in
                    keyring.verifier(kid: kid) ?? { unknownKID = kid; return nil }()
                }
            } catch let error as MSBError {
                guard let kid = unknownKID, let (peerRegion, verifier) = try await peerKey(kid) else { throw error }
                let foreign = try QRToken.verify(token, kind: .present, region: peerRegion, now: instant) { $0 == kid ? verifier : nil }
                jti = foreign.jti
                let view = try await redeemElsewhere(foreign, token: token, item: code, terminal: terminal, at: instant)
                delivery.fire()
                return view
            }
            jti = claims.jti
            let handedOver = try await accept(claims, item: code, terminal: terminal, at: instant)
            delivery.fire()
            return handedOver.windowView(masks: masks)
        } catch let error as MSBError {
            try await recordRejection(error.code, jti: jti, item: code, by: terminal, at: instant)
            throw error
        }
    }

    /// Consumes the code and hands its disclosure over. `tokenHash`, for a token read
    /// without its signature, must be its record's (else `TokenNotRecognised`).
    private func accept(_ claims: QRToken, tokenHash: String? = nil, item code: String, terminal: Client,
                        at instant: Date) async throws -> HandedOver {
        let submissionID = random.sortableIdentifier(prefix: "sub", at: instant)
        // The code, the consent, the licences' data boxes opened, the approval system's view and
        // the submission are worked out ahead (`preparedUnit`); the unit consumes the code if
        // it is still active and stores them.
        let prepare = { @Sendable [self] (db: Database) throws -> (rowid: Int64, prepared: Prepared) in
            let found = try Self.find(claims, tokenHash: tokenHash, db)
            let item = try Self.item(code, token: claims, terminal: terminal, db)
            let consent = try Self.consent(of: (found.presentation, found.consent), db)
            return (found.rowid, try prepareHandOver(consent, item: item, terminal: terminal, source: .presentation(found.presentation),
                                                     submissionID: submissionID, at: instant, db))
        }
        return try await preparedUnit(prepare, generation: { $0.prepared.generation }) { [self] read, db in
            let (rowid, prepared) = read
            guard try PresentationStore.markUsedIfActive(rowid: rowid, at: instant, db) else {
                _ = try Self.find(claims, db)  // its error: used or revoked since it was read
                throw MSBError.tokenUsed
            }
            return try record(prepared, terminal: terminal, db)
        }
    }

    /// A scan's or a claim's write unit, its work prepared ahead: `prepare` runs first on a warm
    /// read snapshot, beside the writer, and `store` gets what it returned in the unit, unless
    /// something a disclosure rests on changed since (`DisclosureStore.generation` is not the
    /// `generation` it read). Then, or if the snapshot could not prepare it (a code issued after
    /// it was taken, or any refusal), `prepare` runs again in the unit: the writer is the
    /// authority on every answer.
    func preparedUnit<P: Sendable, T: Sendable>(_ prepare: @escaping @Sendable (Database) throws -> P,
                                                generation: @escaping @Sendable (P) -> Int64,
                                                store: @escaping @Sendable (P, Database) throws -> T) async throws -> T {
        let read = try? await transactions.warmRead(prepare)
        return try await transactions.unit { db in
            let prepared = if let read, try DisclosureStore.generation(db) == generation(read) { read } else { try prepare(db) }
            return try store(prepared, db)
        }
    }

    /// The item a scan names, for a code shown at this terminal's hall.
    private static func item(_ code: String, token claims: QRToken, terminal: Client, _ db: Database) throws -> Item {
        let item: Item
        do { item = try ItemRegistry.find(db, code) } catch { throw MSBError.itemUnknown }
        if let hall = claims.aud, hall != terminal.hall {
            throw MSBError(.wrongHall, "the code is for another service hall")
        }
        return item
    }

    /// The code a verified token names, if it is still usable (else its error): its rowid,
    /// presentation and consent. With the `tokenHash` of a token read without its signature,
    /// `TokenNotRecognised` unless that is the code's.
    static func find(_ claims: QRToken, tokenHash: String? = nil, _ db: Database) throws -> (rowid: Int64, presentation: String, consent: String) {
        guard let (rowid, presentationID, consentID, state, stored) = try PresentationStore.byJTI(claims.jti, db) else {
            if tokenHash != nil { throw TokenNotRecognised() }
            throw MSBError(.tokenInvalid, "the token was not issued here")
        }
        if let tokenHash, tokenHash != stored { throw TokenNotRecognised() }
        switch state {
        case .active: return (rowid, presentationID, consentID)
        case .revoked: throw MSBError(.tokenRevoked, "the token has been revoked")
        case .used: throw MSBError.tokenUsed
        }
    }

    /// Consumes the code a verified token names, first thing in the caller's unit (a later
    /// refusal rolls the unit's savepoint back, so the code stays usable unless it was the
    /// problem); its presentation and consent.
    static func consume(_ claims: QRToken, at instant: Date, _ db: Database) throws -> (presentation: String, consent: String) {
        let found = try find(claims, db)
        try PresentationStore.markUsed(rowid: found.rowid, at: instant, db)
        return (found.presentation, found.consent)
    }

    /// A consumed code's consent, unless withdrawn (410 `token_revoked`).
    static func consent(of consumed: (presentation: String, consent: String), _ db: Database) throws -> Consent {
        guard let consent = try ConsentStore.consent(consumed.consent, db) else { throw InternalError("a presentation without its consent") }
        guard !consent.withdrawn else { throw MSBError(.tokenRevoked, "the consent has been withdrawn") }
        return consent
    }

    /// What a hand-over produced, for the window's view, which callers draw outside the
    /// writer where they can.
    struct HandedOver: Sendable {
        let submission: String
        let item: Item
        let holder: HolderID
        let agent: CitizenID?
        let licences: [Licence]
        let today: CalendarDate

        func windowView(masks: MaskTable) -> WindowView {
            DisclosureView.window(submission: submission, item: item, holder: holder, agent: agent, licences: licences, masks: masks,
                                  today: today)
        }
    }

    /// Where a submission came from: a code the window scanned (一码出示) or a window
    /// session the holder's app claimed (一码获取).
    enum Source {
        case presentation(String)
        case windowSession(String)
    }

    /// What a consent discloses for an item once checked: the holder, an agent, and the
    /// licences the item needs.
    struct Disclosed {
        let holder: HolderID
        let agent: CitizenID?
        let licences: [Licence]
        let today: CalendarDate
    }

    /// The checks a scan, a claim and a peer's redemption share, in the caller's transaction:
    /// the consent is live and covers the item (一件事一次办: every licence type it needs), each
    /// licence is valid, an agent is still authorised.
    func disclose(_ consent: Consent, item: Item, at instant: Date, _ db: Database) throws -> Disclosed {
        let today = CalendarDate(instant)
        guard !consent.withdrawn, consent.isLive(at: instant) else { throw MSBError.consentExpired }
        if let scope = consent.item, scope != item.code {
            throw MSBError(.consentScope, "the consent is for another item")
        }
        let licences = try LicenceStore.licences(consent: consent.id, db).map { try library.open($0, db) }
        let types = Set(licences.map(\.type.code))
        guard item.required.allSatisfy(types.contains) else {
            throw MSBError(.consentScope, "the item needs a licence type the consent does not cover")
        }
        // Every licence the consent carries must still be valid, needed by the item or not
        // (docs/API.md: a token carrying a revoked licence fails `licence_revoked`).
        for licence in licences {
            try Consents.requireValid(revoked: licence.revoked, validUntil: licence.validUntil, today: today)
        }
        let needed = licences.filter { item.required.contains($0.type.code) }
        var agent: CitizenID?
        if let agentRef = consent.agentRef {
            guard try AgentStore.isAuthorised(enterpriseRef: consent.holderRef, agentRef: agentRef, today: today, db) else {
                throw MSBError(.agentNotAuthorized, "the agent's authorisation has ended")
            }
            agent = try ConsentStore.agentBox(consent.id, db).flatMap {
                try CitizenID(vault.open($0, context: "consent:\(consent.id):agent"), today: .distantFuture)
            }
        }
        guard let holder = needed.first?.holder else { throw InternalError("a consent without licences") }
        return Disclosed(holder: holder, agent: agent, licences: needed, today: today)
    }

    /// A hand-over worked out but not stored: the submission to record and what the window's
    /// view is drawn from, as of the disclosure generation it was read at.
    struct Prepared: Sendable {
        let generation: Int64
        let draft: Submissions.Draft
        let handedOver: HandedOver
    }

    /// The checks a scan and a claim share (`disclose`) and the submission they make, read in
    /// the caller's transaction (a reader's, or the writer's) and stored by `record`. An item
    /// another region decides goes to that region (异地代收).
    func prepareHandOver(_ consent: Consent, item: Item, terminal: Client, source: Source, submissionID: String, at instant: Date,
                         _ db: Database) throws -> Prepared {
        let generation = try DisclosureStore.generation(db)
        let disclosed = try disclose(consent, item: item, at: instant, db)
        var presentationID: String?
        var windowSessionID: String?
        switch source {
        case .presentation(let id): presentationID = id
        case .windowSession(let id): windowSessionID = id
        }
        var draft = Submissions.Draft(id: submissionID, item: item, consentID: consent.id, presentationID: presentationID,
                                      windowSessionID: windowSessionID, terminalID: terminal.id,
                                      view: try Self.receiverView(item, disclosed, masks: masks), presentedAt: Timestamp.string(instant))
        try forward(&draft, db)
        draft.sealedBody = try Submissions.sealBody(draft, vault: vault)
        return Prepared(generation: generation, draft: draft,
                        handedOver: HandedOver(submission: submissionID, item: item, holder: disclosed.holder, agent: disclosed.agent,
                                               licences: disclosed.licences, today: disclosed.today))
    }

    /// Stores a prepared hand-over in the writer's transaction: the submission, its outbox row
    /// and its audit record.
    func record(_ prepared: Prepared, terminal: Client, _ db: Database) throws -> HandedOver {
        var chain = try audit.chain(db)
        return try record(prepared, terminal: terminal, chain: &chain, db)
    }

    /// `record` on the caller's audit chain, for a unit that audits more after it (a claim).
    func record(_ prepared: Prepared, terminal: Client, chain: inout AuditChain, _ db: Database) throws -> HandedOver {
        try Submissions.record(prepared.draft, vault: vault, actor: .client(terminal.id), chain: &chain, db)
        return prepared.handedOver
    }

    /// `prepareHandOver` and `record` in the writer's one transaction.
    func handOver(_ consent: Consent, item: Item, terminal: Client, source: Source, submissionID: String, at instant: Date,
                  _ db: Database) throws -> HandedOver {
        try record(try prepareHandOver(consent, item: item, terminal: terminal, source: source, submissionID: submissionID, at: instant, db),
                   terminal: terminal, db)
    }

    /// What the item's approval system receives of a disclosure, by the item's field policies.
    static func receiverView(_ item: Item, _ disclosed: Disclosed, masks: MaskTable) throws -> [String: JSONValue] {
        guard case .object(let view) = DisclosureView.receiver(policies: item.fields, holder: disclosed.holder, agent: disclosed.agent,
                                                                licences: disclosed.licences, masks: masks)
        else { throw InternalError("the receiver view is not an object") }
        return view
    }

    /// 异地代收: a submission for an item another region decides goes to that region, which
    /// must be a peer (else 503 `peer_unavailable`, and the scan changes nothing).
    func forward(_ draft: inout Submissions.Draft, _ db: Database) throws {
        guard let decider = draft.item.decidedBy, decider != region else { return }
        guard try PeerStore.peer(decider, db) != nil else { throw MSBError.peerUnavailable(decider, "is not a peer of this region") }
        draft.links.append(FederationStore.Link(region: decider, role: .forwardedTo, request: draft.id))
        draft.detail["decided_by"] = .string(decider)
    }

    /// Audits a refused scan or claim and counts it; the item is named only when it looks like an item code.
    func recordRejection(_ code: String, jti: String?, item: String?, by client: Client, at instant: Date) async throws {
        let itemCode = item.flatMap { ItemRegistry.codeShape.matches($0) ? $0 : nil }
        let audit = audit
        try await transactions.unit { db in
            var detail: [String: JSONValue] = ["code": .string(code)]
            if let itemCode { detail["item"] = .string(itemCode) }
            try audit.append(db, actor: .client(client.id), action: "scan.rejected", object: jti.map { "token:\($0)" } ?? "token:unreadable",
                             detail: detail)
            try SubmissionStore.recordRefusal(terminalID: client.id, item: itemCode, code: code, at: instant, db)
        }
    }
}

extension MSBError {
    static let tokenUsed = MSBError(.tokenUsed, "the token has been used already")
}

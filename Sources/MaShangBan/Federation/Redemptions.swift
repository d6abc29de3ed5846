import Foundation
import GRDB

/// What a peer asks when one of this region's codes is scanned at its window
/// (`POST /v1/federation/redemptions`).
public struct RedemptionRequest: Sendable, Decodable {
    public let token: String
    /// The item's national code (全国统一事项编码).
    public let item: String
    public let receivingRegion: String

    enum CodingKeys: String, CodingKey {
        case token, item
        case receivingRegion = "receiving_region"
    }

    var json: JSONValue { .object(["token": .string(token), "item": .string(item), "receiving_region": .string(receivingRegion)]) }
}

/// 跨域通办, a code issued elsewhere scanned here: the code is verified offline with the
/// issuing peer's pinned keys, then redeemed by that peer — which consumes it exactly once,
/// applies its own consent and field rules for the item (named by its national code) and
/// answers the views — and the submission is made here as for a local code. The peer is asked
/// with an Idempotency-Key drawn from the code and the item, so a scan retried after a lost
/// answer gets the same answer and never a second consumption.
extension Scans {
    /// The problems a peer's refusal is passed on with, as the window would get them for a local code.
    static let relayedFromIssuer: Set<ProblemCode> = [.tokenInvalid, .tokenExpired, .tokenUsed, .tokenRevoked, .wrongHall, .consentExpired,
                                                      .consentScope, .agentNotAuthorized, .licenceRevoked, .licenceExpired, .itemUnknown]

    /// The peer key `kid` names, with its region, if exactly one peer holds it (active or retired).
    func peerKey(_ kid: String) async throws -> (String, any SignatureVerifier)? {
        guard let (region, pem) = try await transactions.read({ db in try PeerStore.verifyingKey(kid: kid, db) }),
              let verifier = try? SignatureKeys.loadVerifier(publicKeyPEM: pem)
        else { return nil }
        return (region, verifier)
    }

    /// The receiving side: a peer's verified code, redeemed there, becomes a submission here.
    func redeemElsewhere(_ claims: QRToken, token: String, item code: String, terminal: Client, at instant: Date) async throws -> WindowView {
        let (item, peer, scanned) = try await transactions.read { db -> (Item, Peer?, Bool) in
            let item: Item
            do { item = try ItemRegistry.find(db, code) } catch { throw MSBError.itemUnknown }
            return (item, try PeerStore.peer(claims.iss, db), try FederationStore.submission(codeFrom: claims.iss, jti: claims.jti, db) != nil)
        }
        guard let national = item.nationalCode else {
            throw MSBError(.itemUnknown, "item \(code) has no national code, so region \(claims.iss) cannot know it")
        }
        guard let peer else { throw MSBError(.tokenInvalid, "the token was issued by a region that is not a peer") }
        guard !scanned else { throw MSBError.tokenUsed }
        let key = "fed-" + Encoding.hex(Array(audit.suite.hash(Array("\(peer.region) \(claims.jti) \(national)".utf8)).prefix(16)))
        let request = RedemptionRequest(token: token, item: national, receivingRegion: region)
        let answer = try await peerCalls.call(peer, path: "/v1/federation/redemptions", body: request.json, idempotencyKey: key)
        guard answer.succeeded else {
            if let code = answer.problemCode.flatMap(ProblemCode.init(rawValue:)), Self.relayedFromIssuer.contains(code) {
                throw MSBError(code, "region \(peer.region): \(answer.problemDetail ?? code.title)")
            }
            throw MSBError.peerUnavailable(peer.region, "refused the redemption (HTTP \(answer.status)\(answer.problemCode.map { " \($0)" } ?? ""))")
        }
        guard let json = answer.json, let redemption = json["redemption"]?.stringValue, case .object(let receiver)? = json["receiver"],
              let window = json["window"].flatMap(WindowView.init(stored:)), let peerAudit = json["audit"]
        else { throw MSBError.peerUnavailable(peer.region, "answered a redemption this region cannot read") }
        let submissionID = random.sortableIdentifier(prefix: "sub", at: instant)
        var draft = Submissions.Draft(id: submissionID, item: item, consentID: nil, presentationID: nil, windowSessionID: nil,
                                      terminalID: terminal.id, view: receiver, presentedAt: Timestamp.string(instant))
        draft.links = [FederationStore.Link(region: peer.region, role: .codeFrom, request: key, peerRequest: redemption, codeJTI: claims.jti)]
        draft.detail = ["region": .string(peer.region), "request": .string(key), "peer_request": .string(redemption)]
        draft.bodyExtras = ["issued_by": .object(["region": .string(peer.region), "redemption": .string(redemption), "audit": peerAudit])]
        let (audit, vault, prepared) = (self.audit, self.vault, draft)
        let system = try await transactions.unit { [self] db -> String? in
            // Two windows may scan the same code at once: the peer answers both alike, and only one becomes a submission.
            guard try FederationStore.submission(codeFrom: peer.region, jti: claims.jti, db) == nil else { throw MSBError.tokenUsed }
            var draft = prepared
            try forward(&draft, db)
            var chain = try audit.chain(db)
            try Submissions.record(draft, vault: vault, actor: .client(terminal.id), chain: &chain, db)
            return draft.approvalSystem
        }
        return WindowView(submission: submissionID, item: item.code, approvalSystem: system, holderKind: window.holderKind,
                          holderID: window.holderID, holderName: window.holderName, agentID: window.agentID, licences: window.licences)
    }

    /// The issuing side (`POST /v1/federation/redemptions`, from `peer`): consumes this
    /// region's code once for the peer's window and answers the window's view and what the
    /// peer's approval system receives, by this region's item with that national code. The
    /// answer is kept, sealed, under the peer's Idempotency-Key: the same request again gets
    /// the same bytes. Errors: 422 `validation_failed` (no or a bad Idempotency-Key), 403
    /// `forbidden` (`receiving_region` is not the signer), 422 `idempotency_key_reused`, and
    /// a scan's: `token_invalid`, `token_expired`, `token_used`, `token_revoked`, `wrong_hall`
    /// (the code names one of this region's halls), `consent_*`, `licence_*`,
    /// `agent_not_authorized`, `item_unknown`. Audited `federation.redeemed` or
    /// `federation.redemption_refused`, with the peer's request id.
    public func redeem(_ request: RedemptionRequest, idempotencyKey key: String?, peer: String) async throws -> [UInt8] {
        var jti: String?
        do {
            guard let key, CodeShape.peerRequestKey.matches(key) else {
                throw MSBError.validationFailed("Idempotency-Key is required: 1 to 128 letters, digits, '.', '_', ':' or '-'")
            }
            guard request.receivingRegion == peer else { throw MSBError(.forbidden, "receiving_region must be the region that signed the request") }
            let instant = now()
            let requestHash = Encoding.hex(audit.suite.hash(request.json.canonicalBytes))
            let (audit, vault, masks, random) = (self.audit, self.vault, self.masks, self.random)
            let replay = { @Sendable (earlier: FederationStore.Redemption) throws -> [UInt8] in
                guard earlier.requestHash == requestHash else {
                    throw MSBError(.idempotencyKeyReused, "this Idempotency-Key came before with another token or item")
                }
                return try vault.openBytes(earlier.answerBox, context: "redemption:\(earlier.id)")
            }
            if let earlier = try await transactions.read({ db in try FederationStore.redemption(region: peer, request: key, db) }) {
                return try replay(earlier)
            }
            let claims = try QRToken.verify(request.token, kind: .present, region: region, keyring: keyring, now: instant)
            jti = claims.jti
            return try await transactions.unit { [self] db in
                if let earlier = try FederationStore.redemption(region: peer, request: key, db) { return try replay(earlier) }
                let consumed = try Self.consume(claims, at: instant, db)
                let presentationID = consumed.presentation
                guard let item = try ItemRegistry.find(db, nationalCode: request.item, region: region) else {
                    throw MSBError(.itemUnknown, "no item of this region has national code \(request.item.prefix(64))")
                }
                if claims.aud != nil { throw MSBError(.wrongHall, "the code is for one of this region's service halls") }
                let consent = try Self.consent(of: consumed, db)
                let disclosed = try disclose(consent, item: item, at: instant, db)
                let id = random.sortableIdentifier(prefix: "red", at: instant)
                let record = try audit.append(db, actor: .region(peer), action: "federation.redeemed", object: "presentation:\(presentationID)",
                                              detail: ["region": .string(peer), "item": .string(request.item), "consent": .string(consent.id),
                                                       "redemption": .string(id), "peer_request": .string(key)])
                let window = DisclosureView.window(submission: id, item: item, holder: disclosed.holder, agent: disclosed.agent,
                                                   licences: disclosed.licences, masks: masks, today: disclosed.today)
                let answer = JSONValue.object([
                    "redemption": .string(id), "region": .string(region), "item": .string(request.item), "window": window.stored,
                    "receiver": .object(try Self.receiverView(item, disclosed, masks: masks)),
                    "audit": .object(["seq": .int(record.seq), "hash": .string(record.hash)]),
                ]).canonicalBytes
                try FederationStore.insertRedemption(id: id, region: peer, request: key, requestHash: requestHash, presentation: presentationID,
                                                     item: item.code, auditSeq: record.seq, answerBox: try vault.sealBytes(answer, context: "redemption:\(id)"),
                                                     at: Timestamp.string(instant), db)
                return answer
            }
        } catch let error as MSBError {
            let (jti, audit) = (jti, self.audit)
            try await transactions.unit { db in
                var detail: [String: JSONValue] = ["code": .string(error.code), "region": .string(peer)]
                if let key, CodeShape.peerRequestKey.matches(key) { detail["peer_request"] = .string(key) }
                _ = try audit.append(db, actor: .region(peer), action: "federation.redemption_refused",
                                     object: jti.map { "token:\($0)" } ?? "token:unreadable", detail: detail)
            }
            throw error
        }
    }
}

import Foundation
import GRDB

/// 异地代收: a submission for an item another region decides goes through the outbox to that
/// region's `POST /v1/federation/submissions`, signed, with the submission's id as its
/// Idempotency-Key, at least once; the deciding region delivers it to its approval system,
/// and its delivery state comes back (`GET /v1/federation/submissions/{id}`) into this
/// region's `GET /v1/submissions/{id}`.
extension Deliveries {
    static let forwardPath = "/v1/federation/submissions"
    /// A forwarded submission's state at its peer is asked at most this often.
    static let peerCheckInterval: TimeInterval = 2

    // MARK: The forwarding side

    /// One attempt: the frozen body to the peer; what the peer answered is kept. The status.
    func forward(_ due: Due, to peer: String) async throws -> Int {
        guard let body = try await transactions.read({ db in try Submissions.body(of: due.id, vault: vault, db) }) else {
            throw InternalError("forwarded submission \(due.id) has no body")
        }
        let base = String(due.url.dropLast(Self.forwardPath.count))
        let answer = try await peerCalls.call(region: peer, baseURL: base, path: Self.forwardPath, body: Array(body.utf8), idempotencyKey: due.id)
        if answer.succeeded { try await rememberPeerState(of: due.id, answer) }
        return answer.status
    }

    private func rememberPeerState(of id: String, _ answer: PeerCalls.Answer) async throws {
        let (json, stamp) = (answer.json, Timestamp.string(now()))
        try await transactions.unit { db in
            try FederationStore.recordPeerState(forwarded: id, peerRequest: json?["submission"]?.stringValue, status: json?["status"]?.stringValue,
                                                attempts: json?["attempts"]?.intValue.map { Int($0) },
                                                deliveredAt: json?["delivered_at"]?.stringValue, at: stamp, db)
        }
    }

    /// Asks the peer for the state of a submission forwarded and taken there, unless it is
    /// final or was asked lately; true when it answered. A peer that does not answer leaves
    /// what was last heard.
    func refreshForwarded(_ status: SubmissionStatus) async throws -> Bool {
        guard status.status == .delivered, let side = status.crossRegion.first(where: { $0.role == FederationStore.Role.forwardedTo.rawValue }),
              side.peerStatus != SubmissionState.delivered.rawValue, side.peerStatus != SubmissionState.dead.rawValue
        else { return false }
        if let checked = side.checkedAt?.date, now().timeIntervalSince(checked) < Self.peerCheckInterval { return false }
        guard let peer = try await transactions.read({ db in try PeerStore.peer(side.region, db) }),
              let answer = try? await peerCalls.call(peer, path: Self.forwardPath + "/" + status.id, body: nil), answer.succeeded
        else { return false }
        try await rememberPeerState(of: status.id, answer)
        return true
    }

    // MARK: The deciding side

    /// A submission a peer forwarded (`POST /v1/federation/submissions`, from `peer`), for an
    /// item this region decides (named by its national code): stored with its own id, audited
    /// `federation.submission_received` with the peer's id, and delivered to the item's
    /// approval system like any other. The same Idempotency-Key again changes nothing and gets
    /// the same submission (`created` false). 422 `validation_failed` (no or a bad
    /// Idempotency-Key, or not a forwarded submission's body), 404 `item_unknown`.
    public func receive(_ body: [UInt8], idempotencyKey key: String?, from peer: String) async throws -> (status: SubmissionStatus, created: Bool) {
        guard let key, CodeShape.peerRequestKey.matches(key) else {
            throw MSBError.validationFailed("Idempotency-Key is required: 1 to 128 letters, digits, '.', '_', ':' or '-'")
        }
        guard case .object(let members)? = JSONValue.parse(body), members["submission"]?.stringValue == key,
              let national = members["national_code"]?.stringValue, let presentedAt = members["presented_at"]?.stringValue,
              case .object? = members["holder"], case .array? = members["licences"]
        else {
            throw MSBError.validationFailed("the body must be a forwarded submission: submission (its Idempotency-Key), national_code, "
                + "presented_at, holder and licences")
        }
        let instant = now()
        let (audit, vault, random, region) = (self.audit, self.vault, self.random, self.region)
        let (id, created) = try await transactions.unit { db -> (String, Bool) in
            if let earlier = try FederationStore.submission(receivedFrom: peer, request: key, db) { return (earlier, false) }
            guard let item = try ItemRegistry.find(db, nationalCode: national, region: region), (item.decidedBy ?? region) == region,
                  item.approvalSystem != nil
            else { throw MSBError(.itemUnknown, "this region decides no item with national code \(national.prefix(64))") }
            let id = random.sortableIdentifier(prefix: "sub", at: instant)
            var draft = Submissions.Draft(id: id, item: item, consentID: nil, presentationID: nil, windowSessionID: nil, terminalID: nil,
                                          view: ["holder": members["holder"] ?? .null, "agent": members["agent"] ?? .null,
                                                 "licences": members["licences"] ?? .array([])],
                                          presentedAt: Timestamp.string(instant))
            draft.links = [FederationStore.Link(region: peer, role: .receivedFrom, request: key, peerRequest: key)]
            draft.action = "federation.submission_received"
            draft.detail = ["region": .string(peer), "peer_request": .string(key)]
            draft.bodyExtras = ["forwarded_by": .object(["region": .string(peer), "submission": .string(key), "presented_at": .string(presentedAt),
                                                         "audit": members["audit"] ?? .null])]
            var chain = try audit.chain(db)
            try Submissions.record(draft, vault: vault, actor: .region(peer), chain: &chain, db)
            return (id, true)
        }
        if created { wake.fire() }
        guard let status = try await transactions.read({ db in try Self.status(id, db) }) else { throw InternalError("a received submission was not stored") }
        return (status, created)
    }

    /// `GET /v1/federation/submissions/{id}`: the state here of what `peer` forwarded as `id`;
    /// 404 `not_found` for anything else.
    public func received(_ key: String, from peer: String) async throws -> SubmissionStatus {
        try await transactions.read { db in
            guard let id = try FederationStore.submission(receivedFrom: peer, request: key, db), let status = try Self.status(id, db) else {
                throw MSBError.notFound("no such forwarded submission")
            }
            return status
        }
    }
}

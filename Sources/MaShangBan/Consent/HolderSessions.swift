import Foundation
import GRDB

/// Holder sessions: an app backend reads and changes a holder's library, wallet and agents
/// only while the holder is present. A face check (purpose `holder_session`, asked by the
/// same app) opens a session of at most 30 minutes for the person seen, bound to that app;
/// the session acts for the person, and for an enterprise whose legal representative or
/// live authorised agent the person is. Only a hash of the token is stored.
public struct HolderSessions: Sendable {
    let transactions: Transactions
    let faceAuth: FaceAuth
    /// Opens an enterprise's business licence (whose legal representative the person may be).
    let library: LicenceLibrary
    let holderReference: HolderReference
    let audit: AuditLog
    let random: any RandomSource
    let now: Now
    let suite: CryptoSuite

    /// The request header that carries a session token.
    public static let header = "MSB-Holder-Session"
    public static let lifetimes = 60...1800
    static let tokenPrefix = "hs_"


    /// A new session token and when it expires.
    public struct Opened: Sendable, Equatable {
        public let token: String
        public let expiresAt: Timestamp
    }

    /// Opens a session for `person`, who was just seen (the attestation errors of `FaceAuth`;
    /// 422 `validation_failed` for a lifetime outside 60–1800 s). Audited as `holder_session.opened`.
    public func open(person: CitizenID, attestation: String, ttlSeconds: Int?, client: Client) async throws -> Opened {
        let ttl = ttlSeconds ?? Self.lifetimes.upperBound
        guard Self.lifetimes.contains(ttl) else { throw MSBError.validationFailed("ttl_seconds must be 60 to 1800") }
        let instant = now()
        let id = random.identifier(prefix: "hss")
        let token = Self.tokenPrefix + Encoding.base64URL(random.bytes(32))
        let opened = Opened(token: token, expiresAt: Timestamp(instant.addingTimeInterval(TimeInterval(ttl))))
        let personRef = holderReference.ref(person.value)
        let (faceAuth, audit, tokenHash) = (self.faceAuth, audit, suite.hash(Array(token.utf8)))
        let signed = await faceAuth.signed(attestation)
        try await transactions.unit { db in
            try faceAuth.verify(signed, subject: person, purpose: .holderSession, clientID: client.id, db)
            try HolderSessionStore.insert(id: id, tokenHash: tokenHash, clientID: client.id, personRef: personRef, at: instant,
                                          expiresAt: opened.expiresAt, db)
            try audit.append(db, actor: .holder(ref: personRef), action: "holder_session.opened", object: "holder_session:\(id)",
                             detail: ["client": .string(client.id)])
        }
        return opened
    }

    /// Ends the session `token` names (401 `holder_session_required` if none is live, 403
    /// `holder_session_mismatch` for another app's). Audited as `holder_session.ended`.
    public func end(token: String?, client: Client) async throws {
        let session = try await live(token, client: client)
        let instant = now()
        let audit = audit
        try await transactions.unit { db in
            guard try HolderSessionStore.end(session.id, at: instant, db) else { return }
            try audit.append(db, actor: .client(client.id), action: "holder_session.ended", object: "holder_session:\(session.id)")
        }
    }


    /// Passes when `token` names a live session of this app for `holder`: the person seen,
    /// or an enterprise whose legal representative or live authorised agent the person is.
    /// 401 `holder_session_required` (no token, or not a live one), 403
    /// `holder_session_mismatch` (another app's session, or for another holder).
    public func require(_ token: String?, for holder: HolderID, client: Client) async throws {
        let session = try await live(token, client: client)
        let holderRef = holderReference.ref(holder.value)
        let mismatch = MSBError(.holderSessionMismatch, "the holder session is for another holder")
        switch holder {
        case .person:
            guard session.personRef == holderRef else { throw mismatch }
        case .enterprise:
            let (library, today) = (self.library, CalendarDate(now()))
            let actsFor = try await transactions.read { db in
                if let representative = try EnterpriseAgents.legalRepresentative(of: holderRef, library: library, today: today, db),
                   holderReference.ref(representative.value) == session.personRef {
                    return true
                }
                return try AgentStore.isAuthorised(enterpriseRef: holderRef, agentRef: session.personRef, today: today, db)
            }
            guard actsFor else { throw mismatch }
        }
    }

    private func live(_ token: String?, client: Client) async throws -> (id: String, personRef: String) {
        let required = MSBError(.holderSessionRequired,
                                "this request needs a live holder session (header \(Self.header))")
        guard let token, token.hasPrefix(Self.tokenPrefix), token.utf8.count <= 128 else { throw required }
        let tokenHash = suite.hash(Array(token.utf8))
        let instant = now()
        let row = try await transactions.read { db in try HolderSessionStore.live(tokenHash: tokenHash, at: instant, db) }
        guard let row else { throw required }
        guard row.clientID == client.id else {
            throw MSBError(.holderSessionMismatch, "the holder session belongs to another app client")
        }
        return (row.id, row.personRef)
    }
}

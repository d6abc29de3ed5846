import Foundation
import GRDB

/// An issued code (一码出示): the token a holder's phone shows as a QR code.
public struct Presentation: Sendable, Equatable {
    public let id: String
    public let consentID: String
    public let token: String
    public let expiresAt: Timestamp
}

/// Issues and cancels presentations. One consent has at most one live code: a new one
/// revokes the previous unscanned one.
public struct Presentations: Sendable {
    let transactions: Transactions
    let keyring: Keyring
    let audit: AuditLog
    let random: any RandomSource
    let now: Now
    /// The 6-digit region code tokens carry as `iss`.
    public let region: String
    /// Token lifetime in seconds (`--token-ttl`, 30–600).
    public let tokenLifetime: Int
    /// Codes per holder are rate limited.
    let limiter: RateLimiter
    /// Consents granted or used lately, so a code's token is signed before the writer's turn.
    let recentConsents: RecentConsents
    /// The tokens of live codes, for their QR images (the database keeps only hashes).
    let liveTokens = LiveTokens()

    init(transactions: Transactions, keyring: Keyring, audit: AuditLog, random: any RandomSource, now: @escaping Now,
                region: String, tokenLifetime: Int, limiter: RateLimiter, recentConsents: RecentConsents) {
        (self.transactions, self.keyring, self.audit, self.random, self.now, self.region, self.tokenLifetime, self.limiter) =
            (transactions, keyring, audit, random, now, region, tokenLifetime, limiter)
        self.recentConsents = recentConsents
    }

    /// Issues a code for a consent of this client: 404 `not_found` (no such consent, or
    /// another client's), 410 `consent_withdrawn`, 403 `consent_expired`. The code lives
    /// `tokenLifetime` seconds, never past the consent.
    public func issue(consent consentID: String, client: Client) async throws -> Presentation {
        let instant = now()
        let (keyring, audit, random, region, lifetime) = (self.keyring, self.audit, self.random, self.region, tokenLifetime)
        if let limit = limiter.limits.codesPerHolder,
           let holderRef = try await transactions.read({ db in try ConsentStore.holderRef(of: consentID, clientID: client.id, db) }) {
            try await limiter.take(.code, holderRef, limit: limit)
        }
        // The token is signed here, on the request's task, when the consent's facts are known
        // from a recent look; the one writer then only checks them (see `RecentConsents`).
        let signed = try recentConsents.facts(consentID).flatMap { $0.clientID == client.id ? $0 : nil }.map { facts in
            let claims = Self.claims(jti: QRToken.newJTI(random), hall: facts.hall, consentEnd: facts.expiresAt, at: instant,
                                     lifetime: lifetime, region: region)
            return (claims: claims, token: try claims.signed(with: keyring.active))
        }
        let (presentation, consent, signedEarly) = try await transactions.unit { db in
            guard let consent = try ConsentStore.consent(consentID, db), consent.clientID == client.id else {
                throw MSBError.notFound("no such consent")
            }
            guard !consent.withdrawn else { throw MSBError.consentWithdrawn }
            guard consent.isLive(at: instant), let consentEnd = consent.expiresAt.date else { throw MSBError.consentExpired }
            var chain = try audit.chain(db)
            for id in try PresentationStore.active(consent: consentID, db) {
                try Self.revoke(id, at: instant, actor: .client(client.id), reason: "replaced", chain: &chain, db)
            }
            let (claims, token): (QRToken, String)
            let signedEarly: Bool
            if let signed, signed.claims == Self.claims(jti: signed.claims.jti, hall: consent.hall, consentEnd: consentEnd, at: instant,
                                                        lifetime: lifetime, region: region) {
                (claims, token, signedEarly) = (signed.claims, signed.token, true)
            } else {
                signedEarly = false
                claims = Self.claims(jti: QRToken.newJTI(random), hall: consent.hall, consentEnd: consentEnd, at: instant,
                                     lifetime: lifetime, region: region)
                token = try claims.signed(with: keyring.active)
            }
            let presentation = Presentation(id: random.sortableIdentifier(prefix: "pre", at: instant), consentID: consentID, token: token,
                                            expiresAt: Timestamp(Date(timeIntervalSince1970: TimeInterval(claims.exp))))
            try PresentationStore.insert(id: presentation.id, consentID: consentID, clientID: client.id, jti: claims.jti,
                                         tokenHash: Self.tokenHash(token, suite: audit.suite), at: instant, expiresAt: presentation.expiresAt, db)
            try chain.append(actor: .client(client.id), action: "presentation.issued", object: "presentation:\(presentation.id)",
                             detail: ["consent": .string(consentID)])
            return (presentation, consent, signedEarly)
        }
        if !signedEarly { recentConsents.remember(consent) }
        liveTokens.remember(presentation, client: client.id, at: instant)
        return presentation
    }

    /// What a code's record keeps of its token: the hex of its hash. A scan compares the
    /// token it is shown with it (`QRToken.unverified`).
    static func tokenHash(_ token: String, suite: CryptoSuite) -> String { Encoding.hex(suite.hash(Array(token.utf8))) }

    /// A code's claims: it lives `lifetime` seconds from `instant`, never past its consent's
    /// end, and names the consent's hall.
    static func claims(jti: String, hall: String?, consentEnd: Date, at instant: Date, lifetime: Int, region: String) -> QRToken {
        QRToken.make(kind: .present, region: region, hall: hall, issuedAt: instant,
                     expiresAt: min(instant.addingTimeInterval(TimeInterval(lifetime)), consentEnd), jti: jti)
    }

    /// Cancels a code of this client (404 `not_found` otherwise). A scanned or already
    /// revoked code stays as it is.
    public func cancel(id: String, client: Client) async throws {
        let instant = now()
        let audit = self.audit
        try await transactions.unit { db in
            guard let state = try PresentationStore.state(id, clientID: client.id, db) else { throw MSBError.notFound("no such presentation") }
            guard state == .active else { return }
            var chain = try audit.chain(db)
            try Self.revoke(id, at: instant, actor: .client(client.id), reason: "cancelled", chain: &chain, db)
        }
    }

    /// The token of a live code of this client, to draw as a QR code: 404 `not_found` for
    /// another client's, one that has expired, or one issued before this server started (only
    /// its hash is stored; the app issues a new code).
    public func token(id: String, client: Client) async throws -> String {
        guard let token = liveTokens.token(id, client: client.id, at: now()) else {
            throw MSBError.notFound("no such code, or its image is no longer available; issue a new code")
        }
        return token
    }

    static func revoke(_ id: String, at instant: Date, actor: AuditActor, reason: String, chain: inout AuditChain, _ db: Database) throws {
        try PresentationStore.revoke(id, at: instant, db)
        try chain.append(actor: actor, action: "presentation.revoked", object: "presentation:\(id)", detail: ["reason": .string(reason)])
    }
}

extension MSBError {
    static let consentWithdrawn = MSBError(.consentWithdrawn, "the consent has been withdrawn")
    static let consentExpired = MSBError(.consentExpired, "the consent has expired")
}

/// The tokens of codes issued by this process that have not expired, by presentation id: a
/// code's QR image is drawn from here. Bounded by the codes alive at once (a code lives at
/// most ten minutes); expired ones are dropped as new ones come.
final class LiveTokens: Sendable {
    struct Entry {
        let token: String
        let clientID: String
        let expiresAt: Date
    }

    private let entries = Locked<[String: Entry]>([:])
    static var sweepEvery: Int { 10_000 }

    func remember(_ presentation: Presentation, client: String, at instant: Date) {
        guard let expires = presentation.expiresAt.date else { return }
        entries.withLock { entries in
            if entries.count >= Self.sweepEvery, entries.count % Self.sweepEvery == 0 {
                entries = entries.filter { $0.value.expiresAt > instant }
            }
            entries[presentation.id] = Entry(token: presentation.token, clientID: client, expiresAt: expires)
        }
    }

    func token(_ id: String, client: String, at instant: Date) -> String? {
        entries.withLock { entries in
            guard let entry = entries[id] else { return nil }
            guard entry.expiresAt.addingTimeInterval(TimeInterval(QRToken.leeway)) > instant else {
                entries[id] = nil
                return nil
            }
            return entry.clientID == client ? entry.token : nil
        }
    }
}

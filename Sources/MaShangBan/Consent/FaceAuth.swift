import Foundation
import GRDB

/// A registered face-auth provider (人脸识别服务). Its `id` is the `kid` its attestations carry.
public struct FaceAuthProvider: Sendable, Equatable {
    public let id: String
    public let name: String
    public let alg: String
    public let createdAt: Timestamp
    /// When an admin revoked it; its attestations are refused from then on.
    public var revokedAt: Timestamp?
    public var status: String { revokedAt == nil ? "active" : "revoked" }

    public init(id: String, name: String, alg: String, createdAt: Timestamp, revokedAt: Timestamp? = nil) {
        (self.id, self.name, self.alg, self.createdAt, self.revokedAt) = (id, name, alg, createdAt, revokedAt)
    }

}

/// What a face check is asked for. A nonce asked for one purpose (and by one app client)
/// serves only that purpose, for that app.
public enum AttestationPurpose: String, Sendable, CaseIterable {
    /// A holder's consent to present licences (the default).
    case consent
    /// A legal representative authorising an enterprise agent.
    case agentGrant = "agent_grant"
    /// A holder present at the app, opening a holder session.
    case holderSession = "holder_session"
    /// A unit's head approving an official visit (赋码入企); asked for by the unit's client.
    case visitApproval = "visit_approval"

    /// The client role that may ask for a challenge with this purpose.
    public var askedBy: ClientRole { self == .visitApproval ? .unit : .app }
}

/// Face recognition as the backend sees it: providers registered by an admin, single-use
/// challenges bound to the person to be seen, and the providers' signed attestations
/// (docs/API.md "Face-auth attestation").
public struct FaceAuth: Sendable {
    let transactions: Transactions
    let holderReference: HolderReference
    let audit: AuditLog
    let random: any RandomSource
    let now: Now
    /// The lowest `score` accepted (`--face-threshold`).
    public let threshold: Double
    /// Challenges (and, in `Consents`, grants) per holder are rate limited.
    let limiter: RateLimiter
    private let keys = ProviderKeys()

    /// How long a challenge nonce lives, and how far an attestation's `iat` may be from our clock.
    public static let challengeLifetime = 120
    public static let clockSkew: Int64 = 120

    init(transactions: Transactions, holderReference: HolderReference, audit: AuditLog, random: any RandomSource,
                now: @escaping Now, threshold: Double, limiter: RateLimiter) {
        (self.transactions, self.holderReference, self.audit, self.random, self.now, self.threshold, self.limiter) =
            (transactions, holderReference, audit, random, now, threshold, limiter)
    }

    // MARK: Providers (admin)

    /// Registers a provider by its public key (Ed25519 or SM2, SubjectPublicKeyInfo PEM).
    /// 422 `validation_failed` for a bad name or key, `face_auth_provider_exists` for a key
    /// registered before.
    public func registerProvider(name: String, publicKeyPEM: String, by actor: AuditActor) async throws -> FaceAuthProvider {
        let name = try MSBError.requireText(name, field: "name", maximum: 100)
        guard publicKeyPEM.utf8.count <= 4096, let verifier = try? SignatureKeys.loadVerifier(publicKeyPEM: publicKeyPEM) else {
            throw MSBError.validationFailed("public_key_pem must be an Ed25519 or SM2 public key in PEM (SubjectPublicKeyInfo)")
        }
        let provider = FaceAuthProvider(id: CryptoSuite.keyID(of: verifier), name: name, alg: verifier.algorithm.rawValue,
                                        createdAt: Timestamp(now()))
        let pem = try verifier.publicKeyPEM()
        let audit = self.audit
        try await transactions.write { db in
            if try FaceAuthStore.providerExists(provider.id, db) {
                throw MSBError(.faceAuthProviderExists, "this public key is registered already")
            }
            try FaceAuthStore.insert(provider, publicKeyPEM: pem, db)
            try audit.append(db, actor: actor, action: "face_auth_provider.created", object: "face_auth_provider:\(provider.id)",
                             detail: ["alg": .string(provider.alg)])
        }
        return provider
    }

    public func providers() async throws -> [FaceAuthProvider] {
        try await transactions.read { db in try FaceAuthStore.providers(db) }
    }

    /// Revokes a provider: its attestations are refused from the moment this commits (422
    /// `attestation_invalid`). 404 `not_found` for an unknown id; revoking twice changes nothing.
    public func revokeProvider(id: String, by actor: AuditActor) async throws {
        let instant = now()
        let (audit, keys) = (self.audit, self.keys)
        try await transactions.unit { db in
            guard let revoked = try FaceAuthStore.isRevoked(id, db) else { throw MSBError.notFound("no such face-auth provider") }
            guard !revoked else { return }
            try FaceAuthStore.revoke(id, at: instant, db)
            try audit.append(db, actor: actor, action: "face_auth_provider.revoked", object: "face_auth_provider:\(id)")
            // Inside the writer's transaction: every attestation's provider is checked live in
            // one (`verify`), so none can pass on the cached key once this commits.
            keys.forget(id)
        }
    }

    // MARK: Challenges (app backend)

    /// A single-use nonce (192 random bits) for `subject`, valid for 120 s, for `purpose`
    /// and usable only by the app client that asked. Limited per holder and app client, so
    /// one app cannot use up a citizen's challenges at another.
    public func challenge(subject: CitizenID, purpose: AttestationPurpose = .consent, client: Client) async throws
        -> (nonce: String, expiresAt: Timestamp)
    {
        let nonce = Encoding.base64URL(random.bytes(24))
        let expiresAt = Timestamp(now().addingTimeInterval(TimeInterval(Self.challengeLifetime)))
        let ref = holderReference.ref(subject.value)
        try await limiter.take(.challenge, "\(client.id):\(ref)", limit: limiter.limits.challengesPerHolder)
        let audit = self.audit
        try await transactions.unit { db in
            try FaceAuthStore.insertChallenge(nonce: nonce, subjectRef: ref, expiresAt: expiresAt, clientID: client.id, purpose: purpose, db)
            try audit.append(db, actor: .client(client.id), action: "face_auth.challenged", object: "holder:\(ref)",
                             detail: ["purpose": .string(purpose.rawValue)])
        }
        return (nonce, expiresAt)
    }

    // MARK: Attestations

    /// The claims of an attestation (docs/API.md "Face-auth attestation").
    public struct Claims: Sendable, Codable {
        public let sub: String
        public let nonce: String
        public let result: String
        public let score: Double
        public let iat: Int64

        public init(sub: String, nonce: String, result: String, score: Double, iat: Int64) {
            (self.sub, self.nonce, self.result, self.score, self.iat) = (sub, nonce, result, score, iat)
        }
    }

    /// What a face-auth provider sends: its attestation over `claims`, signed with its key
    /// (`kid` is the provider id). The stub provider, the tests and the demo make theirs here.
    public static func attestation(_ claims: Claims, signer: any SignatureSigner, kid: String? = nil) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try JWS.sign(payloadJSON: Array(try encoder.encode(claims)), kid: kid ?? CryptoSuite.keyID(of: signer.verifier),
                            signer: signer)
    }

    /// An attestation's signature and claims as checked by `signed`, for `verify` to finish.
    struct Signed: Sendable {
        fileprivate let checked: Result<(kid: String, claims: Claims), MSBError>
    }

    /// The signature check of `verify`, made ahead of the write unit: a signature verification
    /// is the costliest step of a consent, and the single writer should not wait on it. The
    /// provider's key comes from the cache, else from a snapshot (not cached from there: a
    /// provider revoked meanwhile could stay cached), and `verify` checks again in the unit
    /// that the provider is live.
    func signed(_ attestation: String) async -> Signed {
        let kid = (try? JWS.parse(attestation))?.kid
        var key: (any SignatureVerifier)?
        if let kid {
            key = keys.cached(kid)
            if key == nil { key = try? await transactions.read { db in try ProviderKeys.live(kid, db) } }
        }
        return signed(attestation) { $0 == kid ? key : nil }
    }

    private func signed(_ attestation: String, keyFor: (String) -> (any SignatureVerifier)?) -> Signed {
        do {
            let parsed = try JWS.verify(attestation, keyFor: keyFor)
            return Signed(checked: .success((parsed.kid, try parsed.claims(Claims.self))))
        } catch let error {
            return Signed(checked: .failure(error == .unknownKey ? Self.unknownProvider : Self.invalid("is not valid: \(error.reason)")))
        }
    }

    private static func invalid(_ why: String) -> MSBError { MSBError(.attestationInvalid, "the attestation \(why)") }
    private static let unknownProvider = invalid("names no registered (or a revoked) face-auth provider")

    /// Checks an attestation that `subject` was seen, for `purpose`, by the client
    /// `clientID`, inside the caller's write transaction, and uses up its nonce; its signature
    /// was checked ahead by `signed`, and its provider must still be live (a revocation commits
    /// in the writer, as this runs). 422 `attestation_invalid` (malformed, unknown or revoked
    /// provider, bad signature, another subject, `iat` off by more than 120 s), 422
    /// `nonce_invalid` (unknown, issued for someone else, to another app or for another
    /// purpose, used or expired), 403 `face_auth_failed` (result not `pass`, or score under
    /// the threshold).
    func verify(_ signed: Signed, subject: CitizenID, purpose: AttestationPurpose, clientID: String, _ db: Database) throws {
        let invalid = Self.invalid
        let (kid, claims) = try signed.checked.get()
        guard try keys.verifier(kid, db) != nil else { throw Self.unknownProvider }
        guard claims.sub == subject.value else { throw invalid("is for another person than the one expected") }
        let instant = now()
        guard abs(claims.iat - Int64(instant.timeIntervalSince1970)) <= Self.clockSkew else {
            throw invalid("was not made within 120 s of now (iat)")
        }
        guard let challenge = try FaceAuthStore.challenge(claims.nonce, db) else {
            throw MSBError(.nonceInvalid, "the attestation's nonce was not issued here")
        }
        guard challenge.subjectRef == holderReference.ref(subject.value) else {
            throw MSBError(.nonceInvalid, "the attestation's nonce was issued for another person")
        }
        guard challenge.clientID == clientID else {
            throw MSBError(.nonceInvalid, "the attestation's nonce was asked for by another app client")
        }
        guard challenge.purpose == purpose.rawValue else {
            throw MSBError(.nonceInvalid, "the attestation's nonce was asked for another purpose")
        }
        guard !challenge.used else {
            throw MSBError(.nonceInvalid, "the attestation's nonce was used already")
        }
        guard let expires = challenge.expiresAt, expires >= instant else {
            throw MSBError(.nonceInvalid, "the attestation's nonce has expired")
        }
        guard claims.result == "pass" else {
            throw MSBError(.faceAuthFailed, "face recognition did not pass")
        }
        guard claims.score >= threshold else {
            throw MSBError(.faceAuthFailed, "the face recognition score is under the threshold")
        }
        try FaceAuthStore.useChallenge(claims.nonce, at: instant, db)
    }
}

/// Live provider public keys, parsed once and kept until the provider is revoked.
final class ProviderKeys: Sendable {
    private let cache = Locked<[String: any SignatureVerifier]>([:])

    func forget(_ kid: String) { cache.withLock { _ = $0.removeValue(forKey: kid) } }

    /// The provider's key, cached once read; only the writer should ask (see `revokeProvider`).
    func verifier(_ kid: String, _ db: Database) throws -> (any SignatureVerifier)? {
        if let known = cached(kid) { return known }
        guard let verifier = try Self.live(kid, db) else { return nil }
        cache.withLock { $0[kid] = verifier }
        return verifier
    }

    func cached(_ kid: String) -> (any SignatureVerifier)? { cache.withLock { $0[kid] } }

    /// A live provider's key as stored, not cached.
    static func live(_ kid: String, _ db: Database) throws -> (any SignatureVerifier)? {
        try FaceAuthStore.livePublicKey(kid, db).map { try SignatureKeys.loadVerifier(publicKeyPEM: $0) }
    }
}

import Foundation
import GRDB

/// A signing key with its `kid`.
public struct SigningKey: Sendable {
    public let kid: String
    public let signer: any SignatureSigner
}

/// A published signing key (`GET /v1/keys`). Decodable: `audit verify --trusted-keys`
/// reads a saved answer.
public struct PublishedKey: Sendable, Decodable, Equatable {
    public let kid: String
    public let alg: String
    public let publicKeyPEM: String
    public let status: String
    /// When it was retired (null while active): checkpoints it signed later do not verify.
    public let retiredAt: Timestamp?

    /// The key's fingerprint, as peer regions pin it: `sha256:` and the hex SHA-256 of its
    /// SubjectPublicKeyInfo DER (the PEM's content); nil if the PEM is not one.
    public var fingerprint: String? { Self.fingerprint(publicKeyPEM: publicKeyPEM) }

    public static func fingerprint(publicKeyPEM pem: String) -> String? {
        let lines = pem.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard lines.first == "-----BEGIN PUBLIC KEY-----", lines.last == "-----END PUBLIC KEY-----", lines.count > 2,
              let der = Data(base64Encoded: lines.dropFirst().dropLast().joined()) else { return nil }
        return "sha256:" + Encoding.hex(SHA256Hashing().hash([UInt8](der)))
    }

    /// The saved answer's member names (the file format `--trusted-keys` reads).
    enum CodingKeys: String, CodingKey {
        case kid, alg, status
        case publicKeyPEM = "public_key_pem"
        case retiredAt = "retired_at"
    }
}

/// The deployment's signing keys: private keys in `DIR/keys/signing-<kid>.pem` (0600), their
/// status (`active` | `retired`) in the database. One key is active and signs QR tokens and
/// audit checkpoints; retired keys keep verifying. `kid` = base64url of the first 8 bytes of
/// the profile hash of the raw public key.
public struct Keyring: Sendable {
    public let active: SigningKey
    /// Every known key (active and retired), by kid.
    public let verifiers: [String: any SignatureVerifier]

    public func verifier(kid: String) -> (any SignatureVerifier)? { verifiers[kid] }

    /// Loads the keys listed in the database; creates the first key on a new data directory.
    static func load(_ transactions: Transactions, directory: DataDirectory, suite: CryptoSuite, now: Now) throws -> Keyring {
        let rows = try transactions.readNow { db in try SigningKeyStore.all(db) }
        if rows.isEmpty {
            let key = try makeKey(directory: directory, suite: suite)
            try transactions.writeNow { db in
                try insert(db, key: key, now: now)
            }
            return try load(transactions, directory: directory, suite: suite, now: now)
        }
        var verifiers: [String: any SignatureVerifier] = [:]
        var active: SigningKey?
        for (kid, status) in rows {
            let signer = try loadSigner(directory: directory, kid: kid, suite: suite)
            verifiers[kid] = signer.verifier
            if status == .active { active = SigningKey(kid: kid, signer: signer) }
        }
        guard let active else { throw StartupError("the database lists no active signing key") }
        return Keyring(active: active, verifiers: verifiers)
    }

    /// Loads only the public halves of the key files (for `audit verify` on a copy).
    public static func loadVerifiers(directory: DataDirectory, suite: CryptoSuite) throws -> [String: any SignatureVerifier] {
        try KeyFiles.signingVerifiers(directory, suite: suite)
    }

    static func loadSigner(directory: DataDirectory, kid: String, suite: CryptoSuite) throws -> any SignatureSigner {
        try KeyFiles.signer(kid: kid, in: directory, suite: suite)
    }

    private static func makeKey(directory: DataDirectory, suite: CryptoSuite) throws -> SigningKey {
        let (kid, signer) = try KeyFiles.newSigningKey(in: directory, suite: suite)
        return SigningKey(kid: kid, signer: signer)
    }

    private static func insert(_ db: Database, key: SigningKey, now: Now) throws {
        try SigningKeyStore.insertActive(kid: key.kid, algorithm: key.signer.verifier.algorithm,
                                         publicKeyPEM: try key.signer.verifier.publicKeyPEM(), at: now(), db)
    }

    /// Adds a new active key and retires the current one, with a `key.rotated` audit record
    /// in the same transaction. A running server signs with the new key from its next start;
    /// `GET /v1/keys` lists it at once.
    public static func rotate(backend: Backend) throws -> (retired: String, active: String) {
        let key = try makeKey(directory: backend.dataDirectory, suite: backend.suite)
        let now = backend.now
        let audit = backend.audit
        return try backend.transactions.writeNow { db in
            guard let old = try SigningKeyStore.activeKID(db) else { throw StartupError("no active key to rotate") }
            try SigningKeyStore.retire(kid: old, at: now(), db)
            try insert(db, key: key, now: now)
            try audit.append(db, actor: .system, action: "key.rotated", object: "key:\(key.kid)", detail: ["retired": .string(old)])
            return (old, key.kid)
        }
    }

}

/// The signing keys as published (`GET /v1/keys`): every key, active and retired, with the
/// region whose tokens they sign.
public struct SigningKeys: Sendable {
    let transactions: Transactions
    /// The 6-digit region code tokens carry as `iss`.
    public let region: String

    /// The keys, newest first.
    public func published() async throws -> [PublishedKey] {
        try await transactions.read { db in try SigningKeyStore.published(db) }
    }
}

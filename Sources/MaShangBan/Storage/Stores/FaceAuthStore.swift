import Foundation
import GRDB

/// `face_auth_providers` and `face_auth_challenges`: who may attest that a person was seen,
/// and the single-use nonces they attest over.
enum FaceAuthStore {
    static func providerExists(_ id: String, _ db: Database) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM face_auth_providers WHERE id = ?"), arguments: [id]) == true
    }

    static func insert(_ provider: FaceAuthProvider, publicKeyPEM: String, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO face_auth_providers (id, name, alg, public_key_pem, created_at) VALUES (?, ?, ?, ?, ?)")
            .execute(arguments: [provider.id, provider.name, provider.alg, publicKeyPEM, provider.createdAt.text])
    }

    /// Every provider, oldest first.
    static func providers(_ db: Database) throws -> [FaceAuthProvider] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT id, name, alg, created_at, revoked_at FROM face_auth_providers ORDER BY created_at, id"))
            .map { FaceAuthProvider(id: $0["id"], name: $0["name"], alg: $0["alg"], createdAt: Timestamp(stored: $0["created_at"]),
                                   revokedAt: ($0["revoked_at"] as String?).map(Timestamp.init(stored:))) }
    }

    /// Whether a provider is revoked; nil when there is no such provider.
    static func isRevoked(_ id: String, _ db: Database) throws -> Bool? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT revoked_at FROM face_auth_providers WHERE id = ?"), arguments: [id])
            .map { ($0["revoked_at"] as String?) != nil }
    }

    static func revoke(_ id: String, at instant: Date, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE face_auth_providers SET revoked_at = ? WHERE id = ?")
            .execute(arguments: [Timestamp.string(instant), id])
    }

    /// A live (not revoked) provider's public key.
    static func livePublicKey(_ id: String, _ db: Database) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT public_key_pem FROM face_auth_providers WHERE id = ? AND revoked_at IS NULL"),
                            arguments: [id])
    }

    /// A challenge as stored.
    struct Challenge {
        let subjectRef: String
        let expiresAt: Date?
        let used: Bool
        let clientID: String?
        let purpose: String
    }

    static func insertChallenge(nonce: String, subjectRef: String, expiresAt: Timestamp, clientID: String, purpose: AttestationPurpose,
                                _ db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO face_auth_challenges (nonce, subject_ref, expires_at, client_id, purpose) VALUES (?, ?, ?, ?, ?)
            """).execute { values in  // once a challenge, on the writer
            values.bind(nonce)
            values.bind(subjectRef)
            values.bind(expiresAt.text)
            values.bind(clientID)
            values.bind(purpose.rawValue)
        }
    }

    static func challenge(_ nonce: String, _ db: Database) throws -> Challenge? {
        try Row.fetchOne(db.cachedStatement(sql: """
            SELECT subject_ref, expires_at, used_at, client_id, purpose FROM face_auth_challenges WHERE nonce = ?
            """), arguments: [nonce]).map {
            Challenge(subjectRef: $0["subject_ref"], expiresAt: ($0["expires_at"] as String?).flatMap(Timestamp.date),
                      used: ($0["used_at"] as String?) != nil, clientID: $0["client_id"], purpose: $0["purpose"])
        }
    }

    static func useChallenge(_ nonce: String, at instant: Date, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE face_auth_challenges SET used_at = ? WHERE nonce = ?")
            .execute(arguments: [Timestamp.string(instant), nonce])
    }
}

import Foundation
import GRDB

/// 跨域通办's side of a submission (`submission_peers`) and this region's codes redeemed for
/// peers (`redemptions`).
enum FederationStore {
    /// Which way a cross-region submission went.
    enum Role: String, Sendable {
        /// Made here from a peer's code, which the peer redeemed (the code's `jti` is kept: once here).
        case codeFrom = "code_from"
        /// Made here and forwarded to the peer that decides its item (异地代收).
        case forwardedTo = "forwarded_to"
        /// Forwarded here by a peer, for an item this region decides.
        case receivedFrom = "received_from"
    }

    /// A cross-region submission's other side.
    struct Link: Sendable, Equatable {
        let region: String
        let role: Role
        /// The exchange's Idempotency-Key, whichever region made it: the key drawn from a peer's
        /// code, or the forwarding region's submission id.
        let request: String
        /// The other region's id for it (its redemption, or its submission).
        var peerRequest: String?
        var codeJTI: String?
        var peerStatus: String?
        var peerAttempts: Int?
        var peerDeliveredAt: String?
        var peerCheckedAt: String?
    }

    static func insert(submission id: String, _ link: Link, _ db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO submission_peers (submission_id, region, role, request, peer_request, code_jti, peer_status)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [id, link.region, link.role.rawValue, link.request, link.peerRequest, link.codeJTI, link.peerStatus])
    }

    /// A submission's other sides (a peer's code, a peer deciding its item), in role order.
    static func links(of id: String, _ db: Database) throws -> [Link] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM submission_peers WHERE submission_id = ? ORDER BY role"), arguments: [id]).map { row in
            Link(region: row["region"], role: Role(rawValue: row["role"]) ?? .codeFrom, request: row["request"], peerRequest: row["peer_request"],
                 codeJTI: row["code_jti"], peerStatus: row["peer_status"], peerAttempts: row["peer_attempts"],
                 peerDeliveredAt: row["peer_delivered_at"], peerCheckedAt: row["peer_checked_at"])
        }
    }

    /// The submission made here from a peer's code, if it was scanned here before.
    static func submission(codeFrom region: String, jti: String, _ db: Database) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT submission_id FROM submission_peers WHERE region = ? AND code_jti = ?"),
                            arguments: [region, jti])
    }

    /// The submission a peer forwarded here under its id `request`.
    static func submission(receivedFrom region: String, request: String, _ db: Database) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: """
            SELECT submission_id FROM submission_peers WHERE region = ? AND role = 'received_from' AND request = ?
            """), arguments: [region, request])
    }

    /// What the peer said of a forwarded submission: its id for it, once it took it, and its delivery state.
    static func recordPeerState(forwarded id: String, peerRequest: String?, status: String?, attempts: Int?, deliveredAt: String?, at stamp: String,
                                _ db: Database) throws {
        try db.cachedStatement(sql: """
            UPDATE submission_peers SET peer_request = coalesce(?, peer_request), peer_status = coalesce(?, peer_status),
                peer_attempts = coalesce(?, peer_attempts), peer_delivered_at = coalesce(?, peer_delivered_at), peer_checked_at = ?
            WHERE submission_id = ? AND role = 'forwarded_to'
            """).execute(arguments: [peerRequest, status, attempts, deliveredAt, stamp, id])
    }

    // MARK: Redemptions

    struct Redemption: Sendable {
        let id: String
        let requestHash: String
        let answerBox: [UInt8]
    }

    static func redemption(region: String, request: String, _ db: Database) throws -> Redemption? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT id, request_hash, answer_box FROM redemptions WHERE region = ? AND request = ?"),
                         arguments: [region, request]).map { row in
            Redemption(id: row["id"], requestHash: row["request_hash"], answerBox: [UInt8](row["answer_box"] as Data))
        }
    }

    static func insertRedemption(id: String, region: String, request: String, requestHash: String, presentation: String, item: String,
                                 auditSeq: Int64, answerBox: [UInt8], at stamp: String, _ db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO redemptions (id, region, request, request_hash, presentation_id, item, audit_seq, answer_box, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [id, region, request, requestHash, presentation, item, auditSeq, Data(answerBox), stamp])
    }
}

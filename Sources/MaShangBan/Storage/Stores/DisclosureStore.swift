import Foundation
import GRDB

/// A holder's disclosures: the submissions made from the holder's consents here, and the
/// holder's codes this region redeemed for peer regions (跨域通办).
enum DisclosureStore {
    /// The number every change a disclosure rests on moves (migration 0027).
    static func generation(_ db: Database) throws -> Int64 {
        try db.cachedStatement(sql: "SELECT generation FROM disclosure_generation").firstRow(binding: { _ in }) { try $0.value(0) } ?? 0
    }

    struct Entry: Sendable {
        /// `submission` or `redemption`.
        let kind: String
        let id: String
        let at: String
        /// This region's item whose field rules applied.
        let item: String?
        let approvalSystem: String?
        /// The region that received it: the one a submission went to, or a redemption was for.
        let region: String?
        let auditSeq: Int64?
    }

    /// The newest `limit` disclosures of the holder whose consents carry `holderRef`.
    static func entries(holderRef: String, limit: Int, _ db: Database) throws -> [Entry] {
        try Row.fetchAll(db.cachedStatement(sql: """
            SELECT 'submission' AS kind, s.id AS id, s.created_at AS at, s.item AS item, s.approval_system AS approval_system,
                p.region AS region, s.audit_seq AS audit_seq
            FROM consents c JOIN submissions s ON s.consent_id = c.id
            LEFT JOIN submission_peers p ON p.submission_id = s.id AND p.role = 'forwarded_to'
            WHERE c.holder_ref = ?
            UNION ALL
            SELECT 'redemption', r.id, r.created_at, r.item, NULL, r.region, r.audit_seq
            FROM consents c JOIN presentations pr ON pr.consent_id = c.id JOIN redemptions r ON r.presentation_id = pr.id
            WHERE c.holder_ref = ?
            ORDER BY at DESC, id DESC LIMIT ?
            """), arguments: [holderRef, holderRef, limit]).map { row in
            Entry(kind: row["kind"], id: row["id"], at: row["at"], item: row["item"], approvalSystem: row["approval_system"],
                  region: row["region"], auditSeq: row["audit_seq"])
        }
    }
}

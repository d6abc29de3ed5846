import Foundation
import GRDB

/// "Who saw my data" (`GET /v1/holders/{holder}/disclosures`, with a holder session): every
/// disclosure of the holder's licences — a submission to an approval system here, a
/// submission forwarded to the region that decides its item (异地代收), a code redeemed for a
/// peer region's window (跨域通办) — with when, which item, who received it, which fields
/// (by the item's rules: full or masked), and its audit record's `seq` with an RFC 9162
/// inclusion proof against the newest checkpoint peer regions cosigned, so the holder's app
/// can prove it to anyone who holds this region's and a witness's keys.
public struct HolderDisclosures: Sendable {
    let transactions: Transactions
    let holderReference: HolderReference
    let suite: CryptoSuite

    public struct Disclosure: Sendable, Equatable {
        /// `submission` or `redemption`.
        public let kind: String
        public let id: String
        public let at: Timestamp
        public let item: String?
        public let itemName: String?
        /// `approval_system` or `region`, and its code.
        public let recipientKind: String
        public let recipient: String
        /// The fields disclosed (`<licence type>.<field>`, `holder.id`, …) and how: `full` or `masked`.
        public let fields: [String: String]
        public let seq: Int64?
        /// Nil when its record is not (yet) under a cosigned checkpoint.
        public let proof: AuditProofs.Inclusion?
    }

    /// The disclosures, newest first, and the cosigned checkpoint their proofs are against.
    public struct Listing: Sendable {
        public let checkpoint: AuditCheckpoint?
        /// The checkpoint's note with its witnesses' cosignature lines.
        public let cosignedNote: String?
        public let disclosures: [Disclosure]
    }

    public func list(_ holder: HolderID, limit: Int) async throws -> Listing {
        let (ref, suite) = (holderReference.ref(holder.value), self.suite)
        return try await transactions.read { db in
            let cosigned = try Witnessing.latestCosigned(db)
            let size = cosigned?.checkpoint.size
            let disclosures = try DisclosureStore.entries(holderRef: ref, limit: limit, db).map { entry -> Disclosure in
                let item = entry.item.flatMap { try? ItemRegistry.find(db, $0) }
                let fields = (item?.fields.policies ?? [:]).filter { $0.value != .omitted }.mapValues(\.rawValue)
                let proof = try entry.auditSeq.flatMap { seq in
                    try size.flatMap { seq <= $0 ? try AuditProofs.inclusion(seq: seq, size: $0, suite: suite, db) : nil }
                }
                let (recipientKind, recipient) = entry.region.map { ("region", $0) } ?? ("approval_system", entry.approvalSystem ?? "")
                return Disclosure(kind: entry.kind, id: entry.id, at: Timestamp(stored: entry.at), item: entry.item, itemName: item?.name,
                                  recipientKind: recipientKind, recipient: recipient, fields: fields, seq: entry.auditSeq, proof: proof)
            }
            return Listing(checkpoint: cosigned?.checkpoint, cosignedNote: cosigned?.note, disclosures: disclosures)
        }
    }
}

import Foundation
import GRDB

/// A submission (报送): what one accepted scan sends to the item's approval system. Its
/// webhook body is built and sealed at scan time — frozen, so every retry sends the same
/// bytes — and queued in the outbox in the scan's transaction.
public enum Submissions {
    /// Everything a submission is made of.
    struct Draft: Sendable {
        let id: String
        let item: Item
        /// Nil when the consent is another region's (its code was redeemed there) or the
        /// submission came from another region.
        let consentID: String?
        let presentationID: String?
        let windowSessionID: String?
        /// Nil when another region forwarded it (异地代收).
        let terminalID: String?
        /// What the approval system receives of the holder: `DisclosureView.receiver`'s object.
        let view: [String: JSONValue]
        let presentedAt: String
        /// 跨域通办: the submission's other side, if it has one or two (a peer's code; a peer
        /// deciding the item).
        var links: [FederationStore.Link] = []
        /// The audit record's action and what its detail adds (`scan.accepted` by default).
        var action = "scan.accepted"
        var detail: [String: JSONValue] = [:]
        /// Members the webhook body adds (where a forwarded one came from, the code's region).
        var bodyExtras: [String: JSONValue] = [:]
        /// The body, sealed ahead of the write unit (`sealBody`); nil: sealed in it.
        var sealedBody: [UInt8]?

        /// Where it goes: the item's approval system here, or nil when a peer decides the item.
        var approvalSystem: String? { links.contains { $0.role == .forwardedTo } ? nil : item.approvalSystem }
    }

    /// Stores the submission, its peer links and its outbox row and appends its audit record
    /// (`scan.accepted`). The body is sealed without the record's `seq` and `hash`, so it can
    /// be sealed before the unit; `body(of:)` adds them (the receiver can have it checked
    /// against the audit log). Returns the record.
    @discardableResult
    static func record(_ draft: Draft, vault: DataVault, actor: AuditActor, chain: inout AuditChain, _ db: Database) throws -> AuditRecord {
        var detail: [String: JSONValue] = ["item": .string(draft.item.code)]
        if let consent = draft.consentID { detail["consent"] = .string(consent) }
        if let presentation = draft.presentationID { detail["presentation"] = .string(presentation) }
        if let session = draft.windowSessionID { detail["window_session"] = .string(session) }
        detail.merge(draft.detail) { _, added in added }
        let record = try chain.append(actor: actor, action: draft.action, object: "submission:\(draft.id)", detail: detail)
        try SubmissionStore.insert(id: draft.id, item: draft.item.code, approvalSystem: draft.approvalSystem, consentID: draft.consentID,
                                   presentationID: draft.presentationID, windowSessionID: draft.windowSessionID, terminalID: draft.terminalID,
                                   auditSeq: record.seq, at: draft.presentedAt, db)
        for link in draft.links { try FederationStore.insert(submission: draft.id, link, db) }
        try SubmissionStore.enqueue(draft.id, bodyBox: try draft.sealedBody ?? sealBody(draft, vault: vault), at: draft.presentedAt, db)
        return record
    }

    /// The webhook body as sealed: everything but `audit`, which the unit that stores it decides.
    static func sealBody(_ draft: Draft, vault: DataVault) throws -> [UInt8] {
        var body = draft.view
        body.merge(draft.bodyExtras) { _, added in added }
        body["submission"] = .string(draft.id)
        body["item"] = .string(draft.item.code)
        body["approval_system"] = draft.approvalSystem.map(JSONValue.string) ?? .null
        body["presented_at"] = .string(draft.presentedAt)
        if let national = draft.item.nationalCode, draft.approvalSystem == nil { body["national_code"] = .string(national) }
        return try vault.seal(JSONValue.object(body).canonicalString, context: bodyContext(draft.id))
    }

    static func bodyContext(_ id: String) -> String { "submission:\(id):body" }

    /// The webhook body of a submission, as frozen at scan time: its sealed members and its
    /// audit record's `seq` and `hash` (sealed in the body itself before this build), in
    /// RFC 8785 form, so every attempt sends the same bytes.
    static func body(of id: String, vault: DataVault, _ db: Database) throws -> String? {
        guard let box = try SubmissionStore.bodyBox(id, db) else { return nil }
        let sealed = try vault.open(box, context: bodyContext(id))
        guard case .object(var body)? = JSONValue.parse(Array(sealed.utf8)) else { throw InternalError("submission \(id) has a malformed body") }
        if body["audit"] != nil { return sealed }
        guard let record = try SubmissionStore.auditRecord(of: id, db) else { throw InternalError("submission \(id) has no audit record") }
        body["audit"] = .object(["seq": .int(record.seq), "hash": .string(record.hash)])
        return JSONValue.object(body).canonicalString
    }
}

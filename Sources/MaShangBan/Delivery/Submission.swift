import Foundation
import GRDB

/// A submission (报送): what one accepted scan sends to the item's approval system. Its
/// webhook body is built and sealed at scan time — frozen, so every retry sends the same
/// bytes — and queued in the outbox in the scan's transaction.
public enum Submissions {
    /// Everything a submission is made of.
    struct Draft {
        let id: String
        let item: Item
        let consentID: String
        let presentationID: String?
        let windowSessionID: String?
        let terminalID: String
        let holder: HolderID
        let agent: CitizenID?
        let licences: [Licence]
        let presentedAt: String
    }

    /// Stores the submission and its outbox row and appends `scan.accepted`; the body
    /// carries that record's `seq` and `hash`, so the receiver can have it checked
    /// against the audit log.
    static func record(_ draft: Draft, vault: DataVault, masks: MaskTable, actor: AuditActor, chain: inout AuditChain,
                       _ db: Database) throws {
        try SubmissionStore.insert(id: draft.id, item: draft.item, consentID: draft.consentID, presentationID: draft.presentationID,
                                   windowSessionID: draft.windowSessionID, terminalID: draft.terminalID, at: draft.presentedAt, db)
        var detail: [String: JSONValue] = ["item": .string(draft.item.code), "consent": .string(draft.consentID)]
        if let presentation = draft.presentationID { detail["presentation"] = .string(presentation) }
        if let session = draft.windowSessionID { detail["window_session"] = .string(session) }
        let record = try chain.append(actor: actor, action: "scan.accepted", object: "submission:\(draft.id)", detail: detail)
        guard case .object(var body) = DisclosureView.receiver(policies: draft.item.fields, holder: draft.holder, agent: draft.agent,
                                                                licences: draft.licences, masks: masks)
        else { throw InternalError("the receiver view is not an object") }
        body["submission"] = .string(draft.id)
        body["item"] = .string(draft.item.code)
        body["approval_system"] = .string(draft.item.approvalSystem)
        body["presented_at"] = .string(draft.presentedAt)
        body["audit"] = .object(["seq": .int(record.seq), "hash": .string(record.hash)])
        let sealed = try vault.seal(JSONValue.object(body).canonicalString, context: bodyContext(draft.id))
        try SubmissionStore.enqueue(draft.id, bodyBox: sealed, at: draft.presentedAt, db)
    }

    static func bodyContext(_ id: String) -> String { "submission:\(id):body" }

    /// The webhook body of a submission, as frozen at scan time.
    static func body(of id: String, vault: DataVault, _ db: Database) throws -> String? {
        guard let box = try SubmissionStore.bodyBox(id, db) else { return nil }
        return try vault.open(box, context: bodyContext(id))
    }
}

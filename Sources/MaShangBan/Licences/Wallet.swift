import Foundation
import GRDB

/// A holder's wallet (licences "装进手机"): the library licences the holder's app has
/// loaded. Only valid licences are added.
public struct Wallet: Sendable {
    let transactions: Transactions
    /// Opens the stored licences.
    let library: LicenceLibrary
    let holderReference: HolderReference
    let audit: AuditLog
    let now: Now
    /// What the holder's app sees of a licence.
    let masks: MaskTable

    /// Adds every valid library licence not yet in the wallet (idempotent).
    /// Returns the ids added and the whole wallet, display-masked.
    public func sync(_ holder: HolderID, by actor: AuditActor) async throws -> (added: [String], wallet: [MaskedLicence]) {
        let ref = holderReference.ref(holder.value)
        let instant = now()
        let today = CalendarDate(instant)
        let added = try await transactions.write { db -> [String] in
            let ids = try WalletStore.validNotInWallet(holderRef: ref, today: today, db)
            for id in ids { try WalletStore.add(holderRef: ref, licence: id, at: instant, db) }
            if !ids.isEmpty {
                try audit.append(db, actor: actor, action: "wallet.synced", object: "holder:\(ref)",
                                         detail: ["added": .int(Int64(ids.count))])
            }
            return ids
        }
        return (added, try await list(holder))
    }

    /// The licences in the wallet, in the order they were added, display-masked.
    public func list(_ holder: HolderID) async throws -> [MaskedLicence] {
        let today = CalendarDate(now())
        return try await licences(of: holder).map { DisclosureView.masked($0, masks: masks, today: today) }
    }

    /// The licences in the wallet, in the order they were added.
    func licences(of holder: HolderID) async throws -> [Licence] {
        let ref = holderReference.ref(holder.value)
        let library = self.library
        return try await transactions.read { db in try WalletStore.licences(holderRef: ref, db).map { try library.open($0, db) } }
    }

    /// Removes a licence from the wallet; 404 `not_found` if it is not there.
    public func remove(_ holder: HolderID, licence id: String, by actor: AuditActor) async throws {
        let ref = holderReference.ref(holder.value)
        let audit = audit
        try await transactions.write { db in
            guard try WalletStore.remove(holderRef: ref, licence: id, db) else { throw MSBError.notFound("that licence is not in this wallet") }
            try audit.append(db, actor: actor, action: "wallet.removed", object: "licence:\(id)", detail: ["holder": .string("holder:\(ref)")])
        }
    }
}

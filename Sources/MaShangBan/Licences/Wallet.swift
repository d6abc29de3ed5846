import Foundation
import GRDB

/// A holder's wallet (licences "装进手机"): the library licences the holder's app has
/// loaded. Only valid licences are added.
public struct Wallet: Sendable {
    let library: LicenceLibrary

    var pool: DatabasePool { library.pool }

    /// Adds every valid library licence not yet in the wallet (idempotent).
    /// Returns the ids added and the whole wallet.
    public func sync(_ holder: HolderID, by actor: AuditActor) async throws -> (added: [String], wallet: [Licence]) {
        let ref = library.holderReference.ref(holder.value)
        let today = library.today
        let stamp = Timestamp.string(library.now())
        let library = self.library
        let added = try await pool.write { db -> [String] in
            let ids = try String.fetchAll(db.cachedStatement(sql: """
                SELECT l.id FROM licences l
                WHERE l.holder_ref = ? AND l.revoked_at IS NULL AND (l.valid_until IS NULL OR l.valid_until >= ?)
                  AND NOT EXISTS (SELECT 1 FROM wallet_entries w WHERE w.holder_ref = l.holder_ref AND w.licence_id = l.id)
                ORDER BY l.rowid
                """), arguments: [ref, today.text])
            for id in ids {
                try db.execute(sql: "INSERT INTO wallet_entries (holder_ref, licence_id, added_at) VALUES (?, ?, ?)",
                               arguments: [ref, id, stamp])
            }
            if !ids.isEmpty {
                try library.audit.append(db, actor: actor, action: "wallet.synced", object: "holder:\(ref)",
                                         detail: ["added": .int(Int64(ids.count))])
            }
            return ids
        }
        return (added, try await list(holder))
    }

    /// The licences in the wallet, in the order they were added.
    public func list(_ holder: HolderID) async throws -> [Licence] {
        let ref = library.holderReference.ref(holder.value)
        let library = self.library
        return try await pool.read { db in
            try db.cachedStatement(sql: """
                SELECT \(LicenceLibrary.columns) FROM wallet_entries w JOIN licences l ON l.id = w.licence_id
                WHERE w.holder_ref = ? ORDER BY w.added_at, l.rowid
                """).allRows([ref]) { try library.decode($0, db) }
        }
    }

    /// Removes a licence from the wallet; 404 `not_found` if it is not there.
    public func remove(_ holder: HolderID, licence id: String, by actor: AuditActor) async throws {
        let ref = library.holderReference.ref(holder.value)
        let audit = library.audit
        try await pool.write { db in
            try db.cachedStatement(sql: "DELETE FROM wallet_entries WHERE holder_ref = ? AND licence_id = ?").execute(arguments: [ref, id])
            guard db.changesCount == 1 else { throw MSBError.notFound("that licence is not in this wallet") }
            try audit.append(db, actor: actor, action: "wallet.removed", object: "licence:\(id)", detail: ["holder": .string("holder:\(ref)")])
        }
    }
}

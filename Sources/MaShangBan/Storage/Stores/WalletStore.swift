import Foundation
import GRDB

/// `wallet_entries`: which library licences each holder's app has loaded (licences "装进手机").
enum WalletStore {
    /// The ids of the holder's licences valid on `today` that are not in the wallet yet.
    static func validNotInWallet(holderRef: String, today: CalendarDate, _ db: Database) throws -> [String] {
        try String.fetchAll(db.cachedStatement(sql: """
            SELECT l.id FROM licences l
            WHERE l.holder_ref = ? AND l.revoked_at IS NULL AND (l.valid_until IS NULL OR l.valid_until >= ?)
              AND NOT EXISTS (SELECT 1 FROM wallet_entries w WHERE w.holder_ref = l.holder_ref AND w.licence_id = l.id)
            ORDER BY l.rowid
            """), arguments: [holderRef, today.text])
    }

    static func add(holderRef: String, licence id: String, at instant: Date, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO wallet_entries (holder_ref, licence_id, added_at) VALUES (?, ?, ?)")
            .execute(arguments: [holderRef, id, Timestamp.string(instant)])
    }

    /// The wallet's licences, in the order they were added.
    static func licences(holderRef: String, _ db: Database) throws -> [StoredLicence] {
        try db.cachedStatement(sql: """
            SELECT \(LicenceStore.columns) FROM wallet_entries w JOIN licences l ON l.id = w.licence_id
            WHERE w.holder_ref = ? ORDER BY w.added_at, l.rowid
            """).allRows([holderRef], LicenceStore.stored)
    }

    /// Takes a licence out of a wallet; false when it was not there.
    static func remove(holderRef: String, licence id: String, _ db: Database) throws -> Bool {
        try db.cachedStatement(sql: "DELETE FROM wallet_entries WHERE holder_ref = ? AND licence_id = ?").execute(arguments: [holderRef, id])
        return db.changesCount == 1
    }

    /// A wallet licence's state, for a consent: nil when it is not in the holder's wallet.
    static func state(holderRef: String, licence id: String, _ db: Database) throws -> (revoked: Bool, validUntil: CalendarDate?)? {
        try db.cachedStatement(sql: """
            SELECT l.revoked_at, l.valid_until FROM wallet_entries w JOIN licences l ON l.id = w.licence_id
            WHERE w.holder_ref = ? AND w.licence_id = ?
            """).firstRow([holderRef, id]) { row in
            ((try row.value(0) as String?) != nil, (try row.value(1) as String?).flatMap(CalendarDate.init))
        }
    }
}

import Foundation
import GRDB

/// Moves a data directory from the data key used for both sealing and lookup digests to
/// the two keys `DataVault` derives from it: every sealed column is opened with the old key
/// and sealed again with the new one, and every licence-number digest is made again (a
/// licence's boxes are bound to its digest, so both change together). One transaction, once
/// per data directory (`meta.data_keys`); a directory made after this has nothing to move.
enum KeySeparation {
    static let done = "derived-v1"

    static func migrate(_ transactions: Transactions, from old: DataVault, to new: DataVault) throws {
        try transactions.writeNow { db in
            guard try MetaStore.value(of: "data_keys", db) == nil else { return }
            try licences(db, old, new)
            try reseal(db, table: "consents", key: "id", column: "agent_box", old, new) { "consent:\($0):agent" }
            try reseal(db, table: "window_sessions", key: "id", column: "result_box", old, new) { "window_session:\($0):result" }
            try reseal(db, table: "approval_systems", key: "code", column: "secret_box", old, new) { "approval_system:\($0):secret" }
            try reseal(db, table: "outbox", key: "submission_id", column: "body_box", old, new, context: Submissions.bodyContext)
            try MetaStore.insert("data_keys", done, db)
        }
    }

    /// A thousand rows at a time, in rowid order, so the walk never meets a row it changed.
    private static func licences(_ db: Database, _ old: DataVault, _ new: DataVault) throws {
        var after: Int64 = 0
        while true {
            let rows = try Row.fetchAll(db, sql: """
                SELECT rowid, type, number_key, data_box, revoke_reason_box FROM licences WHERE rowid > ? ORDER BY rowid LIMIT 1000
                """, arguments: [after])
            guard let last = rows.last else { return }
            after = last["rowid"]
            for row in rows {
                let type: String = row["type"]
                let oldKey: Data = row["number_key"]
                let data = try old.openBytes([UInt8](row["data_box"] as Data),
                                             context: LicenceLibrary.sealContext(type: type, numberKey: oldKey, column: "data"))
                guard let box = LicenceLibrary.DataBox(json: data) else { throw StartupError("a licence has a malformed data box") }
                let newKey = Data(new.lookupKey(box.number, domain: LicenceLibrary.numberDomain(type)))
                let dataBox = try new.sealBytes(data, context: LicenceLibrary.sealContext(type: type, numberKey: newKey, column: "data"))
                let reason = try (row["revoke_reason_box"] as Data?).map { sealed in
                    let text = try old.openBytes([UInt8](sealed),
                                                 context: LicenceLibrary.sealContext(type: type, numberKey: oldKey, column: "revoke_reason"))
                    return Data(try new.sealBytes(text, context: LicenceLibrary.sealContext(type: type, numberKey: newKey, column: "revoke_reason")))
                }
                try db.execute(sql: "UPDATE licences SET number_key = ?, data_box = ?, revoke_reason_box = ? WHERE rowid = ?",
                               arguments: [newKey, Data(dataBox), reason, row["rowid"] as Int64])
            }
        }
    }

    private static func reseal(_ db: Database, table: String, key: String, column: String, _ old: DataVault, _ new: DataVault,
                               context: (String) -> String) throws {
        for row in try Row.fetchAll(db, sql: "SELECT \(key), \(column) FROM \(table) WHERE \(column) IS NOT NULL") {
            let id: String = row[0]
            let value = try old.openBytes([UInt8](row[1] as Data), context: context(id))
            try db.execute(sql: "UPDATE \(table) SET \(column) = ? WHERE \(key) = ?",
                           arguments: [Data(try new.sealBytes(value, context: context(id))), id])
        }
    }
}

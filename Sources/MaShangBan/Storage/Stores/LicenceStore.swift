import Foundation
import GRDB

/// A `licences` row as stored: the personal data still sealed (`LicenceLibrary.open` opens it).
struct StoredLicence: Sendable {
    let id: String
    let typeCode: String
    /// The keyed digest of the licence number: with the type, what the boxes are bound to.
    let numberKey: [UInt8]
    let dataBox: [UInt8]
    let holderKind: String
    let validFrom: CalendarDate?
    let validUntil: CalendarDate?
    let issuer: String
    let revoked: Bool
}

/// What an update of a licence must know of the stored one first.
struct LicenceOwnership: Sendable {
    let id: String
    let typeCode: String
    let numberKey: [UInt8]
    let holderKind: String
    let holderRef: String
    let issuerCode: String?
    let issuerClient: String?
    let revoked: Bool
}

/// `licences`: the e-licence library (电子证照库).
enum LicenceStore {
    /// The columns `stored(_:)` reads, in its order, for a select list with the table as `l`.
    /// By position, not by name: scans read licences on the writer.
    static let columns =
        "l.id, l.type, l.number_key, l.data_box, l.holder_kind, l.valid_from, l.valid_until, l.issuer, l.revoked_at"

    static func stored(_ row: ColumnReader) throws -> StoredLicence {
        StoredLicence(id: try row.value(0), typeCode: try row.value(1), numberKey: row.withBytes(2) { [UInt8]($0) },
                      dataBox: row.withBytes(3) { [UInt8]($0) }, holderKind: try row.value(4),
                      validFrom: CalendarDate(try row.value(5) as String), validUntil: (try row.value(6) as String?).flatMap(CalendarDate.init),
                      issuer: try row.value(7), revoked: (try row.value(8) as String?) != nil)
    }

    static func licence(_ id: String, _ db: Database) throws -> StoredLicence? {
        try db.cachedStatement(sql: "SELECT \(columns) FROM licences l WHERE id = ?").firstRow([id], stored)
    }

    /// Every licence of a holder, oldest first.
    static func licences(holderRef: String, _ db: Database) throws -> [StoredLicence] {
        try db.cachedStatement(sql: "SELECT \(columns) FROM licences l WHERE holder_ref = ? ORDER BY rowid").allRows([holderRef], stored)
    }

    /// The licences a consent carries, in the holder's order (one query: the schema's foreign
    /// keys keep each there).
    static func licences(consent consentID: String, _ db: Database) throws -> [StoredLicence] {
        try db.cachedStatement(sql: byConsent).allRows(binding: { $0.bind(consentID) }, stored)
    }

    /// The hot paths' queries, made once (interpolated per call, each was built anew and then
    /// hashed to find its cached statement).
    private static let byConsent = """
        SELECT \(columns) FROM consent_licences JOIN licences l ON l.id = consent_licences.licence_id
        WHERE consent_licences.consent_id = ? ORDER BY consent_licences.position
        """
    private static let newestValidOfType = """
        SELECT \(columns) FROM licences l WHERE holder_ref = ? AND type = ? AND revoked_at IS NULL
          AND (valid_until IS NULL OR valid_until >= ?) ORDER BY rowid DESC LIMIT 1
        """

    /// The holder's newest licence of `type` that is neither revoked nor expired on `today`.
    static func newestValid(holderRef: String, type: String, today: CalendarDate, _ db: Database) throws -> StoredLicence? {
        try db.cachedStatement(sql: newestValidOfType).firstRow(binding: { $0.bind(holderRef); $0.bind(type); $0.bind(today.text) }, stored)
    }

    /// Inserts a licence unless its type and number are stored already; true when inserted.
    /// (Insert-or-nothing, then update, is cheaper than an upsert when most of an import is new.)
    static func insertIfNew(_ licence: LicenceLibrary.SealedLicence, issuerCode: String?, issuerClient: String, at instant: Date,
                            _ db: Database) throws -> Bool {
        let stamp = Timestamp.string(instant)
        try db.cachedStatement(sql: """
            INSERT INTO licences (id, type, number_key, holder_kind, holder_ref, data_box, valid_from, valid_until, issuer,
                issuer_code, issuer_client, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (type, number_key) DO NOTHING
            """).execute { values in
            values.bind(licence.newID)
            values.bind(licence.typeCode)
            values.bind(licence.numberKey)
            values.bind(licence.holderKind)
            values.bind(licence.holderRef)
            values.bind(licence.dataBox)
            values.bind(licence.validFrom)
            values.bind(licence.validUntil?.text)
            values.bind(licence.issuer)
            values.bind(issuerCode)
            values.bind(issuerClient)
            values.bind(stamp)
            values.bind(stamp)
        }
        return db.changesCount == 1
    }

    static func ownership(type: String, numberKey: Data, _ db: Database) throws -> LicenceOwnership? {
        try db.cachedStatement(sql: """
            SELECT id, holder_kind, holder_ref, issuer_code, issuer_client, revoked_at FROM licences WHERE type = ? AND number_key = ?
            """).firstRow([type, numberKey]) { row in
            LicenceOwnership(id: try row.value(0), typeCode: type, numberKey: [UInt8](numberKey), holderKind: try row.value(1),
                             holderRef: try row.value(2), issuerCode: try row.value(3), issuerClient: try row.value(4),
                             revoked: (try row.value(5) as String?) != nil)
        }
    }

    static func ownership(_ id: String, _ db: Database) throws -> LicenceOwnership? {
        try db.cachedStatement(sql: """
            SELECT type, number_key, holder_kind, holder_ref, issuer_code, issuer_client, revoked_at FROM licences WHERE id = ?
            """).firstRow([id]) { row in
            LicenceOwnership(id: id, typeCode: try row.value(0), numberKey: row.withBytes(1) { [UInt8]($0) }, holderKind: try row.value(2),
                             holderRef: try row.value(3), issuerCode: try row.value(4), issuerClient: try row.value(5),
                             revoked: (try row.value(6) as String?) != nil)
        }
    }

    static func update(_ id: String, with licence: LicenceLibrary.SealedLicence, issuerCode: String?, issuerClient: String,
                       at instant: Date, _ db: Database) throws {
        try db.cachedStatement(sql: """
            UPDATE licences SET data_box = ?, valid_from = ?, valid_until = ?, issuer = ?, issuer_code = ?, issuer_client = ?,
                updated_at = ? WHERE id = ?
            """).execute(arguments: [licence.dataBox, licence.validFrom, licence.validUntil?.text, licence.issuer, issuerCode,
                                     issuerClient, Timestamp.string(instant), id])
    }

    static func revoke(_ id: String, reasonBox: [UInt8], at instant: Date, _ db: Database) throws {
        let stamp = Timestamp.string(instant)
        try db.execute(sql: "UPDATE licences SET revoked_at = ?, revoke_reason_box = ?, updated_at = ? WHERE id = ?",
                       arguments: [stamp, Data(reasonBox), stamp, id])
    }

    /// Gives licences without an issuing authority to `issuer`: those `previous` wrote last,
    /// or with `previous` nil those no client wrote; only of `types`. Returns how many moved.
    static func assignIssuer(code: String, client: String, name: String, from previous: String?, types: [String], at instant: Date,
                             _ db: Database) throws -> Int {
        try db.cachedStatement(sql: """
            UPDATE licences SET issuer_code = ?, issuer_client = ?, issuer = ?, updated_at = ?
            WHERE issuer_code IS NULL AND (issuer_client = ? OR (? IS NULL AND issuer_client IS NULL))
              AND type IN (SELECT value FROM json_each(?))
            """).execute(arguments: [code, client, name, Timestamp.string(instant), previous, previous,
                                     ListColumn.text(types.sorted())])
        return db.changesCount
    }
}

import Foundation
import GRDB

/// The e-licence library (电子证照库): issuers import and revoke licences; apps read a
/// holder's licences. Personal data is sealed at rest; the audit log gets ids and counts only.
public struct LicenceLibrary: Sendable {
    let pool: DatabasePool
    /// Group commit for the per-request write units of the 一码出示 / 一码获取 path.
    public let writes: GroupCommit
    let vault: DataVault
    let holderReference: HolderReference
    let audit: AuditLog
    let random: any RandomSource
    let now: Now

    /// The result of importing one licence.
    public struct Imported: Sendable, Equatable {
        public let id: String
        public let status: LicenceStatus
        /// true for a new licence (201), false for an update of the same type + number (200).
        public let created: Bool
    }

    public var today: CalendarDate { CalendarDate(now()) }

    /// Every licence type by code (a batch looks types up without the database).
    func typesByCode() async throws -> [String: LicenceType] {
        try await pool.read { db in Dictionary(try LicenceTypeRegistry.all(db).map { ($0.code, $0) }) { first, _ in first } }
    }

    /// Checks a submission against its type; throws the 422 the rule names.
    func validate(_ submission: LicenceSubmission, _ db: Database) throws -> ValidatedLicence {
        try ValidatedLicence(submission, type: try LicenceTypeRegistry.find(db, code: submission.type), today: now())
    }

    /// Imports (upserts by type + number) one licence with its audit record in one transaction.
    public func importLicence(_ submission: LicenceSubmission, by actor: AuditActor) async throws -> Imported {
        try await pool.write { db in
            var chain = try audit.chain(db)
            return try store(db, try seal(try validate(submission, db)), by: actor, chain: &chain)
        }
    }

    /// A validated licence with its personal data sealed, ready to store. Sealing needs no
    /// database, so a batch seals its lines in parallel outside the write transaction.
    struct SealedLicence: Sendable {
        /// The id the licence gets if it is new (time-ordered, made when sealed).
        let newID: String
        let typeCode: String
        let numberKey: Data
        let holderKind: String
        let holderRef: String
        /// `{"number","holder","fields"}` in one AEAD box.
        let dataBox: Data
        let validFrom: String
        let validUntil: CalendarDate?
        let issuer: String
    }

    /// What binds a sealed value to its licence (type + keyed number, unique) and column.
    static func sealContext(type: String, numberKey: some Sequence<UInt8>, column: String) -> String {
        "licence:\(type):\(Encoding.hex(numberKey)):\(column)"
    }

    func seal(_ licence: ValidatedLicence) throws -> SealedLicence {
        let type = licence.type.code
        let numberKey = Data(vault.lookupKey(licence.number, domain: "licence-number:\(type)"))
        let data = JSONValue.object([
            "number": .string(licence.number),
            "holder": .string(licence.holder.value),
            "fields": .object(licence.fields.mapValues { .string($0) }),
        ]).canonicalString
        return SealedLicence(
            newID: random.sortableIdentifier(prefix: "lic", at: now()), typeCode: type, numberKey: numberKey,
            holderKind: licence.holder.kind.rawValue, holderRef: holderReference.ref(licence.holder.value),
            dataBox: Data(try vault.seal(data, context: Self.sealContext(type: type, numberKey: numberKey, column: "data"))),
            validFrom: licence.validFrom.text, validUntil: licence.validUntil, issuer: licence.issuer)
    }

    /// Stores a sealed licence inside the caller's transaction, with its audit record. A new
    /// (type, number) is inserted under the id made when it was sealed; one seen before is
    /// updated in place and keeps its id. (Insert-or-nothing, then update, is cheaper than
    /// an upsert with RETURNING when most licences of an import are new.)
    func store(_ db: Database, _ licence: SealedLicence, by actor: AuditActor, chain: inout AuditChain) throws -> Imported {
        let stamp = Timestamp.string(now())
        try db.cachedStatement(sql: """
            INSERT INTO licences (id, type, number_key, holder_kind, holder_ref, data_box, valid_from, valid_until, issuer,
                created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (type, number_key) DO NOTHING
            """).execute(arguments: [licence.newID, licence.typeCode, licence.numberKey, licence.holderKind, licence.holderRef,
                                     licence.dataBox, licence.validFrom, licence.validUntil?.text, licence.issuer, stamp, stamp])
        let created = db.changesCount == 1
        var id = licence.newID
        var revoked = false
        if !created {
            let row = try Row.fetchOne(db.cachedStatement(sql: """
                UPDATE licences SET holder_kind = ?, holder_ref = ?, data_box = ?, valid_from = ?, valid_until = ?, issuer = ?,
                    updated_at = ? WHERE type = ? AND number_key = ? RETURNING id, revoked_at
                """), arguments: [licence.holderKind, licence.holderRef, licence.dataBox, licence.validFrom, licence.validUntil?.text,
                                  licence.issuer, stamp, licence.typeCode, licence.numberKey])
            guard let row else { throw CryptoError("the licence to update was not found") }
            id = row[0]
            revoked = (row[1] as String?) != nil
        }
        try chain.append(actor: actor, action: created ? "licence.imported" : "licence.updated", object: "licence:\(id)",
                         detail: ["type": .string(licence.typeCode)])
        return Imported(id: id, status: LicenceStatus(revoked: revoked, validUntil: licence.validUntil, today: today), created: created)
    }

    /// Revokes a licence: 404 `not_found` if there is none; revoking twice changes nothing.
    public func revoke(id: String, reason: String, by actor: AuditActor) async throws -> LicenceStatus {
        let trimmed = try MSBError.requireText(reason, field: "reason", maximum: 500)
        let stamp = Timestamp.string(now())
        let audit = self.audit
        let vault = self.vault
        return try await pool.write { db in
            guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT type, number_key, revoked_at FROM licences WHERE id = ?"), arguments: [id]) else {
                throw MSBError.notFound("no such licence")
            }
            if (row["revoked_at"] as String?) == nil {
                let context = Self.sealContext(type: row["type"], numberKey: row["number_key"] as Data, column: "revoke_reason")
                let box = Data(try vault.seal(trimmed, context: context))
                try db.execute(sql: "UPDATE licences SET revoked_at = ?, revoke_reason_box = ?, updated_at = ? WHERE id = ?",
                               arguments: [stamp, box, stamp, id])
                try audit.append(db, actor: actor, action: "licence.revoked", object: "licence:\(id)")
            }
            return .revoked
        }
    }

    /// Every licence of a holder in the library, oldest first.
    public func library(of holder: HolderID) async throws -> [Licence] {
        let ref = holderReference.ref(holder.value)
        return try await pool.read { db in
            try db.cachedStatement(sql: "SELECT \(Self.columns) FROM licences l WHERE holder_ref = ? ORDER BY rowid")
                .allRows([ref]) { try decode($0, db) }
        }
    }

    /// What a licence's sealed `data_box` holds (written by `seal`).
    struct DataBox: Sendable {
        let number: String
        let holder: String
        let fields: [String: String]
    }

    /// The `licences` columns `decode` reads, in the order it reads them, for a query's
    /// select list with the table as `l` (`SELECT \(LicenceLibrary.columns) FROM licences l`).
    /// By position, not by name: a name lookup costs more than the read, and scans decode
    /// licences on the writer.
    static let columns = "l.id, l.type, l.number_key, l.data_box, l.holder_kind, l.valid_from, l.valid_until, l.issuer, l.revoked_at"

    /// Decrypts a `licences` row selected as `columns` (first).
    func decode(_ row: ColumnReader, _ db: Database) throws -> Licence {
        let id: String = try row.value(0)
        let typeCode: String = try row.value(1)
        guard let type = try LicenceTypeRegistry.find(db, code: typeCode) else { throw CryptoError("licence \(id) has an unknown type") }
        let context = row.withBytes(2) { Self.sealContext(type: typeCode, numberKey: $0, column: "data") }
        let json = try vault.openBytes(row.withBytes(3) { [UInt8]($0) }, context: context)
        guard let data = DataBox(json: json) else { throw CryptoError("licence \(id) has a malformed data box") }
        let kind = HolderKind(rawValue: try row.value(4)) ?? type.holder
        // Stored ids were validated on import; the birth date bound is irrelevant here.
        let holder = try HolderID(data.holder, kind: kind, field: "holder", today: .distantFuture)
        return Licence(
            id: id, type: type, number: data.number,
            holder: holder, fields: data.fields,
            validFrom: CalendarDate(try row.value(5) as String) ?? CalendarDate(Date(timeIntervalSince1970: 0)),
            validUntil: (try row.value(6) as String?).flatMap(CalendarDate.init),
            issuer: try row.value(7), revoked: (try row.value(8) as String?) != nil)
    }
}

extension LicenceLibrary.DataBox {
    /// Reads the box's JSON text; nil unless it is an object of exactly these strings.
    /// What `seal` wrote is read by `canonical`; any other JSON text by JSONSerialization
    /// (a third of JSONDecoder's cost here, and `canonical` a fraction of that: every scan
    /// and claim opens its licences' boxes on the writer).
    init?(json: [UInt8]) {
        if let box = Self.canonical(json) {
            self = box
            return
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(json)) as? [String: Any],
              let number = object["number"] as? String, let holder = object["holder"] as? String,
              let fields = object["fields"] as? [String: String]
        else { return nil }
        self.init(number: number, holder: holder, fields: fields)
    }

    /// Reads the box in the form `seal` writes it: canonical JSON (no white space) of these
    /// three members, with only the escapes `JSONValue.writeString` writes. Nil for anything
    /// else, which `init(json:)` leaves to the general parser.
    static func canonical(_ json: [UInt8]) -> Self? {
        var reader = CanonicalReader(bytes: json)
        var (number, holder, fields): (String?, String?, [String: String]?) = (nil, nil, nil)
        let read = reader.object { name, reader in
            switch name {
            case "number" where number == nil: number = reader.string(); return number != nil
            case "holder" where holder == nil: holder = reader.string(); return holder != nil
            case "fields" where fields == nil: fields = reader.strings(); return fields != nil
            default: return false
            }
        }
        guard read, reader.atEnd, let number, let holder, let fields else { return nil }
        return Self(number: number, holder: holder, fields: fields)
    }
}

import Foundation
import GRDB

/// The e-licence library (电子证照库): issuers import and revoke licences; apps read a
/// holder's licences. Personal data is sealed at rest; the audit log gets ids and counts only.
public struct LicenceLibrary: Sendable {
    let pool: DatabasePool
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

    /// Checks a submission against its type; throws the 422 the rule names.
    func validate(_ submission: LicenceSubmission, _ db: Database) throws -> ValidatedLicence {
        try ValidatedLicence(submission, type: try LicenceTypeRegistry.find(db, code: submission.type), today: now())
    }

    /// Imports (upserts by type + number) one licence with its audit record in one transaction.
    public func importLicence(_ submission: LicenceSubmission, by actor: AuditActor) async throws -> Imported {
        try await pool.write { db in
            try store(db, try validate(submission, db), by: actor)
        }
    }

    /// Stores a validated licence inside the caller's transaction.
    func store(_ db: Database, _ licence: ValidatedLicence, by actor: AuditActor) throws -> Imported {
        let numberKey = Data(vault.lookupKey(licence.number, domain: "licence-number:\(licence.type.code)"))
        let stamp = Timestamp.string(now())
        let existing = try Row.fetchOne(db, sql: "SELECT id, revoked_at FROM licences WHERE type = ? AND number_key = ?",
                                        arguments: [licence.type.code, numberKey])
        let id: String = existing?["id"] ?? random.identifier(prefix: "lic")
        let fieldsJSON = JSONValue.object(licence.fields.mapValues { .string($0) }).canonicalString
        let arguments: StatementArguments = [
            Data(try vault.seal(licence.number, context: "\(id):number")),
            licence.holder.kind.rawValue,
            holderReference.ref(licence.holder.value),
            Data(try vault.seal(licence.holder.value, context: "\(id):holder")),
            Data(try vault.seal(fieldsJSON, context: "\(id):fields")),
            licence.validFrom.text, licence.validUntil?.text, licence.issuer, stamp,
        ]
        if existing != nil {
            try db.execute(sql: """
                UPDATE licences SET number_box = ?, holder_kind = ?, holder_ref = ?, holder_box = ?, fields_box = ?,
                    valid_from = ?, valid_until = ?, issuer = ?, updated_at = ? WHERE id = ?
                """, arguments: arguments + [id])
            try audit.append(db, actor: actor, action: "licence.updated", object: "licence:\(id)", detail: ["type": .string(licence.type.code)])
        } else {
            try db.execute(sql: """
                INSERT INTO licences (number_box, holder_kind, holder_ref, holder_box, fields_box, valid_from, valid_until, issuer,
                    updated_at, id, type, number_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: arguments + [id, licence.type.code, numberKey, stamp])
            try audit.append(db, actor: actor, action: "licence.imported", object: "licence:\(id)", detail: ["type": .string(licence.type.code)])
        }
        let revoked = (existing?["revoked_at"] as String?) != nil
        let status: LicenceStatus = revoked ? .revoked : (licence.validUntil.map { $0 < today } == true ? .expired : .valid)
        return Imported(id: id, status: status, created: existing == nil)
    }

    /// Revokes a licence: 404 `not_found` if there is none; revoking twice changes nothing.
    public func revoke(id: String, reason: String, by actor: AuditActor) async throws -> LicenceStatus {
        let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.count <= 500 else { throw MSBError.validationFailed("reason must be 1 to 500 characters") }
        let box = Data(try vault.seal(trimmed, context: "\(id):revoke_reason"))
        let stamp = Timestamp.string(now())
        let audit = self.audit
        return try await pool.write { db in
            guard let revokedAt = try Row.fetchOne(db, sql: "SELECT revoked_at FROM licences WHERE id = ?", arguments: [id]) else {
                throw MSBError.notFound("no such licence")
            }
            if (revokedAt[0] as String?) == nil {
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
            try Row.fetchAll(db, sql: "SELECT * FROM licences WHERE holder_ref = ? ORDER BY rowid", arguments: [ref])
                .map { try decode($0, db) }
        }
    }

    /// Decrypts a `licences` row.
    func decode(_ row: Row, _ db: Database) throws -> Licence {
        let id: String = row["id"]
        let typeCode: String = row["type"]
        guard let type = try LicenceTypeRegistry.find(db, code: typeCode) else { throw CryptoError("licence \(id) has an unknown type") }
        let holderValue = try vault.open([UInt8](row["holder_box"] as Data), context: "\(id):holder")
        let kind = HolderKind(rawValue: row["holder_kind"]) ?? type.holder
        // Stored ids were validated on import; the birth date bound is irrelevant here.
        let holder = try HolderID(holderValue, kind: kind, field: "holder", today: .distantFuture)
        let fieldsJSON = try vault.open([UInt8](row["fields_box"] as Data), context: "\(id):fields")
        var fields: [String: String] = [:]
        if case .object(let members)? = JSONValue.parse(Array(fieldsJSON.utf8)) {
            for (name, value) in members { if let text = value.stringValue { fields[name] = text } }
        }
        return Licence(
            id: id, type: type, number: try vault.open([UInt8](row["number_box"] as Data), context: "\(id):number"),
            holder: holder, fields: fields,
            validFrom: CalendarDate(row["valid_from"] as String) ?? CalendarDate(Date(timeIntervalSince1970: 0)),
            validUntil: (row["valid_until"] as String?).flatMap(CalendarDate.init),
            issuer: row["issuer"], revoked: (row["revoked_at"] as String?) != nil)
    }
}

import Foundation
import GRDB

/// The e-licence library (电子证照库): issuers import and revoke licences; apps read a
/// holder's licences. Personal data is sealed at rest; the audit log gets ids and counts only.
public struct LicenceLibrary: Sendable {
    /// Reads, writes and group-commit units (the 一码出示 / 一码获取 path's).
    let transactions: Transactions
    let vault: DataVault
    let holderReference: HolderReference
    let audit: AuditLog
    let random: any RandomSource
    let now: Now
    /// What the holder's app sees of a licence.
    let masks: MaskTable

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
        try await transactions.read { db in Dictionary(try LicenceTypeRegistry.all(db).map { ($0.code, $0) }) { first, _ in first } }
    }

    /// Checks a submission against its type; throws the 422 the rule names.
    func validate(_ submission: LicenceSubmission, _ db: Database) throws -> ValidatedLicence {
        try ValidatedLicence(submission, type: try LicenceTypeRegistry.find(db, code: submission.type), today: now())
    }

    /// Imports (upserts by type + number) one licence with its audit record in one transaction.
    /// Besides the checks of its type: 403 `licence_type_not_permitted`, 403
    /// `licence_owned_by_other_issuer`, 409 `licence_holder_immutable`.
    public func importLicence(_ submission: LicenceSubmission, by issuer: LicenceIssuer) async throws -> Imported {
        try await transactions.write { db in
            var chain = try audit.chain(db)
            return try store(db, try seal(try validate(submission, db), by: issuer), by: issuer, chain: &chain, today: today)
        }
    }

    /// Stores sealed licences in one transaction, in order, each with its audit record; a
    /// line `store` refuses (before changing anything) is skipped and returned with its
    /// error, and the rest go on. Any other failure rolls the whole transaction back.
    func store(_ licences: [(line: Int, licence: SealedLicence)], by issuer: LicenceIssuer) async throws
        -> [(line: Int, error: MSBError)]
    {
        try await transactions.write { db in
            try Storage.withBulkCache(db) {
                var chain = try audit.chain(db, signingAhead: true)
                var refused: [(line: Int, error: MSBError)] = []
                let today = today
                for (line, licence) in licences {
                    do { _ = try store(db, licence, by: issuer, chain: &chain, today: today) } catch let error as MSBError {
                        refused.append((line, error))
                    }
                }
                try chain.settle()
                return refused
            }
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
        /// A business licence's legal representative, whose change ends the grants they made.
        let legalRepresentative: String?
    }

    /// The lookup-digest domain of a type's licence numbers.
    static func numberDomain(_ type: String) -> String { "licence-number:\(type)" }

    /// What binds a sealed value to its licence (type + keyed number, unique) and column.
    static func sealContext(type: String, numberKey: some Sequence<UInt8>, column: String) -> String {
        "licence:\(type):\(Encoding.hex(numberKey)):\(column)"
    }

    /// 403 `licence_type_not_permitted` if `issuer` may not issue this type.
    func seal(_ licence: ValidatedLicence, by issuer: LicenceIssuer) throws -> SealedLicence {
        try issuer.requirePermitted(licence.type.code)
        let type = licence.type.code
        let numberKey = Data(vault.lookupKey(licence.number, domain: Self.numberDomain(type)))
        let data = JSONValue.object([
            "number": .string(licence.number),
            "holder": .string(licence.holder.value),
            "fields": .object(licence.fields.mapValues { .string($0) }),
        ]).canonicalString
        return SealedLicence(
            newID: random.sortableIdentifier(prefix: "lic", at: now()), typeCode: type, numberKey: numberKey,
            holderKind: licence.holder.kind.rawValue, holderRef: holderReference.ref(licence.holder.value),
            dataBox: Data(try vault.seal(data, context: Self.sealContext(type: type, numberKey: numberKey, column: "data"))),
            validFrom: licence.validFrom.text, validUntil: licence.validUntil, issuer: issuer.name,
            legalRepresentative: type == LicenceType.businessLicence ? licence.fields[LicenceType.legalRepresentativeField] : nil)
    }

    /// Stores a sealed licence inside the caller's transaction, with its audit record. A new
    /// (type, number) is inserted under the id made when it was sealed; one seen before is
    /// updated in place and keeps its id, if `issuer` owns it (403
    /// `licence_owned_by_other_issuer`) and it names the same holder (409
    /// `licence_holder_immutable`). Every refusal comes before the first change, so a batch
    /// can refuse one line and go on. When a business licence names a new legal
    /// representative, the agent authorisations the old one granted end with it.
    /// (Insert-or-nothing, then update, is cheaper than an upsert when most licences of an
    /// import are new.)
    func store(_ db: Database, _ licence: SealedLicence, by issuer: LicenceIssuer, chain: inout AuditChain,
               today: CalendarDate) throws -> Imported {
        let instant = now()
        let created = try LicenceStore.insertIfNew(licence, issuerCode: issuer.code, issuerClient: issuer.clientID, at: instant, db)
        var id = licence.newID
        var revoked = false
        var replacedRepresentative: String?
        if !created {
            guard let existing = try LicenceStore.ownership(type: licence.typeCode, numberKey: licence.numberKey, db) else {
                throw InternalError("the licence to update was not found")
            }
            try issuer.requireOwner(code: existing.issuerCode, client: existing.issuerClient)
            guard existing.holderKind == licence.holderKind, existing.holderRef == licence.holderRef else {
                throw MSBError(.licenceHolderImmutable,
                               "a licence's holder never changes; revoke it and issue a new number to the new holder")
            }
            (id, revoked) = (existing.id, existing.revoked)
            if let new = licence.legalRepresentative, let old = try stored(id, db)?.fields[LicenceType.legalRepresentativeField], old != new {
                replacedRepresentative = old
            }
            try LicenceStore.update(id, with: licence, issuerCode: issuer.code, issuerClient: issuer.clientID, at: instant, db)
        }
        try chain.append(actor: issuer.actor, action: created ? "licence.imported" : "licence.updated", object: "licence:\(id)",
                         detail: ["type": .string(licence.typeCode)])
        if let replacedRepresentative {
            try EnterpriseAgents.endGrants(of: licence.holderRef, grantedBy: holderReference.ref(replacedRepresentative), at: instant,
                                           actor: issuer.actor, chain: &chain, db)
        }
        return Imported(id: id, status: LicenceStatus(revoked: revoked, validUntil: licence.validUntil, today: today), created: created)
    }

    /// Gives licences that have no issuing authority yet to the issuer client `to` (which
    /// must have one): those the client `from` wrote last, or with `from` nil those no client
    /// wrote (the demo's, a bench's). Only types `to` may issue move. Returns how many moved;
    /// one `licence.issuer_assigned` audit record tells. 404 `not_found` for an unknown
    /// client, 422 `validation_failed` for an issuer without a code.
    public func assignIssuer(to target: String, from previous: String?, by actor: AuditActor) async throws -> Int {
        let instant = now()
        let audit = self.audit
        return try await transactions.write { db in
            let issuer = try LicenceIssuer(try ClientRegistry.fetch(db, id: target))
            if let previous { _ = try ClientRegistry.fetch(db, id: previous, includingDeleted: true) }
            guard let code = issuer.code, let types = issuer.licenceTypes else {
                throw MSBError.validationFailed("the issuer to assign to has no issuer_code; register a new issuer client with one")
            }
            let moved = try LicenceStore.assignIssuer(code: code, client: issuer.clientID, name: issuer.name, from: previous,
                                                      types: Array(types), at: instant, db)
            try audit.append(db, actor: actor, action: "licence.issuer_assigned", object: "client:\(issuer.clientID)",
                             detail: ["from": .string(previous.map { "client:\($0)" } ?? "none"), "licences": .int(Int64(moved))])
            return moved
        }
    }

    /// A stored licence by id, decrypted; nil if there is none.
    func stored(_ id: String, _ db: Database) throws -> Licence? {
        try LicenceStore.licence(id, db).map { try open($0, db) }
    }

    /// Revokes a licence: 404 `not_found` if there is none, 403 `licence_owned_by_other_issuer`
    /// if another issuer owns it; revoking twice changes nothing.
    public func revoke(id: String, reason: String, by issuer: LicenceIssuer) async throws -> LicenceStatus {
        let trimmed = try MSBError.requireText(reason, field: "reason", maximum: 500)
        let instant = now()
        let audit = self.audit
        let vault = self.vault
        return try await transactions.write { db in
            guard let licence = try LicenceStore.ownership(id, db) else { throw MSBError.notFound("no such licence") }
            try issuer.requireOwner(code: licence.issuerCode, client: licence.issuerClient)
            try issuer.requirePermitted(licence.typeCode)
            if !licence.revoked {
                let context = Self.sealContext(type: licence.typeCode, numberKey: licence.numberKey, column: "revoke_reason")
                try LicenceStore.revoke(id, reasonBox: try vault.seal(trimmed, context: context), at: instant, db)
                try audit.append(db, actor: issuer.actor, action: "licence.revoked", object: "licence:\(id)")
            }
            return .revoked
        }
    }

    /// Every licence of a holder in the library, oldest first, display-masked (the app's view).
    public func masked(of holder: HolderID) async throws -> [MaskedLicence] {
        let today = self.today
        return try await library(of: holder).map { DisclosureView.masked($0, masks: masks, today: today) }
    }

    /// Every licence of a holder in the library, oldest first.
    func library(of holder: HolderID) async throws -> [Licence] {
        let ref = holderReference.ref(holder.value)
        return try await transactions.read { db in try LicenceStore.licences(holderRef: ref, db).map { try open($0, db) } }
    }

    /// What a licence's sealed `data_box` holds (written by `seal`).
    struct DataBox: Sendable {
        let number: String
        let holder: String
        let fields: [String: String]
    }

    /// Opens a stored licence: its type looked up, its data box decrypted.
    func open(_ stored: StoredLicence, _ db: Database) throws -> Licence {
        guard let type = try LicenceTypeRegistry.find(db, code: stored.typeCode) else {
            throw InternalError("licence \(stored.id) has an unknown type")
        }
        let context = Self.sealContext(type: stored.typeCode, numberKey: stored.numberKey, column: "data")
        guard let data = DataBox(json: try vault.openBytes(stored.dataBox, context: context)) else {
            throw InternalError("licence \(stored.id) has a malformed data box")
        }
        let kind = HolderKind(rawValue: stored.holderKind) ?? type.holder
        // Stored ids were validated on import; the birth date bound is irrelevant here.
        let holder = try HolderID(data.holder, kind: kind, field: "holder", today: .distantFuture)
        return Licence(id: stored.id, type: type, number: data.number, holder: holder, fields: data.fields,
                       validFrom: stored.validFrom ?? CalendarDate(Date(timeIntervalSince1970: 0)), validUntil: stored.validUntil,
                       issuer: stored.issuer, revoked: stored.revoked)
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

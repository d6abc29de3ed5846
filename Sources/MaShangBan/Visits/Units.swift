import Foundation
import GRDB

/// A government unit (承办单位 / 执法部门) whose officials visit enterprises. Its head
/// approves visits with a face check; its supervisor hears of every refused code by webhook.
public struct Unit: Sendable, Equatable {
    public let code: String
    public let name: String
    public let supervisorWebhook: String
    public let createdAt: Timestamp
}

/// An official of a unit (执法人员), with their 行政执法证 number when they hold one. Both
/// the name and the number are personal data: sealed at rest, shown masked (the name) or
/// only to the enterprise being visited (the number).
public struct Official: Sendable, Equatable {
    public let unit: String
    public let id: String
    public let name: String
    public let credentialNumber: String?
    public let withdrawnAt: Timestamp?

    /// The name as enterprises and listings show it (张*三).
    public var maskedName: String { MaskRule.personName.apply(name) ?? "" }
}

/// An enterprise under protection (重点保护企业): only these get visit codes.
public struct ProtectedEnterprise: Sendable, Equatable {
    public let creditCode: String
    public let name: String
    public let createdAt: Timestamp
}

/// A unit's filed inspection plan for one enterprise and year (年度检查计划备案).
public struct Filing: Sendable, Equatable {
    public let unit: String
    public let year: Int
    public let enterprise: String
    public let type: VisitType
    public let count: Int
}

/// Units, their officials, protected enterprises and filings (admin).
public struct UnitRegistry: Sendable {
    let transactions: Transactions
    let vault: DataVault
    let holderReference: HolderReference
    let audit: AuditLog
    let random: any RandomSource
    let now: Now

    public struct Registration: Sendable, Decodable {
        public var code: String
        public var name: String
        public var head: String
        public var supervisorWebhook: String

        enum CodingKeys: String, CodingKey {
            case code, name, head
            case supervisorWebhook = "supervisor_webhook"
        }

        public init(code: String, name: String, head: String, supervisorWebhook: String) {
            (self.code, self.name, self.head, self.supervisorWebhook) = (code, name, head, supervisorWebhook)
        }
    }

    static let codeShape = CodeShape(first: "A-Za-z0-9", "A-Za-z0-9_-", lengths: 2...32)

    /// A unit code: 2 to 32 letters, digits, '_' or '-'; else 422 `validation_failed`.
    static func validateCode(_ code: String, field: String) throws -> String {
        guard codeShape.matches(code) else {
            throw MSBError.validationFailed("\(field) must be 2 to 32 letters, digits, '_' or '-'")
        }
        return code
    }

    static func secretContext(_ unit: String) -> String { "unit:\(unit):secret" }
    static func headContext(_ unit: String) -> String { "unit:\(unit):head" }

    /// Registers a unit; returns it with the secret its supervisor webhook is signed with
    /// (shown only here). 422 `validation_failed`, `invalid_citizen_id` (head), `unit_exists`.
    public func create(_ r: Registration, by actor: AuditActor) async throws -> (unit: Unit, secret: String) {
        let code = try Self.validateCode(r.code, field: "code")
        let name = try MSBError.requireText(r.name, field: "name", maximum: 100)
        let head = try CitizenID(r.head, field: "head", today: now())
        let url = try ApprovalSystemRegistry.validateWebhook(r.supervisorWebhook, field: "supervisor_webhook")
        let secret = "whsec_" + Encoding.base64URL(random.bytes(32))
        let unit = Unit(code: code, name: name, supervisorWebhook: url, createdAt: Timestamp(now()))
        let secretBox = try vault.seal(secret, context: Self.secretContext(code))
        let headBox = try vault.seal(head.value, context: Self.headContext(code))
        let headRef = holderReference.ref(head.value)
        let audit = self.audit
        try await transactions.write { db in
            if try UnitStore.unit(code, db) != nil { throw MSBError(.unitExists, "unit \(code) is registered already") }
            try UnitStore.insert(unit, headRef: headRef, headBox: headBox, secretBox: secretBox, db)
            try audit.append(db, actor: actor, action: "unit.created", object: "unit:\(code)")
        }
        return (unit, secret)
    }

    /// Points a unit's supervisor webhook elsewhere (the demo keeps it on its own server).
    public func repointSupervisor(_ code: String, to url: String, by actor: AuditActor) async throws {
        let url = try ApprovalSystemRegistry.validateWebhook(url, field: "supervisor_webhook")
        let audit = self.audit
        try await transactions.write { db in
            if try UnitStore.setSupervisorWebhook(code, to: url, db) {
                try audit.append(db, actor: actor, action: "unit.updated", object: "unit:\(code)")
            }
        }
    }

    /// The secret a unit's supervisor notices are signed with.
    public func supervisorSecret(of code: String) async throws -> String? {
        let vault = self.vault
        return try await transactions.read { db in try Self.secret(of: code, vault: vault, db) }
    }

    public func list() async throws -> [Unit] {
        try await transactions.read { db in try UnitStore.units(db) }
    }

    /// 404 `not_found` for an unknown unit.
    static func require(_ code: String, _ db: Database) throws -> Unit {
        guard let unit = try UnitStore.unit(code, db) else { throw MSBError.notFound("no such unit") }
        return unit
    }

    /// The head's citizen ID: the subject of the face check that approves a visit.
    static func head(of unit: String, vault: DataVault, _ db: Database) throws -> CitizenID {
        guard let box = try UnitStore.headBox(unit, db) else { throw MSBError.notFound("no such unit") }
        return try CitizenID(try vault.open(box, context: headContext(unit)), field: "head", today: .distantFuture)
    }

    static func secret(of unit: String, vault: DataVault, _ db: Database) throws -> String? {
        guard let box = try UnitStore.secretBox(unit, db) else { return nil }
        return try vault.open(box, context: secretContext(unit))
    }

    static func webhookSecretContext(_ unit: String) -> String { "unit:\(unit):webhook_secret" }

    static func webhookSecret(of unit: String, vault: DataVault, _ db: Database) throws -> String? {
        guard let box = try UnitStore.webhookSecretBox(unit, db) else { return nil }
        return try vault.open(box, context: webhookSecretContext(unit))
    }

    /// Sets the unit's own webhook (码上问's reminders before each deadline), with a new
    /// secret of its own, shown only here: a unit never holds its supervisor's secret.
    /// 404 `not_found`, 422 `validation_failed`.
    public func setWebhook(_ code: String, to url: String, by actor: AuditActor) async throws -> String {
        let url = try ApprovalSystemRegistry.validateWebhook(url, field: "url")
        let secret = "whsec_" + Encoding.base64URL(random.bytes(32))
        let box = try vault.seal(secret, context: Self.webhookSecretContext(code))
        let audit = self.audit
        try await transactions.write { db in
            _ = try Self.require(code, db)
            try UnitStore.setWebhook(code, to: url, secretBox: box, db)
            try audit.append(db, actor: actor, action: "unit.webhook_set", object: "unit:\(code)")
        }
        return secret
    }

    // MARK: Officials

    public struct OfficialRegistration: Sendable, Decodable {
        public var id: String
        public var name: String
        public var credentialNumber: String?

        enum CodingKeys: String, CodingKey {
            case id, name
            case credentialNumber = "credential_no"
        }

        public init(id: String, name: String, credentialNumber: String?) {
            (self.id, self.name, self.credentialNumber) = (id, name, credentialNumber)
        }
    }

    static let credentialShape = CodeShape("A-Za-z0-9-", lengths: 4...32)
    static func nameContext(_ unit: String, _ id: String) -> String { "official:\(unit):\(id):name" }
    static func credentialContext(_ unit: String, _ id: String) -> String { "official:\(unit):\(id):credential" }

    /// Adds an official to a unit. 404 `not_found` (unit), 422 `validation_failed`,
    /// `official_exists` (an id used before, withdrawn or not: ids are never reused).
    public func addOfficial(_ r: OfficialRegistration, unit: String, by actor: AuditActor) async throws -> Official {
        guard CodeShape.identifier.matches(r.id) else {
            throw MSBError.validationFailed("id must be 1 to 64 letters, digits, '.', '_' or '-'")
        }
        let name = try MSBError.requireText(r.name, field: "name", maximum: 50)
        if let number = r.credentialNumber, !Self.credentialShape.matches(number) {
            throw MSBError.validationFailed("credential_no must be 4 to 32 letters, digits or '-'")
        }
        let nameBox = try vault.seal(name, context: Self.nameContext(unit, r.id))
        let credentialBox = try r.credentialNumber.map { try vault.seal($0, context: Self.credentialContext(unit, r.id)) }
        let (audit, instant) = (self.audit, now())
        try await transactions.write { db in
            _ = try Self.require(unit, db)
            if try UnitStore.officialExists(unit: unit, id: r.id, db) {
                throw MSBError(.officialExists, "unit \(unit) has an official \(r.id) already")
            }
            try UnitStore.insertOfficial(unit: unit, id: r.id, nameBox: nameBox, credentialBox: credentialBox, at: instant, db)
            try audit.append(db, actor: actor, action: "official.added", object: "official:\(unit):\(r.id)",
                             detail: ["credential": .bool(r.credentialNumber != nil)])
        }
        return Official(unit: unit, id: r.id, name: name, credentialNumber: r.credentialNumber, withdrawnAt: nil)
    }

    /// Removes an official from the unit: visits approved with them turn red
    /// (`official_withdrawn`). 404 `not_found`; withdrawing twice changes nothing.
    public func withdrawOfficial(unit: String, id: String, by actor: AuditActor) async throws {
        let (audit, instant) = (self.audit, now())
        try await transactions.write { db in
            guard try UnitStore.officialExists(unit: unit, id: id, db) else { throw MSBError.notFound("no such official") }
            if try UnitStore.withdrawOfficial(unit: unit, id: id, at: instant, db) {
                try audit.append(db, actor: actor, action: "official.withdrawn", object: "official:\(unit):\(id)")
            }
        }
    }

    /// A unit's officials, withdrawn ones too (404 `not_found` for an unknown unit).
    public func officials(of unit: String) async throws -> [Official] {
        let vault = self.vault
        return try await transactions.read { db in
            _ = try Self.require(unit, db)
            return try UnitStore.officials(unit: unit, db).map { try Self.open($0, vault: vault) }
        }
    }

    static func open(_ row: UnitStore.OfficialRow, vault: DataVault) throws -> Official {
        Official(unit: row.unit, id: row.id, name: try vault.open(row.nameBox, context: nameContext(row.unit, row.id)),
                 credentialNumber: try row.credentialBox.map { try vault.open($0, context: credentialContext(row.unit, row.id)) },
                 withdrawnAt: row.withdrawnAt)
    }

    // MARK: Protected enterprises

    public struct EnterpriseRegistration: Sendable, Decodable {
        public var creditCode: String
        public var name: String

        enum CodingKeys: String, CodingKey {
            case creditCode = "credit_code"
            case name
        }

        public init(creditCode: String, name: String) { (self.creditCode, self.name) = (creditCode, name) }
    }

    /// Protects an enterprise, or renames one protected already; true when it is new.
    /// 422 `invalid_credit_code`, `validation_failed`.
    public func protect(_ r: EnterpriseRegistration, by actor: AuditActor) async throws -> (enterprise: ProtectedEnterprise, created: Bool) {
        let valid = try Self.validate(r)
        let (audit, instant) = (self.audit, now())
        return try await transactions.write { db in
            let created = try Self.store(valid, at: instant, audit: audit, actor: actor, reference: holderReference, db)
            guard let stored = try UnitStore.protectedEnterprise(valid.creditCode, db) else { throw InternalError("enterprise not stored") }
            return (stored, created)
        }
    }

    /// Protects every line of an NDJSON body (`{"credit_code","name"}` each) in one
    /// transaction; a bad line is reported with its number and never stops the good ones.
    public func protect(ndjson body: [UInt8], by actor: AuditActor) async throws -> BatchImport.Result {
        var (lines, result) = BatchImport.lines(body, what: "a JSON object with credit_code and name", validate: Self.validate)
        let (audit, instant, accepted, reference) = (self.audit, now(), lines.map(\.value), holderReference)
        try await transactions.write { db in
            for registration in accepted {
                _ = try Self.store(registration, at: instant, audit: audit, actor: actor, reference: reference, db)
            }
        }
        result.accepted = accepted.count
        return result
    }

    static func validate(_ r: EnterpriseRegistration) throws -> EnterpriseRegistration {
        let code: String
        do { code = try CreditCode(r.creditCode).value } catch { throw MSBError.invalidCreditCode("credit_code", error) }
        return EnterpriseRegistration(creditCode: code, name: try MSBError.requireText(r.name, field: "name", maximum: 200))
    }

    /// The audit log names an enterprise by its keyed reference, like every holder.
    private static func store(_ r: EnterpriseRegistration, at instant: Date, audit: AuditLog, actor: AuditActor,
                              reference: HolderReference, _ db: Database) throws -> Bool {
        let created = try UnitStore.upsertProtected(creditCode: r.creditCode, name: r.name, at: instant, db)
        try audit.append(db, actor: actor, action: created ? "enterprise.protected" : "enterprise.renamed",
                         object: "enterprise:\(reference.ref(r.creditCode))")
        return created
    }

    public func protectedEnterprises() async throws -> [ProtectedEnterprise] {
        try await transactions.read { db in try UnitStore.protectedEnterprises(db) }
    }

    /// 422 `enterprise_not_protected` unless the enterprise is protected.
    static func requireProtected(_ creditCode: String, _ db: Database) throws -> ProtectedEnterprise {
        guard let enterprise = try UnitStore.protectedEnterprise(creditCode, db) else {
            throw MSBError(.enterpriseNotProtected, "enterprise \(creditCode.prefix(18)) is not a protected enterprise")
        }
        return enterprise
    }

    // MARK: Filings

    public struct FilingRequest: Sendable, Decodable {
        public var year: Int
        public var enterprise: String
        public var type: String
        public var count: Int

        public init(year: Int, enterprise: String, type: String = "inspection", count: Int) {
            (self.year, self.enterprise, self.type, self.count) = (year, enterprise, type, count)
        }
    }

    /// Files (or files again, replacing the count) a unit's planned inspections of one
    /// enterprise in one year. 404 `not_found` (unit), 422 `validation_failed`,
    /// `invalid_credit_code`, `enterprise_not_protected`.
    public func file(_ r: FilingRequest, unit: String, by actor: AuditActor) async throws -> Filing {
        guard (2000...2100).contains(r.year) else { throw MSBError.validationFailed("year must be 2000 to 2100") }
        guard r.type == VisitType.inspection.rawValue else { throw MSBError.validationFailed("type must be inspection") }
        guard (0...366).contains(r.count) else { throw MSBError.validationFailed("count must be 0 to 366") }
        let enterprise: String
        do { enterprise = try CreditCode(r.enterprise).value } catch { throw MSBError.invalidCreditCode("enterprise", error) }
        let filing = Filing(unit: unit, year: r.year, enterprise: enterprise, type: .inspection, count: r.count)
        let (audit, instant, enterpriseRef) = (self.audit, now(), holderReference.ref(enterprise))
        try await transactions.write { db in
            _ = try Self.require(unit, db)
            _ = try Self.requireProtected(enterprise, db)
            try UnitStore.file(filing, at: instant, db)
            try audit.append(db, actor: actor, action: "filing.recorded", object: "unit:\(unit)",
                             detail: ["year": .int(Int64(r.year)), "enterprise": .string(enterpriseRef), "count": .int(Int64(r.count))])
        }
        return filing
    }

    /// A unit's filings (404 `not_found` for an unknown unit).
    public func filings(of unit: String) async throws -> [Filing] {
        try await transactions.read { db in
            _ = try Self.require(unit, db)
            return try UnitStore.filings(unit: unit, db)
        }
    }
}

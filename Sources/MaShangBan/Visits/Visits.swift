import Foundation
import GRDB

/// 赋码入企: official visits to protected enterprises, from application to the door
/// (docs/API.md "Visit codes"). A unit applies, its head approves with a face check, the
/// enterprise agrees (surveys and tours) and books the day (码上约); the code's colour is
/// what `VisitRules` make of the stored facts at the moment it is drawn or scanned.
public struct Visits: Sendable {
    let transactions: Transactions
    let vault: DataVault
    let holderReference: HolderReference
    let faceAuth: FaceAuth
    let keyring: Keyring
    let audit: AuditLog
    let notices: Notices
    let random: any RandomSource
    let now: Now
    /// The region code visit codes carry (`iss`).
    let region: String
    public let settings: VisitRuleSettings

    /// `POST /v1/visits`.
    public struct Application: Sendable, Decodable {
        public var enterprise: String
        public var type: String
        public var matter: String
        public var legalBasis: String
        public var officials: [String]
        public var from: String
        public var until: String
        public var purpose: String
        /// The days proposed to the enterprise (码上约); may come later through `book`.
        public var dates: [String]?

        enum CodingKeys: String, CodingKey {
            case enterprise, type, matter, officials, from, until, purpose, dates
            case legalBasis = "legal_basis"
        }

        public init(enterprise: String, type: String, matter: String, legalBasis: String, officials: [String], from: String, until: String,
                    purpose: String, dates: [String]? = nil) {
            (self.enterprise, self.type, self.matter, self.legalBasis, self.officials) = (enterprise, type, matter, legalBasis, officials)
            (self.from, self.until, self.purpose, self.dates) = (from, until, purpose, dates)
        }
    }

    /// The longest window an application may ask for.
    public static let maximumWindowDays = 92
    /// The most visits one list answer holds.
    public static let maximumList = 500

    /// Records an application by a unit client. 422 `validation_failed`, `invalid_credit_code`,
    /// `enterprise_not_protected`, `official_unknown`, `officials_insufficient`.
    public func apply(_ a: Application, client: Client) async throws -> VisitView {
        let unit = try Self.unitCode(of: client)
        guard let type = VisitType(rawValue: a.type) else {
            throw MSBError.validationFailed("type must be one of \(VisitType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let enterprise: String
        do { enterprise = try CreditCode(a.enterprise).value } catch { throw MSBError.invalidCreditCode("enterprise", error) }
        let matter = try MSBError.requireText(a.matter, field: "matter", maximum: 200)
        let legalBasis = try MSBError.requireText(a.legalBasis, field: "legal_basis", maximum: 500)
        let purpose = try MSBError.requireText(a.purpose, field: "purpose", maximum: 500)
        let instant = now()
        let today = CalendarDate(instant)
        guard let from = CalendarDate(a.from), let until = CalendarDate(a.until) else {
            throw MSBError.validationFailed("from and until must be dates YYYY-MM-DD")
        }
        guard from >= today, from <= until, until <= from.adding(days: Self.maximumWindowDays - 1) else {
            throw MSBError.validationFailed("from must be today or later, until on or after it, at most \(Self.maximumWindowDays) days in all")
        }
        let dates = try Self.days(a.dates ?? [], inside: from...until, today: today)
        let officials = a.officials
        guard (1...20).contains(officials.count), Set(officials).count == officials.count else {
            throw MSBError.validationFailed("officials must list 1 to 20 different official ids")
        }
        let visit = Visit(id: random.identifier(prefix: "vis"), unit: unit, enterprise: enterprise, type: type, matter: matter,
                          legalBasis: legalBasis, purpose: purpose, from: from, until: until, proposedDays: dates, counterDays: nil,
                          bookedDay: nil, unannounced: false, approvedAt: nil, approvalOrder: nil, decision: nil, decisionReason: nil, decidedAt: nil,
                          joins: nil, joinedAt: nil, withdrawnAt: nil, jti: nil, appointment: nil, createdAt: Timestamp(instant))
        return try await insert(visit, officials: officials, actor: .client(client.id))
    }

    /// Stores a new visit and its officials, checked against the unit's register, and does
    /// `also` in the same transaction.
    func insert(_ visit: Visit, officials: [String], actor: AuditActor, also: @escaping @Sendable (Database) throws -> Void = { _ in })
        async throws -> VisitView
    {
        let (audit, reference) = (self.audit, holderReference)
        return try await transactions.write { db in
            _ = try UnitRegistry.requireProtected(visit.enterprise, db)
            var credentialed = 0
            for id in officials {
                guard let row = try UnitStore.official(unit: visit.unit, id: id, db), row.withdrawnAt == nil else {
                    throw MSBError(.officialUnknown, "official \(id.prefix(64)) is not one of unit \(visit.unit)'s officials")
                }
                if row.credentialBox != nil { credentialed += 1 }
            }
            if visit.type == .inspection, credentialed < 2 {
                throw MSBError(.officialsInsufficient, "an inspection needs at least two officials with 行政执法证 numbers")
            }
            try VisitStore.insert(visit, officials: officials, db)
            try also(db)
            try audit.append(db, actor: actor, action: "visit.applied", object: "visit:\(visit.id)",
                             detail: ["unit": .string(visit.unit), "enterprise": .string(reference.ref(visit.enterprise)),
                                      "type": .string(visit.type.rawValue)])
            return try view(visit, db)
        }
    }

    /// Days proposed for a visit: 1 to 10 different days inside its window, none past.
    static func days(_ texts: [String], inside window: ClosedRange<CalendarDate>, today: CalendarDate) throws -> [CalendarDate] {
        guard texts.count <= 10, Set(texts).count == texts.count else { throw MSBError.validationFailed("dates must list at most 10 different days") }
        return try texts.map { text in
            guard let day = CalendarDate(text), window.contains(day), day >= today else {
                throw MSBError.validationFailed("dates must be days YYYY-MM-DD from today on, inside from..until")
            }
            return day
        }.sorted()
    }

    // MARK: Reading

    /// A visit as its unit, an admin or a supervisor reads it; 404 `not_found` for anyone else.
    public func find(_ id: String, client: Client) async throws -> VisitView {
        try await transactions.read { db in
            let visit = try Self.visit(id, readableBy: client, db)
            return try view(visit, db)
        }
    }

    /// A unit's own visits, newest first, optionally of one enterprise or in one status.
    public func list(client: Client, enterprise: String?, status: String?) async throws -> [VisitView] {
        let unit = try Self.unitCode(of: client)
        let wanted = try status.map { raw in
            guard let status = VisitStatus(rawValue: raw) else {
                throw MSBError.validationFailed("status must be one of \(VisitStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return status
        }
        return try await transactions.read { db in
            try VisitStore.visits(unit: unit, enterprise: enterprise, limit: Self.maximumList, db)
                .filter { wanted == nil || $0.status == wanted }
                .map { try view($0, db) }
        }
    }

    /// The visits planned to (and made at) the calling enterprise, latest first.
    public func forEnterprise(client: Client) async throws -> [VisitView] {
        guard client.role == .enterprise, let enterprise = client.party else { throw MSBError.forbidden("this route is for enterprise clients") }
        return try await transactions.read { db in
            try VisitStore.visits(enterprise: enterprise, limit: Self.maximumList, db).map { try view($0, db) }
        }
    }

    static func unitCode(of client: Client) throws -> String {
        guard client.role == .unit, let unit = client.party else { throw MSBError.forbidden("this route is for unit clients") }
        return unit
    }

    /// A visit its unit owns (an admin or supervisor reads any); 404 `not_found` otherwise.
    static func visit(_ id: String, readableBy client: Client, _ db: Database) throws -> Visit {
        guard let visit = try VisitStore.visit(id, db),
              client.role == .admin || client.role == .supervisor || (client.role == .unit && client.party == visit.unit)
        else { throw MSBError.notFound("no such visit") }
        return visit
    }

    /// A visit the calling unit owns, or the calling enterprise is visited by; 404 otherwise.
    static func visit(_ id: String, ownedBy client: Client, _ db: Database) throws -> Visit {
        guard let visit = try VisitStore.visit(id, db), let party = client.party,
              (client.role == .unit && party == visit.unit) || (client.role == .enterprise && party == visit.enterprise)
        else { throw MSBError.notFound("no such visit") }
        return visit
    }

    /// A visit with its officials, timeline and colour (`verdict`: the one just judged, or
    /// nil to judge it as drawn).
    func view(_ visit: Visit, _ db: Database, verdict known: VisitVerdict? = nil) throws -> VisitView {
        let members = try VisitStore.members(of: visit.id, joined: true, db)
        var officials: [Official] = []
        for member in [visit] + members {
            for (unit, id) in try VisitStore.officials(of: member.id, db) {
                guard let row = try UnitStore.official(unit: unit, id: id, db) else { continue }
                officials.append(try UnitRegistry.open(row, vault: vault))
            }
        }
        return VisitView(visit: visit, unitName: try UnitStore.unit(visit.unit, db)?.name ?? visit.unit, officials: officials,
                         verdict: try known ?? verdict(visit, on: nil, db), members: members.map(\.id),
                         joinRequests: try VisitStore.members(of: visit.id, joined: false, db).map(\.id),
                         timeline: try VisitStore.events(of: visit.id, db))
    }

    // MARK: The rules over stored facts

    /// The colour of a visit's code, drawn (`day` nil) or scanned on `day`: a visit merged
    /// into another has that one's colour, and a joint visit is green only when every unit's
    /// part of it is.
    func verdict(_ visit: Visit, on day: CalendarDate?, _ db: Database) throws -> VisitVerdict {
        var lead = visit
        if visit.joinedAt != nil, let id = visit.joins, let joined = try VisitStore.visit(id, db) { lead = joined }
        let parts = [lead] + (try VisitStore.members(of: lead.id, joined: true, db))
        let ids = Set(parts.map(\.id))
        var (reasons, warnings, candidates) = ([VisitReason](), [VisitWarning](), [String]())
        for (index, part) in parts.enumerated() {
            var facts = try Self.facts(part, db)
            facts.joinedWith = ids.subtracting([part.id])
            // One joint visit: the lead's window, booking and entry count.
            (facts.from, facts.until, facts.bookedDay, facts.unannounced) = (lead.from, lead.until, lead.bookedDay, lead.unannounced)
            if index > 0 { facts.recentVisits = 0 }
            let verdict = VisitRules.judge(facts, on: day, settings: settings)
            reasons += verdict.reasons.filter { !reasons.contains($0) }
            warnings += verdict.warnings.filter { !warnings.contains($0) }
            candidates += verdict.jointCandidates.filter { !candidates.contains($0) }
        }
        return VisitVerdict(reasons: VisitReason.allCases.filter(reasons.contains), warnings: VisitWarning.allCases.filter(warnings.contains),
                            jointCandidates: candidates)
    }

    static func facts(_ visit: Visit, _ db: Database) throws -> VisitFacts {
        var facts = VisitFacts(type: visit.type, matter: visit.matter, from: visit.from, until: visit.until)
        facts.headApproved = visit.approvedAt != nil
        facts.enterpriseDecision = visit.decision
        if visit.type == .inspection {
            let year = Int(visit.from.text.prefix(4)) ?? 0
            facts.filedCount = try UnitStore.filedCount(unit: visit.unit, year: year, enterprise: visit.enterprise, db)
            facts.inspectionsCounted = try VisitStore.inspectionsBefore(visit, db)
            facts.otherInspections = try VisitStore.otherInspections(of: visit, approvedBefore: visit.approvalOrder, db)
        }
        facts.bookedDay = visit.bookedDay
        facts.unannounced = visit.unannounced
        facts.officialWithdrawn = try VisitStore.listsWithdrawnOfficial([visit.id], db)
        facts.recentVisits = try VisitStore.recentVisits(enterprise: visit.enterprise, day: visit.bookedDay ?? visit.from, excluding: visit.id, db)
        facts.withdrawn = visit.withdrawnAt != nil
        return facts
    }

    // MARK: Changes by the unit

    /// The head approves, seen by a face check (purpose `visit_approval`, subject the head,
    /// asked for by this unit client); `unannounced` (inspections only) skips the booking.
    /// 404 `not_found`, 409 `visit_state_conflict` (withdrawn, approved already), 422
    /// `validation_failed`, and the attestation errors of `FaceAuth`.
    public func approve(_ id: String, attestation: String, unannounced: Bool, client: Client) async throws -> VisitView {
        let unit = try Self.unitCode(of: client)
        let (audit, faceAuth, vault, instant) = (self.audit, self.faceAuth, self.vault, now())
        let signed = await faceAuth.signed(attestation)
        return try await transactions.write { db in
            let visit = try Self.visit(id, ownedBy: client, db)
            guard visit.withdrawnAt == nil, visit.approvedAt == nil else {
                throw MSBError(.visitStateConflict, "the visit is \(visit.status.rawValue); only an applied visit can be approved")
            }
            if unannounced, visit.type != .inspection { throw MSBError.validationFailed("only an inspection can be unannounced") }
            try faceAuth.verify(signed, subject: try UnitRegistry.head(of: unit, vault: vault, db), purpose: .visitApproval,
                                clientID: client.id, db)
            try VisitStore.approve(id, unannounced: unannounced, at: instant, db)
            try audit.append(db, actor: .client(client.id), action: "visit.approved", object: "visit:\(id)",
                             detail: ["unannounced": .bool(unannounced)])
            return try view(try Self.stored(id, db), db)
        }
    }

    /// Revokes the head's approval: the code is red (`head_not_approved`) until approved
    /// again. 404, 409 `visit_state_conflict` (not approved, or withdrawn).
    public func revokeApproval(_ id: String, client: Client) async throws -> VisitView {
        _ = try Self.unitCode(of: client)
        let audit = self.audit
        return try await transactions.write { db in
            let visit = try Self.visit(id, ownedBy: client, db)
            guard visit.withdrawnAt == nil, visit.approvedAt != nil else {
                throw MSBError(.visitStateConflict, "only an approved, live visit's approval can be revoked")
            }
            try VisitStore.revokeApproval(id, db)
            try audit.append(db, actor: .client(client.id), action: "visit.approval_revoked", object: "visit:\(id)")
            return try view(try Self.stored(id, db), db)
        }
    }

    /// Withdraws a visit: its code is dead from now on. 404, 409 `visit_state_conflict` (withdrawn already).
    public func withdraw(_ id: String, client: Client) async throws -> VisitView {
        _ = try Self.unitCode(of: client)
        let (audit, instant) = (self.audit, now())
        return try await transactions.write { db in
            let visit = try Self.visit(id, ownedBy: client, db)
            guard visit.withdrawnAt == nil else { throw MSBError(.visitStateConflict, "the visit is withdrawn already") }
            try VisitStore.withdraw(id, at: instant, db)
            try audit.append(db, actor: .client(client.id), action: "visit.withdrawn", object: "visit:\(id)")
            return try view(try Self.stored(id, db), db)
        }
    }

    static func stored(_ id: String, _ db: Database) throws -> Visit {
        guard let visit = try VisitStore.visit(id, db) else { throw InternalError("a visit vanished inside its transaction") }
        return visit
    }

    // MARK: The enterprise's answers

    /// A survey's or tour's answer by the enterprise visited. 404, 409 `visit_state_conflict`
    /// (not a survey or tour, withdrawn, decided already), 422 `validation_failed`.
    public func decide(_ id: String, decision raw: String, reason: String?, client: Client) async throws -> VisitView {
        guard let decision = EnterpriseDecision(rawValue: raw) else { throw MSBError.validationFailed("decision must be agree or refuse") }
        let reason = try reason.map { try MSBError.requireText($0, field: "reason", maximum: 500) }
        if decision == .refuse, reason == nil { throw MSBError.validationFailed("a refusal needs a reason") }
        let (audit, instant) = (self.audit, now())
        return try await transactions.write { db in
            let visit = try Self.visit(id, ownedBy: client, db)
            guard client.role == .enterprise else { throw MSBError.notFound("no such visit") }
            guard visit.type.needsEnterpriseAgreement, visit.withdrawnAt == nil, visit.decision == nil else {
                throw MSBError(.visitStateConflict, "only an undecided survey or tour can be agreed to or refused")
            }
            try VisitStore.decide(id, decision, reason: reason, at: instant, db)
            try audit.append(db, actor: .client(client.id), action: "visit.decided", object: "visit:\(id)",
                             detail: ["decision": .string(decision.rawValue)])
            return try view(try Self.stored(id, db), db)
        }
    }

    /// 码上约: one side proposes days (`dates`), the other confirms one of them (`date`).
    /// 404, 409 `visit_state_conflict` (withdrawn, booked already, unannounced), 422
    /// `validation_failed` (a day outside the window or not among the other side's).
    public func book(_ id: String, date: String?, dates: [String]?, client: Client) async throws -> VisitView {
        guard (date == nil) != (dates == nil) else { throw MSBError.validationFailed("give either date (to confirm) or dates (to propose)") }
        let (audit, instant) = (self.audit, now())
        return try await transactions.write { db in
            let visit = try Self.visit(id, ownedBy: client, db)
            guard visit.withdrawnAt == nil, visit.bookedDay == nil, !visit.unannounced else {
                throw MSBError(.visitStateConflict, "the visit is withdrawn, booked already or unannounced")
            }
            let byUnit = client.role == .unit
            if let dates {
                let days = try Self.days(dates, inside: visit.from...visit.until, today: CalendarDate(instant))
                guard !days.isEmpty else { throw MSBError.validationFailed("dates must list at least one day") }
                try VisitStore.propose(id, days: days, byUnit: byUnit, db)
                try audit.append(db, actor: .client(client.id), action: "visit.dates_proposed", object: "visit:\(id)",
                                 detail: ["by": .string(client.role.rawValue)])
            } else if let date {
                let offered = (byUnit ? visit.counterDays : visit.proposedDays) ?? []
                guard let day = CalendarDate(date), offered.contains(day), day >= CalendarDate(instant) else {
                    throw MSBError.validationFailed("date must be one of the days the \(byUnit ? "enterprise" : "unit") proposed, not past")
                }
                try VisitStore.book(id, day: day, db)
                try audit.append(db, actor: .client(client.id), action: "visit.booked", object: "visit:\(id)",
                                 detail: ["day": .string(day.text)])
            }
            return try view(try Self.stored(id, db), db)
        }
    }

    // MARK: Joint inspections (一次进门、多事联查)

    /// The calling unit asks that its inspection `id` be merged into another unit's approved
    /// inspection `lead` of the same enterprise and matter. 404, 409 `visit_state_conflict`,
    /// 422 `validation_failed`.
    public func requestJoin(_ id: String, lead leadID: String, client: Client) async throws -> VisitView {
        _ = try Self.unitCode(of: client)
        let audit = self.audit
        return try await transactions.write { db in
            let visit = try Self.visit(id, ownedBy: client, db)
            guard let lead = try VisitStore.visit(leadID, db), lead.unit != visit.unit else { throw MSBError.notFound("no such visit to join") }
            guard visit.type == .inspection, lead.type == .inspection, lead.enterprise == visit.enterprise, lead.matter == visit.matter else {
                throw MSBError.validationFailed("only an inspection of the same enterprise and matter can be joined")
            }
            guard visit.withdrawnAt == nil, visit.joinedAt == nil, lead.status == .approved,
                  try VisitStore.members(of: visit.id, joined: true, db).isEmpty
            else { throw MSBError(.visitStateConflict, "only a live visit can join another unit's approved inspection") }
            try VisitStore.requestJoin(id, lead: leadID, db)
            try audit.append(db, actor: .client(client.id), action: "visit.join_requested", object: "visit:\(id)",
                             detail: ["lead": .string(leadID)])
            return try view(try Self.stored(id, db), db)
        }
    }

    /// The lead's unit accepts the request of visit `id` to join its inspection: one joint
    /// visit, one code. 404 (not a request to one of the caller's visits), 409.
    public func acceptJoin(_ id: String, client: Client) async throws -> VisitView {
        let unit = try Self.unitCode(of: client)
        let (audit, instant) = (self.audit, now())
        return try await transactions.write { db in
            guard let visit = try VisitStore.visit(id, db), let leadID = visit.joins, let lead = try VisitStore.visit(leadID, db),
                  lead.unit == unit
            else { throw MSBError.notFound("no such request to join one of this unit's visits") }
            guard visit.joinedAt == nil, visit.withdrawnAt == nil, lead.status == .approved else {
                throw MSBError(.visitStateConflict, "the request was accepted already, or one of the visits is no longer live")
            }
            try VisitStore.markJoined(id, at: instant, db)
            var chain = try audit.chain(db)
            try chain.append(actor: .client(client.id), action: "visit.joined", object: "visit:\(id)", detail: ["lead": .string(leadID)])
            try chain.append(actor: .client(client.id), action: "visit.join_accepted", object: "visit:\(leadID)",
                             detail: ["member": .string(id)])
            return try view(lead, db)
        }
    }
}

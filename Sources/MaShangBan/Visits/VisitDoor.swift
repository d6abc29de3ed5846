import Foundation
import GRDB

/// Visit codes and the enterprise's door: a code is a QR token of `typ` `visit` (no
/// personal data, only the visit's code id) valid until the end of the visit's last day;
/// the door terminal scans it, and the colour decides whether the officials may enter.
extension Visits {
    /// The end of `day` in China Standard Time (24:00, UTC+8).
    static func endOf(_ day: CalendarDate) -> Date { day.adding(days: 1).startInChina }

    /// Draws the visit's code: the same code id every time, signed afresh. A visit merged
    /// into another draws the joint visit's code. 404, 409 `visit_state_conflict` (withdrawn,
    /// or its window has passed).
    public func code(_ id: String, client: Client) async throws -> VisitCode {
        _ = try Self.unitCode(of: client)
        let (audit, instant, region, keyring, random) = (self.audit, now(), self.region, self.keyring, self.random)
        return try await transactions.write { db in
            var visit = try Self.visit(id, ownedBy: client, db)
            if visit.joinedAt != nil, let lead = visit.joins { visit = try Self.stored(lead, db) }
            let expires = Self.endOf(visit.until)
            guard visit.withdrawnAt == nil, expires > instant else {
                throw MSBError(.visitStateConflict, "the visit is withdrawn or its last day has passed: it has no code")
            }
            let jti = visit.jti ?? QRToken.newJTI(random)
            if visit.jti == nil { try VisitStore.setJTI(visit.id, jti: jti, db) }
            let verdict = try verdict(visit, on: nil, db)
            let token = try QRToken.make(kind: .visit, region: region, hall: nil, issuedAt: instant, expiresAt: expires, jti: jti)
                .signed(with: keyring.active)
            try audit.append(db, actor: .client(client.id), action: "visit.coded", object: "visit:\(visit.id)",
                             detail: ["colour": .string(verdict.colour), "reasons": .array(verdict.reasons.map { .string($0.rawValue) })])
            return VisitCode(visit: visit.id, verdict: verdict, token: token, expiresAt: Timestamp(expires))
        }
    }

    /// A scan at the door of the calling enterprise. Green: the entry or exit is recorded.
    /// Red: the entry is refused, audited (`visit.refused`) and sent to the unit's supervisor;
    /// an exit is always recorded after an entry. 422 `token_invalid` (not a visit code of
    /// this region, or not for this enterprise: refused and audited too), 409
    /// `visit_event_out_of_order`, 422 `validation_failed`.
    public func scan(token: String, event raw: String, client: Client) async throws -> VisitScan {
        guard client.role == .enterprise, let enterprise = client.party else { throw MSBError.forbidden("this route is for enterprise clients") }
        guard let kind = VisitEvent.Kind(rawValue: raw), kind != .refused else { throw MSBError.validationFailed("event must be enter or exit") }
        let instant = now()
        let day = CalendarDate(instant)
        let checked = Result { try QRToken.verify(token, kind: .visit, region: region, keyring: keyring, now: nil) }
        let (audit, notices, reference) = (self.audit, self.notices, holderReference)
        // A group-commit unit, like a window's scan: the door's answer is built after it commits.
        let outcome = try await transactions.unit { db -> Result<(Visit, VisitVerdict, VisitEvent?), MSBError> in
            let refuse = { (visit: Visit?, reasons: [String]) throws in
                let refused = VisitEvent(kind: .refused, day: day, at: Timestamp(instant), reasons: reasons)
                try VisitStore.insertEvent(visit: visit?.id, enterprise: enterprise, refused, clientID: client.id, db)
                try audit.append(db, actor: .client(client.id), action: "visit.refused",
                                 object: visit.map { "visit:\($0.id)" } ?? "enterprise:\(reference.ref(enterprise))",
                                 detail: ["reasons": .array(reasons.map(JSONValue.string))])
                if let visit {
                    try notices.enqueue(unit: visit.unit, event: "visit.refused", body: [
                        "visit": .string(visit.id), "unit": .string(visit.unit), "enterprise": .string(visit.enterprise),
                        "scanned_by": .string(enterprise), "reasons": .array(reasons.map(JSONValue.string)),
                    ], at: instant, db)
                }
            }
            guard case .success(let claims) = checked, var visit = try VisitStore.visit(jti: claims.jti, db) else {
                var error = MSBError(.tokenInvalid, "the token names no visit")
                if case .failure(let invalid as MSBError) = checked { error = invalid }
                try refuse(nil, [ProblemCode.tokenInvalid.rawValue])
                return .failure(error)
            }
            guard visit.enterprise == enterprise else {
                try refuse(visit, ["wrong_enterprise"])
                return .failure(MSBError(.tokenInvalid, "the code is not for this enterprise"))
            }
            if visit.joinedAt != nil, let lead = visit.joins { visit = try Self.stored(lead, db) }
            let verdict = try verdict(visit, on: day, db)
            let last = try VisitStore.lastDoorEvent(of: visit.id, day: day, db)
            switch kind {
            case .enter:
                guard verdict.isGreen else {
                    try refuse(visit, verdict.reasons.map(\.rawValue))
                    return .success((visit, verdict, nil))
                }
                guard last == nil else { return .failure(MSBError(.visitEventOutOfOrder, "the visit has entered today already")) }
            case .exit:
                guard last == .enter else { return .failure(MSBError(.visitEventOutOfOrder, "the visit has not entered today, or has left")) }
            case .refused:
                break
            }
            let recorded = VisitEvent(kind: kind, day: day, at: Timestamp(instant), reasons: [])
            try VisitStore.insertEvent(visit: visit.id, enterprise: enterprise, recorded, clientID: client.id, db)
            try audit.append(db, actor: .client(client.id), action: kind == .enter ? "visit.entered" : "visit.exited",
                             object: "visit:\(visit.id)", detail: ["colour": .string(verdict.colour)])
            return .success((visit, verdict, recorded))
        }
        notices.wake.fire()
        let (scanned, judged, event) = try outcome.get()
        let view = try await transactions.read { db in try self.view(scanned, db, verdict: judged) }
        return VisitScan(verdict: judged, view: view, event: event)
    }
}

extension VisitVerdict {
    /// `green` or `red`.
    public var colour: String { isGreen ? "green" : "red" }
}

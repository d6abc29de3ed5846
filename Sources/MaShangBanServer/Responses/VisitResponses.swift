import MaShangBan

/// A unit; its supervisor webhook secret only in the answer that registered it.
struct UnitBody: ResponseBody {
    let unit: Unit
    var secret: String?
    var json: JSONValue {
        var members: [String: JSONValue] = ["code": .string(unit.code), "name": .string(unit.name),
                                            "supervisor_webhook": .string(unit.supervisorWebhook), "created_at": .time(unit.createdAt)]
        if let secret { members["secret"] = .string(secret) }
        return .object(members)
    }
}

/// An official: the name masked, the 行政执法证 number as registered (enterprises check it).
struct OfficialBody: ResponseBody {
    let official: Official
    var json: JSONValue {
        .object(["unit": .string(official.unit), "id": .string(official.id), "name": .string(official.maskedName),
                 "credential_no": .string(official.credentialNumber), "withdrawn_at": .time(official.withdrawnAt)])
    }
}

struct ProtectedEnterpriseBody: ResponseBody {
    let enterprise: ProtectedEnterprise
    var json: JSONValue {
        .object(["credit_code": .string(enterprise.creditCode), "name": .string(enterprise.name), "created_at": .time(enterprise.createdAt)])
    }
}

struct FilingBody: ResponseBody {
    let filing: Filing
    var json: JSONValue {
        .object(["unit": .string(filing.unit), "year": .int(Int64(filing.year)), "enterprise": .string(filing.enterprise),
                 "type": .string(filing.type.rawValue), "count": .int(Int64(filing.count))])
    }
}

/// A code's colour and why: `{"colour","reasons","warnings","joint_candidates"}`.
struct VerdictMembers {
    let verdict: VisitVerdict
    var members: [String: JSONValue] {
        ["colour": .string(verdict.colour), "reasons": .array(verdict.reasons.map { .string($0.rawValue) }),
         "warnings": .array(verdict.warnings.map { .string($0.rawValue) }),
         "joint_candidates": .array(verdict.jointCandidates.map(JSONValue.string))]
    }
}

/// A visit as its unit, the enterprise visited, an admin or a supervisor reads it.
struct VisitBody: ResponseBody {
    let view: VisitView
    var json: JSONValue {
        let visit = view.visit
        let days = { (list: [CalendarDate]) in JSONValue.array(list.map { .string($0.text) }) }
        let decision: JSONValue = visit.decision.map { decision in
            .object(["decision": .string(decision.rawValue), "reason": .string(visit.decisionReason), "at": .time(visit.decidedAt)])
        } ?? .null
        return .object([
            "id": .string(visit.id), "unit": .object(["code": .string(visit.unit), "name": .string(view.unitName)]),
            "enterprise": .string(visit.enterprise), "type": .string(visit.type.rawValue), "matter": .string(visit.matter),
            "legal_basis": .string(visit.legalBasis), "purpose": .string(visit.purpose), "from": .date(visit.from),
            "until": .date(visit.until), "status": .string(visit.status.rawValue),
            "officials": .array(view.officials.map { OfficialBody(official: $0).json }),
            "booking": .object(["proposed_dates": days(visit.proposedDays), "enterprise_dates": visit.counterDays.map(days) ?? .null,
                                "date": .date(visit.bookedDay)]),
            "unannounced": .bool(visit.unannounced), "approved_at": .time(visit.approvedAt), "decision": decision,
            "joint": .object(["lead": .string(visit.joinedAt == nil ? nil : visit.joins), "members": .array(view.members.map(JSONValue.string)),
                              "requests": .array(view.joinRequests.map(JSONValue.string)),
                              "requested": .string(visit.joinedAt == nil ? visit.joins : nil)]),
            "checks": .object(VerdictMembers(verdict: view.verdict).members),
            "timeline": .array(view.timeline.map(VisitEventBody.init).map(\.json)),
            "withdrawn_at": .time(visit.withdrawnAt), "created_at": .time(visit.createdAt),
        ])
    }
}

struct VisitEventBody: ResponseBody {
    let event: VisitEvent
    var json: JSONValue {
        .object(["event": .string(event.kind.rawValue), "day": .date(event.day), "at": .time(event.at),
                 "reasons": .array(event.reasons.map(JSONValue.string)), "door": .string(event.door)])
    }
}

/// `POST /v1/visits/{id}/code`: the colour, the token and where to draw it.
struct VisitCodeBody: ResponseBody {
    let code: VisitCode
    var json: JSONValue {
        var members = VerdictMembers(verdict: code.verdict).members
        members["visit"] = .string(code.visit)
        members["token"] = .string(code.token)
        members["expires_at"] = .time(code.expiresAt)
        members["qr_png"] = .string("/v1/visits/\(code.visit)/qr.png")
        members["qr_svg"] = .string("/v1/visits/\(code.visit)/qr.svg")
        return .object(members)
    }
}

/// `POST /v1/visit-scans`: what the door shows.
struct VisitScanBody: ResponseBody {
    let scan: VisitScan
    var json: JSONValue {
        var members = VerdictMembers(verdict: scan.verdict).members
        members["visit"] = VisitBody(view: scan.view).json
        members["entry"] = scan.event.map { .object(["event": .string($0.kind.rawValue), "at": .time($0.at)]) } ?? .null
        return .object(members)
    }
}

extension ListBody where Element == UnitBody {
    init(units: [Unit]) { self.init(name: "units", elements: units.map { UnitBody(unit: $0) }) }
}

extension ListBody where Element == OfficialBody {
    init(officials: [Official]) { self.init(name: "officials", elements: officials.map(OfficialBody.init)) }
}

extension ListBody where Element == ProtectedEnterpriseBody {
    init(enterprises: [ProtectedEnterprise]) { self.init(name: "enterprises", elements: enterprises.map(ProtectedEnterpriseBody.init)) }
}

extension ListBody where Element == FilingBody {
    init(filings: [Filing]) { self.init(name: "filings", elements: filings.map(FilingBody.init)) }
}

extension ListBody where Element == VisitBody {
    init(visits: [VisitView]) { self.init(name: "visits", elements: visits.map(VisitBody.init)) }
}

/// An appointment (码上约), as the enterprise that asked and the unit asked see it.
struct AppointmentBody: ResponseBody {
    let appointment: Appointment
    var json: JSONValue {
        .object(["id": .string(appointment.id), "enterprise": .string(appointment.enterprise), "unit": .string(appointment.unit),
                 "topic": .string(appointment.topic), "preferred_dates": .array(appointment.preferredDays.map { .string($0.text) }),
                 "status": .string(appointment.status.rawValue), "reason": .string(appointment.reason), "visit": .string(appointment.visit),
                 "created_at": .time(appointment.createdAt), "decided_at": .time(appointment.decidedAt)])
    }
}

/// A rating (码上评). The enterprise that made it gets it back; only the supervisor and admin
/// see others', in `VisitStatsBody`.
struct VisitRatingBody: ResponseBody {
    let rating: VisitRating
    var json: JSONValue {
        .object(["visit": .string(rating.visit), "unit": .string(rating.unit), "enterprise": .string(rating.enterprise),
                 "score": .int(Int64(rating.score)), "level": .string(rating.level), "comment": .string(rating.comment),
                 "created_at": .time(rating.createdAt)])
    }
}

/// `GET /v1/visit-stats`: the league table, and for the supervisor and admin every rating,
/// the frequent-visit warnings and the unannounced inspections.
struct VisitStatsBody: ResponseBody {
    let report: VisitStatsReport
    var json: JSONValue {
        .object([
            "units": .array(report.units.map { row in
                .object(["unit": .string(row.unit), "name": .string(row.name), "visits": .int(Int64(row.visits)),
                         "red_scans": .int(Int64(row.redScans)), "joint_visits": .int(Int64(row.jointVisits)),
                         "unannounced": .int(Int64(row.unannounced)), "ratings": .int(Int64(row.ratings)),
                         "average_score": row.averageScore.map { .string(String(format: "%.2f", $0)) } ?? .null])
            }),
            "ratings": .array(report.ratings.map { VisitRatingBody(rating: $0).json }),
            "frequent_visits": .array(report.frequentVisits.map { warning in
                .object(["visit": .string(warning.visit), "unit": .string(warning.unit), "enterprise": .string(warning.enterprise),
                         "day": .date(warning.day), "visits_in_30_days": .int(Int64(warning.visitsIn30Days))])
            }),
            "unannounced": .array(report.unannounced.map { visit in
                .object(["visit": .string(visit.id), "unit": .string(visit.unit), "enterprise": .string(visit.enterprise),
                         "from": .date(visit.from), "until": .date(visit.until), "approved_at": .time(visit.approvedAt)])
            }),
        ])
    }
}

extension ListBody where Element == AppointmentBody {
    init(appointments: [Appointment]) { self.init(name: "appointments", elements: appointments.map(AppointmentBody.init)) }
}

/// A unit's own webhook (码上问's reminders) and its secret, shown only here.
struct UnitWebhookBody: ResponseBody {
    let unit: String
    let url: String
    let secret: String
    var json: JSONValue { .object(["unit": .string(unit), "webhook": .string(url), "secret": .string(secret)]) }
}

import Foundation
import GRDB

/// 码上约 the other way round: an enterprise asks a unit for a service visit or a
/// consultation; the unit accepts (an agreed, booked `service` visit that needs only its
/// head's approval) or declines with a reason.
public struct Appointment: Sendable, Equatable {
    public enum Status: String, Sendable {
        case requested, accepted, declined
    }

    public let id: String
    public let enterprise: String
    public let unit: String
    public let topic: String
    public let preferredDays: [CalendarDate]
    public let status: Status
    public let reason: String?
    public let visit: String?
    public let createdAt: Timestamp
    public let decidedAt: Timestamp?
}

extension Visits {
    /// `POST /v1/appointments`.
    public struct AppointmentRequest: Sendable, Decodable {
        public var unit: String
        public var topic: String
        public var preferredDates: [String]

        enum CodingKeys: String, CodingKey {
            case unit, topic
            case preferredDates = "preferred_dates"
        }

        public init(unit: String, topic: String, preferredDates: [String]) {
            (self.unit, self.topic, self.preferredDates) = (unit, topic, preferredDates)
        }
    }

    /// An enterprise's request. 422 `validation_failed`, `unit_unknown`, `enterprise_not_protected`.
    public func requestAppointment(_ r: AppointmentRequest, client: Client) async throws -> Appointment {
        guard client.role == .enterprise, let enterprise = client.party else { throw MSBError.forbidden("this route is for enterprise clients") }
        let topic = try MSBError.requireText(r.topic, field: "topic", maximum: 500)
        let instant = now()
        let today = CalendarDate(instant)
        let days = try Self.days(r.preferredDates, inside: today...today.adding(days: Self.maximumWindowDays), today: today)
        guard !days.isEmpty else { throw MSBError.validationFailed("preferred_dates must list 1 to 10 days") }
        let appointment = Appointment(id: random.identifier(prefix: "apt"), enterprise: enterprise, unit: r.unit, topic: topic,
                                      preferredDays: days, status: .requested, reason: nil, visit: nil, createdAt: Timestamp(instant),
                                      decidedAt: nil)
        let audit = self.audit
        try await transactions.write { db in
            guard try UnitStore.unit(r.unit, db) != nil else { throw MSBError(.unitUnknown, "unit \(r.unit.prefix(32)) is not registered") }
            _ = try UnitRegistry.requireProtected(enterprise, db)
            try AppointmentStore.insert(appointment, db)
            try audit.append(db, actor: .client(client.id), action: "appointment.requested", object: "appointment:\(appointment.id)",
                             detail: ["unit": .string(r.unit)])
        }
        return appointment
    }

    /// The calling enterprise's requests, or those addressed to the calling unit, newest first.
    public func appointments(client: Client) async throws -> [Appointment] {
        guard let party = client.party, client.role == .unit || client.role == .enterprise else {
            throw MSBError.forbidden("this route is for unit and enterprise clients")
        }
        return try await transactions.read { db in
            client.role == .unit ? try AppointmentStore.appointments(unit: party, limit: Self.maximumList, db)
                : try AppointmentStore.appointments(enterprise: party, limit: Self.maximumList, db)
        }
    }

    /// The unit accepts on one of the preferred days, naming its officials: an agreed, booked
    /// service visit, waiting for the head's approval. 404, 409 `visit_state_conflict`
    /// (decided already), 422 `validation_failed`, `official_unknown`.
    public func acceptAppointment(_ id: String, date: String, officials: [String], client: Client) async throws -> (Appointment, VisitView) {
        let unit = try Self.unitCode(of: client)
        let instant = now()
        guard (1...20).contains(officials.count), Set(officials).count == officials.count else {
            throw MSBError.validationFailed("officials must list 1 to 20 different official ids")
        }
        let appointment = try await transactions.read { db in try Self.pending(id, unit: unit, db) }
        guard let day = CalendarDate(date), appointment.preferredDays.contains(day), day >= CalendarDate(instant) else {
            throw MSBError.validationFailed("date must be one of the preferred dates, not past")
        }
        let visit = Visit(id: random.identifier(prefix: "vis"), unit: unit, enterprise: appointment.enterprise, type: .service,
                          matter: appointment.topic, legalBasis: "应企业申请 (码上约)", purpose: appointment.topic, from: day, until: day,
                          proposedDays: [day], counterDays: nil, bookedDay: day, unannounced: false, approvedAt: nil, approvalOrder: nil,
                          decision: .agree, decisionReason: nil, decidedAt: Timestamp(instant), joins: nil, joinedAt: nil, withdrawnAt: nil,
                          jti: nil, appointment: id, createdAt: Timestamp(instant))
        let audit = self.audit
        let view = try await insert(visit, officials: officials, actor: .client(client.id)) { db in
            _ = try Self.pending(id, unit: unit, db)
            try AppointmentStore.decide(id, status: .accepted, reason: nil, visit: visit.id, at: instant, db)
            try audit.append(db, actor: .client(client.id), action: "appointment.accepted", object: "appointment:\(id)",
                             detail: ["visit": .string(visit.id)])
        }
        let accepted = try await transactions.read { db in try AppointmentStore.appointment(id, db) }
        guard let accepted else { throw InternalError("an appointment vanished") }
        return (accepted, view)
    }

    /// The unit declines with a reason. 404, 409 `visit_state_conflict`, 422 `validation_failed`.
    public func declineAppointment(_ id: String, reason: String, client: Client) async throws -> Appointment {
        let unit = try Self.unitCode(of: client)
        let reason = try MSBError.requireText(reason, field: "reason", maximum: 500)
        let (audit, instant) = (self.audit, now())
        return try await transactions.write { db in
            _ = try Self.pending(id, unit: unit, db)
            try AppointmentStore.decide(id, status: .declined, reason: reason, visit: nil, at: instant, db)
            try audit.append(db, actor: .client(client.id), action: "appointment.declined", object: "appointment:\(id)")
            guard let declined = try AppointmentStore.appointment(id, db) else { throw InternalError("an appointment vanished") }
            return declined
        }
    }

    /// An appointment addressed to `unit` and not yet decided: 404 `not_found`, 409 `visit_state_conflict`.
    static func pending(_ id: String, unit: String, _ db: Database) throws -> Appointment {
        guard let appointment = try AppointmentStore.appointment(id, db), appointment.unit == unit else {
            throw MSBError.notFound("no such appointment")
        }
        guard appointment.status == .requested else { throw MSBError(.visitStateConflict, "the appointment was \(appointment.status.rawValue) already") }
        return appointment
    }
}

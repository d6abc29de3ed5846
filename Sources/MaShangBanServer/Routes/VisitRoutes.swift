import Hummingbird
import MaShangBan

/// 赋码入企: visits (unit), the enterprise's answers and its door (enterprise).
struct VisitRoutes {
    let auth: Authenticator
    let visits: Visits

    struct Approval: Decodable {
        let attestation: String
        let unannounced: Bool?
    }

    struct Decision: Decodable {
        let decision: String
        let reason: String?
    }

    struct Booking: Decodable {
        let date: String?
        let dates: [String]?
    }

    struct Join: Decodable {
        let visit: String
    }

    struct Scan: Decodable {
        let token: String
        let event: String
    }

    struct Rating: Decodable {
        let score: Int
        let comment: String?
    }

    struct Acceptance: Decodable {
        let date: String
        let officials: [String]
    }

    struct Declining: Decodable {
        let reason: String
    }

    func register(on router: Router<AppRequestContext>) {
        let unit = Authorize(.unit, auth: auth)
        router.group("v1/visits").add(middleware: unit).post { request, context in
            let application = try await request.decodeJSON(Visits.Application.self)
            return JSONResponse.make(VisitBody(view: try await visits.apply(application, client: try context.requireClient())), status: .created)
        }
        router.group("v1/visits").add(middleware: unit).get { request, context in
            let query = request.uri.queryParameters
            let list = try await visits.list(client: try context.requireClient(), enterprise: query.get("enterprise"), status: query.get("status"))
            return JSONResponse.make(ListBody(visits: list))
        }
        router.group("v1/visits").add(middleware: Authorize(.unit, .admin, .supervisor, auth: auth)).get("{id}") { _, context in
            JSONResponse.make(VisitBody(view: try await visits.find(try context.parameters.require("id"), client: try context.requireClient())))
        }

        let byUnit = router.group("v1/visits/{id}").add(middleware: unit)
        byUnit.post("approve") { request, context in
            let body = try await request.decodeJSON(Approval.self)
            return JSONResponse.make(VisitBody(view: try await visits.approve(try context.parameters.require("id"), attestation: body.attestation,
                                                                              unannounced: body.unannounced ?? false,
                                                                              client: try context.requireClient())))
        }
        byUnit.delete("approval") { _, context in
            JSONResponse.make(VisitBody(view: try await visits.revokeApproval(try context.parameters.require("id"), client: try context.requireClient())))
        }
        byUnit.post("withdraw") { _, context in
            JSONResponse.make(VisitBody(view: try await visits.withdraw(try context.parameters.require("id"), client: try context.requireClient())))
        }
        byUnit.post("join") { request, context in
            let body = try await request.decodeJSON(Join.self)
            return JSONResponse.make(VisitBody(view: try await visits.requestJoin(try context.parameters.require("id"), lead: body.visit,
                                                                                  client: try context.requireClient())))
        }
        byUnit.post("join/accept") { _, context in
            JSONResponse.make(VisitBody(view: try await visits.acceptJoin(try context.parameters.require("id"), client: try context.requireClient())))
        }
        byUnit.post("code") { _, context in
            JSONResponse.make(VisitCodeBody(code: try await visits.code(try context.parameters.require("id"), client: try context.requireClient())))
        }
        ConsentRoutes.addQRImages(to: router.group("v1/visits").add(middleware: unit)) { id, client in
            try await visits.code(id, client: client).token
        }

        router.group("v1/visits/{id}/enterprise-decision").add(middleware: Authorize(.enterprise, auth: auth)).post { request, context in
            let body = try await request.decodeJSON(Decision.self)
            return JSONResponse.make(VisitBody(view: try await visits.decide(try context.parameters.require("id"), decision: body.decision,
                                                                             reason: body.reason, client: try context.requireClient())))
        }
        router.group("v1/visits/{id}/booking").add(middleware: Authorize(.unit, .enterprise, auth: auth)).post { request, context in
            let body = try await request.decodeJSON(Booking.self)
            return JSONResponse.make(VisitBody(view: try await visits.book(try context.parameters.require("id"), date: body.date, dates: body.dates,
                                                                           client: try context.requireClient())))
        }
        router.group("v1/visits/{id}/rating").add(middleware: Authorize(.enterprise, auth: auth)).post { request, context in
            let body = try await request.decodeJSON(Rating.self)
            let rating = try await visits.rate(try context.parameters.require("id"), score: body.score, comment: body.comment,
                                               client: try context.requireClient())
            return JSONResponse.make(VisitRatingBody(rating: rating), status: .created)
        }
        router.group("v1/visit-stats").add(middleware: Authorize(.supervisor, .admin, .unit, auth: auth)).get { _, context in
            JSONResponse.make(VisitStatsBody(report: try await visits.stats(client: try context.requireClient())))
        }
        registerAppointments(on: router)
        router.group("v1/enterprise/visits").add(middleware: Authorize(.enterprise, auth: auth)).get { _, context in
            JSONResponse.make(ListBody(visits: try await visits.forEnterprise(client: try context.requireClient())))
        }
        router.group("v1/visit-scans").add(middleware: Authorize(.enterprise, auth: auth)).post { request, context in
            let body = try await request.decodeJSON(Scan.self)
            return JSONResponse.make(VisitScanBody(scan: try await visits.scan(token: body.token, event: body.event,
                                                                               client: try context.requireClient())))
        }
    }

    /// 码上约 from the enterprise's side: `/v1/appointments`.
    func registerAppointments(on router: Router<AppRequestContext>) {
        router.group("v1/appointments").add(middleware: Authorize(.enterprise, auth: auth)).post { request, context in
            let body = try await request.decodeJSON(Visits.AppointmentRequest.self)
            return JSONResponse.make(AppointmentBody(appointment: try await visits.requestAppointment(body, client: try context.requireClient())),
                                     status: .created)
        }
        router.group("v1/appointments").add(middleware: Authorize(.enterprise, .unit, auth: auth)).get { _, context in
            JSONResponse.make(ListBody(appointments: try await visits.appointments(client: try context.requireClient())))
        }
        let unit = router.group("v1/appointments/{id}").add(middleware: Authorize(.unit, auth: auth))
        unit.post("accept") { request, context in
            let body = try await request.decodeJSON(Acceptance.self)
            let (appointment, _) = try await visits.acceptAppointment(try context.parameters.require("id"), date: body.date,
                                                                      officials: body.officials, client: try context.requireClient())
            return JSONResponse.make(AppointmentBody(appointment: appointment))
        }
        unit.post("decline") { request, context in
            let body = try await request.decodeJSON(Declining.self)
            return JSONResponse.make(AppointmentBody(appointment: try await visits.declineAppointment(
                try context.parameters.require("id"), reason: body.reason, client: try context.requireClient())))
        }
    }
}

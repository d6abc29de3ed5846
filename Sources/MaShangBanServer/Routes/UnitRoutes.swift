import Hummingbird
import MaShangBan

/// 赋码入企's registry (admin): `/v1/units` with their officials and filings, and
/// `/v1/protected-enterprises`. A unit client reads its own officials and filings.
struct UnitRoutes {
    let auth: Authenticator
    let units: UnitRegistry

    struct WebhookRequest: Decodable { let url: String }

    func register(on router: Router<AppRequestContext>) {
        let admin = Authorize(.admin, auth: auth)
        router.group("v1/units").add(middleware: admin).post { request, context in
            let registration = try await request.decodeJSON(UnitRegistry.Registration.self)
            let (unit, secret) = try await units.create(registration, by: context.actor)
            return JSONResponse.make(UnitBody(unit: unit, secret: secret), status: .created)
        }
        router.group("v1/units").add(middleware: Authorize(.admin, .supervisor, auth: auth)).get { _, _ in
            JSONResponse.make(ListBody(units: try await units.list()))
        }

        // A group's middleware list is shared by whatever is added to it later: one group per guard.
        router.group("v1/units/{code}/officials").add(middleware: admin).post { request, context in
            let registration = try await request.decodeJSON(UnitRegistry.OfficialRegistration.self)
            let official = try await units.addOfficial(registration, unit: try context.parameters.require("code"), by: context.actor)
            return JSONResponse.make(OfficialBody(official: official), status: .created)
        }
        router.group("v1/units/{code}/officials").add(middleware: admin).delete("{id}") { _, context in
            try await units.withdrawOfficial(unit: try context.parameters.require("code"), id: try context.parameters.require("id"),
                                             by: context.actor)
            return Response(status: .noContent)
        }
        router.group("v1/units/{code}/webhook").add(middleware: admin).put { request, context in
            let url = try await request.decodeJSON(WebhookRequest.self).url
            let code = try context.parameters.require("code")
            let secret = try await units.setWebhook(code, to: url, by: context.actor)
            return JSONResponse.make(UnitWebhookBody(unit: code, url: url, secret: secret))
        }
        router.group("v1/units/{code}/filings").add(middleware: admin).post { request, context in
            let filing = try await units.file(try await request.decodeJSON(UnitRegistry.FilingRequest.self),
                                              unit: try context.parameters.require("code"), by: context.actor)
            return JSONResponse.make(FilingBody(filing: filing), status: .created)
        }
        let reading = router.group("v1/units/{code}").add(middleware: Authorize(.admin, .unit, auth: auth))
        reading.get("officials") { _, context in
            JSONResponse.make(ListBody(officials: try await units.officials(of: try Self.ownUnit(context))))
        }
        reading.get("filings") { _, context in
            JSONResponse.make(ListBody(filings: try await units.filings(of: try Self.ownUnit(context))))
        }

        router.group("v1/protected-enterprises").add(middleware: admin).post { request, context in
            let registration = try await request.decodeJSON(UnitRegistry.EnterpriseRegistration.self)
            let (enterprise, created) = try await units.protect(registration, by: context.actor)
            return JSONResponse.make(ProtectedEnterpriseBody(enterprise: enterprise), status: created ? .created : .ok)
        }
        router.group("v1/protected-enterprises/batch").add(middleware: admin).post { request, context in
            let body = try await request.collectBody(limit: BodyLimit.json)
            return JSONResponse.make(BatchResultBody(result: try await units.protect(ndjson: Array(body.readableBytesView), by: context.actor)))
        }
        router.group("v1/protected-enterprises").add(middleware: Authorize(.admin, .unit, .supervisor, auth: auth)).get { _, _ in
            JSONResponse.make(ListBody(enterprises: try await units.protectedEnterprises()))
        }
    }

    /// The unit in the path, which a unit client may read only when it is its own (404 otherwise).
    static func ownUnit(_ context: AppRequestContext) throws -> String {
        let code = try context.parameters.require("code")
        let client = try context.requireClient()
        guard client.role == .admin || client.party == code else { throw MSBError.notFound("no such unit") }
        return code
    }
}

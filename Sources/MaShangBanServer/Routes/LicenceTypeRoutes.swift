import Hummingbird
import MaShangBan

/// `GET /v1/licence-types` (any role), `POST /v1/licence-types` (admin).
struct LicenceTypeRoutes {
    let auth: Authenticator
    let licenceTypes: LicenceTypeRegistry

    func register(on router: Router<AppRequestContext>) {
        router.group("v1/licence-types")
            .add(middleware: Authorize.anyRole(auth))
            .get { _, _ in JSONResponse.make(ListBody(types: try await licenceTypes.all())) }
        router.group("v1/licence-types")
            .add(middleware: Authorize(.admin, auth: auth))
            .post { request, context in
                let definition = try await request.decodeJSON(LicenceTypeRegistry.Definition.self)
                let type = try await licenceTypes.add(definition, by: context.actor)
                return JSONResponse.make(LicenceTypeBody(type: type), status: .created)
            }
    }
}

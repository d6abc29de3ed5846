import Hummingbird
import MaShangBan

/// `GET /v1/licence-types` (any role), `POST /v1/licence-types` (admin).
struct LicenceTypeRoutes {
    let backend: Backend

    struct ListResponse: Encodable {
        let licenceTypes: [LicenceType]
        enum CodingKeys: String, CodingKey { case licenceTypes = "licence_types" }
    }

    func register(on router: Router<AppRequestContext>) {
        router.group("v1/licence-types")
            .add(middleware: Authorize.anyRole(backend: backend))
            .get { _, _ in try JSONResponse.make(ListResponse(licenceTypes: try await backend.licenceTypes.all())) }
        router.group("v1/licence-types")
            .add(middleware: Authorize(.admin, backend: backend))
            .post { request, context in
                let definition = try await request.decodeJSON(LicenceTypeRegistry.Definition.self)
                let type = try await backend.licenceTypes.add(definition, by: context.actor, now: backend.now())
                return try JSONResponse.make(type, status: .created)
            }
    }
}

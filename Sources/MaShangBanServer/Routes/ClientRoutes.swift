import Hummingbird
import MaShangBan

/// `POST/GET /v1/clients`, `DELETE /v1/clients/{id}` (admin).
struct ClientRoutes {
    let auth: Authenticator
    let clients: ClientRegistry

    struct CreateRequest: Decodable {
        let role: String
        let name: String
        let hall: String?
        let window: String?
        let issuerCode: String?
        let licenceTypes: [String]?
        let unit: String?
        let enterprise: String?
        enum CodingKeys: String, CodingKey {
            case role, name, hall, window, unit, enterprise
            case issuerCode = "issuer_code"
            case licenceTypes = "licence_types"
        }
    }

    func register(on router: Router<AppRequestContext>) {
        let group = router.group("v1/clients").add(middleware: Authorize(.admin, auth: auth))
        group.post { request, context in
            let body = try await request.decodeJSON(CreateRequest.self)
            let created = try await clients.create(
                .init(role: body.role, name: body.name, hall: body.hall, window: body.window, issuerCode: body.issuerCode,
                      licenceTypes: body.licenceTypes, unit: body.unit, enterprise: body.enterprise), by: context.actor)
            return JSONResponse.make(ClientBody(client: created.client, token: created.token), status: .created)
        }
        group.get { request, _ in
            let limit = Int(try request.integerParameter("limit", default: Int64(ClientRegistry.maximumPage),
                                                    in: 1...Int64(ClientRegistry.maximumPage)))
            let page = try await clients.list(after: request.uri.queryParameters.get("after"), limit: limit)
            return JSONResponse.make(ClientPageBody(clients: page.clients, next: page.next))
        }
        group.delete("{id}") { _, context in
            let id = try context.parameters.require("id")
            try await clients.delete(id: id, by: context.actor)
            return Response(status: .noContent)
        }
    }
}

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
        enum CodingKeys: String, CodingKey {
            case role, name, hall, window
            case issuerCode = "issuer_code"
            case licenceTypes = "licence_types"
        }
    }

    struct ClientView: Encodable {
        let client: Client
        let token: String?

        enum CodingKeys: String, CodingKey {
            case id, role, name, hall, window, token
            case createdAt = "created_at", issuerCode = "issuer_code", licenceTypes = "licence_types"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(client.id, forKey: .id)
            try c.encode(client.role, forKey: .role)
            try c.encode(client.name, forKey: .name)
            try c.encode(client.hall, forKey: .hall)
            try c.encode(client.window, forKey: .window)
            try c.encode(client.createdAt, forKey: .createdAt)
            if client.role == .issuer {  // null for an issuer registered before issuers had codes
                try c.encode(client.issuerCode, forKey: .issuerCode)
                try c.encode(client.licenceTypes, forKey: .licenceTypes)
            }
            if let token { try c.encode(token, forKey: .token) }
        }
    }

    struct ListResponse: Encodable {
        let clients: [ClientView]
        let next: String?

        func encode(to encoder: any Encoder) throws {  // `next` is always present (null on the last page)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(clients, forKey: .clients)
            try container.encode(next, forKey: .next)
        }

        enum CodingKeys: String, CodingKey { case clients, next }
    }

    func register(on router: Router<AppRequestContext>) {
        let group = router.group("v1/clients").add(middleware: Authorize(.admin, auth: auth))
        group.post { request, context in
            let body = try await request.decodeJSON(CreateRequest.self)
            let created = try await clients.create(
                .init(role: body.role, name: body.name, hall: body.hall, window: body.window, issuerCode: body.issuerCode,
                      licenceTypes: body.licenceTypes), by: context.actor)
            return try JSONResponse.make(ClientView(client: created.client, token: created.token), status: .created)
        }
        group.get { request, _ in
            let limit = Int(try request.integerParameter("limit", default: Int64(ClientRegistry.maximumPage),
                                                    in: 1...Int64(ClientRegistry.maximumPage)))
            let page = try await clients.list(after: request.uri.queryParameters.get("after"), limit: limit)
            return try JSONResponse.make(ListResponse(clients: page.clients.map { ClientView(client: $0, token: nil) }, next: page.next))
        }
        group.delete("{id}") { _, context in
            let id = try context.parameters.require("id")
            try await clients.delete(id: id, by: context.actor)
            return Response(status: .noContent)
        }
    }
}

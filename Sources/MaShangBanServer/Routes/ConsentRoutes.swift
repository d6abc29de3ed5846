import Hummingbird
import MaShangBan
import NIOCore

/// The app backend's side of 一码出示: enterprise agents, consents, presentations and their
/// QR images.
struct ConsentRoutes {
    let auth: Authenticator
    let agents: EnterpriseAgents
    let consents: Consents
    let holderSessions: HolderSessions
    let now: Now
    let presentations: Presentations

    struct AgentRequest: Decodable {
        let agent: String
        let attestation: String
        let validUntil: String
        enum CodingKeys: String, CodingKey {
            case agent, attestation
            case validUntil = "valid_until"
        }
    }

    struct PresentationRequest: FlatStringBody {
        let consent: String

        init?(strings: [String: String]) {
            guard let consent = strings["consent"] else { return nil }
            self.consent = consent
        }
    }

    func register(on router: Router<AppRequestContext>) {
        let app = Authorize(.app, auth: auth)

        let agentsGroup = router.group("v1/enterprises/{credit_code}/agents").add(middleware: app)
        agentsGroup.post { request, context in
            let body = try await request.decodeJSON(AgentRequest.self)
            let enterprise = try creditCode(context)
            let agent = try CitizenID(body.agent, field: "agent", today: now())
            let authorisation = try await agents.authorise(enterprise: enterprise, agent: agent, attestation: body.attestation,
                                                                   validUntil: body.validUntil, client: try context.requireClient())
            return JSONResponse.make(AgentBody(authorisation: authorisation), status: .created)
        }
        agentsGroup.delete("{agent}") { request, context in
            let agent = try CitizenID(try context.parameters.require("agent"), field: "the agent in the path", today: now())
            let enterprise = try creditCode(context)
            try await holderSessions.require(HolderRoutes.sessionToken(request), for: .enterprise(enterprise),
                                                     client: try context.requireClient())
            try await agents.withdraw(enterprise: enterprise, agent: agent, by: context.actor)
            return Response(status: .noContent)
        }

        let consentsGroup = router.group("v1/consents").add(middleware: app)
        consentsGroup.post { request, context in
            let body = try await request.decodeJSON(Consents.Request.self)
            let consent = try await consents.grant(body, client: try context.requireClient())
            return JSONResponse.make(ConsentBody(consent: consent), status: .created)
        }
        consentsGroup.delete("{id}") { _, context in
            try await consents.withdraw(id: try context.parameters.require("id"), client: try context.requireClient())
            return Response(status: .noContent)
        }

        let presentationsGroup = router.group("v1/presentations").add(middleware: app)
        presentationsGroup.post { request, context in
            let body = try await request.decodeJSON(PresentationRequest.self)
            let presentation = try await presentations.issue(consent: body.consent, client: try context.requireClient())
            return JSONResponse.make(CodeBody(id: presentation.id, token: presentation.token, expiresAt: presentation.expiresAt,
                                              base: "/v1/presentations"), status: .created)
        }
        presentationsGroup.delete("{id}") { _, context in
            try await presentations.cancel(id: try context.parameters.require("id"), client: try context.requireClient())
            return Response(status: .noContent)
        }
        Self.addQRImages(to: presentationsGroup) { id, client in try await presentations.token(id: id, client: client) }
    }

    /// `GET {id}/qr.png` and `{id}/qr.svg` on `group`: the token `tokenOf(id, client)` gives, as a QR code.
    static func addQRImages(to group: RouterGroup<AppRequestContext>,
                            tokenOf: @escaping @Sendable (String, Client) async throws -> String) {
        group.get("{id}/qr.png") { _, context in
            let token = try await tokenOf(try context.parameters.require("id"), try context.requireClient())
            return image(try QRCode.png(token), type: "image/png")
        }
        group.get("{id}/qr.svg") { _, context in
            let token = try await tokenOf(try context.parameters.require("id"), try context.requireClient())
            return image(Array(try QRCode.svg(token).utf8), type: "image/svg+xml")
        }
    }

    /// A QR image; not cached anywhere, since the token it shows is a credential until scanned.
    static func image(_ bytes: [UInt8], type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type, .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    private func creditCode(_ context: AppRequestContext) throws -> CreditCode {
        guard case .enterprise(let code) = try HolderID(try context.parameters.require("credit_code"), kind: .enterprise,
                                                        field: "the credit code in the path", today: now())
        else { throw MSBError.validationFailed("the path must name an enterprise") }
        return code
    }
}

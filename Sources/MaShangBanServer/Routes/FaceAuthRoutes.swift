import Hummingbird
import MaShangBan

/// Face recognition (人脸识别): providers (admin) and challenges (the app backend; a unit
/// for its head's approval of a visit).
struct FaceAuthRoutes {
    let auth: Authenticator
    let faceAuth: FaceAuth
    let now: Now

    struct ProviderRegistration: Decodable {
        let name: String
        let publicKeyPEM: String
        enum CodingKeys: String, CodingKey {
            case name
            case publicKeyPEM = "public_key_pem"
        }
    }

    struct ChallengeRequest: Decodable {
        let subject: String
        let purpose: String?
    }

    func register(on router: Router<AppRequestContext>) {
        let providers = router.group("v1/face-auth/providers").add(middleware: Authorize(.admin, auth: auth))
        providers.post { request, context in
            let registration = try await request.decodeJSON(ProviderRegistration.self)
            let provider = try await faceAuth.registerProvider(name: registration.name, publicKeyPEM: registration.publicKeyPEM,
                                                                       by: context.actor)
            return JSONResponse.make(ProviderBody(provider: provider), status: .created)
        }
        providers.get { _, _ in JSONResponse.make(ListBody(providers: try await faceAuth.providers())) }
        providers.delete("{id}") { _, context in
            try await faceAuth.revokeProvider(id: try context.parameters.require("id"), by: context.actor)
            return Response(status: .noContent)
        }

        router.group("v1/face-auth/challenges").add(middleware: Authorize(.app, .unit, auth: auth)).post { request, context in
            let body = try await request.decodeJSON(ChallengeRequest.self)
            let subject = try CitizenID(body.subject, field: "subject", today: now())
            let purpose = try body.purpose.map { raw in
                guard let purpose = AttestationPurpose(rawValue: raw) else {
                    throw MSBError.validationFailed("purpose must be one of \(AttestationPurpose.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return purpose
            } ?? .consent
            let client = try context.requireClient()
            guard purpose.askedBy == client.role else {
                throw MSBError.forbidden("a \(client.role.rawValue) client may not ask for a \(purpose.rawValue) face check")
            }
            let (nonce, expiresAt) = try await faceAuth.challenge(subject: subject, purpose: purpose, client: client)
            return JSONResponse.make(ChallengeBody(nonce: nonce, expiresAt: expiresAt), status: .created)
        }
    }
}

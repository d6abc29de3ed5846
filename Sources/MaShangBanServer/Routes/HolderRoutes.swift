import Hummingbird
import MaShangBan

/// App-backend routes acting for a holder who is present: holder sessions, the library
/// (display-masked), the wallet, and who saw the holder's data (disclosures). Every holder route needs header `MSB-Holder-Session`.
struct HolderRoutes {
    let auth: Authenticator
    let holderSessions: HolderSessions
    let library: LicenceLibrary
    let now: Now
    let wallet: Wallet
    let disclosures: HolderDisclosures

    struct SessionRequest: Decodable {
        let holder: String
        let attestation: String
        let ttlSeconds: Int?
        enum CodingKeys: String, CodingKey {
            case holder, attestation
            case ttlSeconds = "ttl_seconds"
        }
    }

    func register(on router: Router<AppRequestContext>) {
        let sessions = router.group("v1/holder-sessions").add(middleware: Authorize(.app, auth: auth))
        sessions.post { request, context in
            let body = try await request.decodeJSON(SessionRequest.self)
            let person = try CitizenID(body.holder, field: "holder", today: now())
            let opened = try await holderSessions.open(person: person, attestation: body.attestation, ttlSeconds: body.ttlSeconds,
                                                               client: try context.requireClient())
            return JSONResponse.make(HolderSessionBody(token: opened.token, expiresAt: opened.expiresAt), status: .created)
        }
        sessions.delete("current") { request, context in
            try await holderSessions.end(token: Self.sessionToken(request), client: try context.requireClient())
            return Response(status: .noContent)
        }

        let group = router.group("v1/holders/{holder}").add(middleware: Authorize(.app, auth: auth))
        group.get("library") { request, context in
            let holder = try await present(request, context)
            return JSONResponse.make(LibraryBody(licences: try await library.masked(of: holder)))
        }
        group.post("wallet/sync") { request, context in
            let holder = try await present(request, context)
            let (added, wallet) = try await wallet.sync(holder, by: context.actor)
            return JSONResponse.make(WalletBody(wallet: wallet, added: added))
        }
        group.get("wallet") { request, context in
            let wallet = try await wallet.list(try await present(request, context))
            return JSONResponse.make(WalletBody(wallet: wallet))
        }
        group.get("disclosures") { request, context in
            let holder = try await present(request, context)
            let limit = Int(try request.integerParameter("limit", default: 20, in: 1...100))
            return JSONResponse.make(DisclosuresBody(listing: try await disclosures.list(holder, limit: limit)))
        }
        group.delete("wallet/{licence}") { request, context in
            let holder = try await present(request, context)
            try await wallet.remove(holder, licence: try context.parameters.require("licence"), by: context.actor)
            return Response(status: .noContent)
        }
    }

    /// The holder in the path, once the request's holder session shows the holder present.
    private func present(_ request: Request, _ context: AppRequestContext) async throws -> HolderID {
        let holder = try HolderID(either: try context.parameters.require("holder"), field: "the holder in the path", today: now())
        try await holderSessions.require(Self.sessionToken(request), for: holder, client: try context.requireClient())
        return holder
    }

    /// The `MSB-Holder-Session` header's token, if any.
    static func sessionToken(_ request: Request) -> String? {
        HTTPFields.Element.Name(HolderSessions.header).flatMap { request.headers[$0] }
    }

}

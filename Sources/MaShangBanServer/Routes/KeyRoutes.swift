import Hummingbird
import MaShangBan

/// `GET /v1/keys` (public): the keys that verify QR tokens and audit checkpoints.
struct KeyRoutes {
    let signingKeys: SigningKeys

    func register(on router: Router<AppRequestContext>) {
        router.get("v1/keys") { _, _ in
            let keys = try await signingKeys.published()
            return JSONResponse.make(KeysBody(region: signingKeys.region, keys: keys))
        }
    }
}

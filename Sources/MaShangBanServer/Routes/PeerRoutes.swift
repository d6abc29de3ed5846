import Hummingbird
import MaShangBan

/// 跨域通办's peer regions (admin): `POST /v1/peers` registers or changes one, `GET /v1/peers`
/// lists them with their keys, `POST /v1/peers/refresh` reads every peer's keys now.
struct PeerRoutes {
    let auth: Authenticator
    let peers: PeerRegistry
    let timeout: Duration

    func register(on router: Router<AppRequestContext>) {
        let group = router.group("v1/peers").add(middleware: Authorize(.admin, auth: auth))
        group.post { request, context in
            let registration = try await request.decodeJSON(PeerRegistry.Registration.self)
            let (peer, created) = try await peers.register(registration, by: context.actor)
            return JSONResponse.make(PeerBody(peer: peer), status: created ? .created : .ok)
        }
        group.get { _, _ in JSONResponse.make(ListBody(name: "peers", elements: try await peers.list().map(PeerBody.init))) }
        group.post("refresh") { _, _ in
            let transport = AsyncHTTPClientTransport(connectTimeout: timeout)
            let outcome: Result<[PeerRegistry.Refreshed], any Error>
            do { outcome = .success(try await peers.refresh(over: transport, timeout: timeout)) } catch { outcome = .failure(error) }
            try await transport.shutdown()
            return JSONResponse.make(ListBody(name: "peers", elements: try outcome.get().map(RefreshedBody.init)))
        }
    }
}

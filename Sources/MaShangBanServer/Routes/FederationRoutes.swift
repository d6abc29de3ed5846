import Hummingbird
import MaShangBan
import NIOCore

/// 跨域通办's region-to-region endpoints, each behind `RegionSignature` (no bearer token; the
/// signing peer's region is `context.peerRegion`):
/// `GET /v1/federation/items` — the cross-region items this region decides;
/// `GET /v1/federation/checkpoint?from=N` — the latest checkpoint and its consistency proof, for a peer's witness;
/// `POST /v1/federation/redemptions` — a peer redeems one of this region's codes scanned at its window;
/// `POST /v1/federation/submissions`, `GET /v1/federation/submissions/{id}` — 异地代收: a peer
/// forwards a submission for an item this region decides, and reads its delivery state.
struct FederationRoutes {
    let regionRequests: RegionRequests
    let items: ItemRegistry
    let scans: Scans
    let deliveries: Deliveries
    let witnessing: Witnessing
    let region: String

    func register(on router: Router<AppRequestContext>) {
        let group = router.group("v1/federation").add(middleware: RegionSignature(regionRequests: regionRequests))
        group.get("checkpoint") { request, _ in
            JSONResponse.make(RawJSONBody(json: try await witnessing.checkpoint(from: try request.integerParameter("from", in: 0...Int64.max))))
        }
        group.get("items") { _, _ in
            JSONResponse.make(FederationItemsBody(region: region, items: try await items.crossRegion()))
        }
        group.post("redemptions") { request, context in
            let body = try await request.decodeJSON(RedemptionRequest.self)
            let answer = try await scans.redeem(body, idempotencyKey: request.headers[.idempotencyKey], peer: try context.requirePeerRegion())
            return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: answer)))
        }
        group.post("submissions") { request, context in
            var request = request
            let body = try await request.collectBody(upTo: BodyLimit.json)
            let (status, created) = try await deliveries.receive(Array(body.readableBytesView), idempotencyKey: request.headers[.idempotencyKey],
                                                                 from: try context.requirePeerRegion())
            return JSONResponse.make(ReceivedSubmissionBody(submission: status), status: created ? .created : .ok)
        }
        group.get("submissions/{id}") { _, context in
            JSONResponse.make(ReceivedSubmissionBody(submission: try await deliveries.received(try context.parameters.require("id"),
                                                                                              from: try context.requirePeerRegion())))
        }
    }
}

/// A JSON value the domain drew already.
struct RawJSONBody: ResponseBody {
    let json: JSONValue
}

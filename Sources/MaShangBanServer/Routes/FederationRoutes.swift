import Hummingbird
import MaShangBan

/// 跨域通办's region-to-region endpoints, each behind `RegionSignature`:
/// `GET /v1/federation/items` — the cross-region items this region decides.
struct FederationRoutes {
    let regionRequests: RegionRequests
    let items: ItemRegistry
    let region: String

    func register(on router: Router<AppRequestContext>) {
        let group = router.group("v1/federation").add(middleware: RegionSignature(regionRequests: regionRequests))
        group.get("items") { _, _ in
            JSONResponse.make(FederationItemsBody(region: region, items: try await items.crossRegion()))
        }
    }
}

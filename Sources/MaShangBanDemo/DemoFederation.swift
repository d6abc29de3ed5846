import Foundation
import Logging
import MaShangBan

/// `serve --demo --region R --peer P=URL`: a two-region 跨域通办 demo on one machine. Each
/// demo region offers `xr-<R>` (社保关系转移, decided here, national code `11<R>-KY-001`) and
/// takes `xr-<P>` for each peer (decided there), and pins each peer's key as it first sees
/// it — the demo's shortcut: a real deployment compares the fingerprints over a channel it
/// trusts and pins them with `POST /v1/peers`.
extension Demo {
    /// A peer region of the demo.
    public struct Peer: Sendable, Equatable {
        public let region: String
        public let url: String

        public init(region: String, url: String) { (self.region, self.url) = (region, url) }
    }

    /// The region names the demo shows.
    static func regionName(_ code: String) -> String {
        ["430400": "衡阳市", "430100": "长沙市", "450300": "桂林市", "222400": "延边朝鲜族自治州"][code] ?? "region \(code)"
    }

    /// The cross-region item a demo region decides (its code and national code).
    public static func crossRegionItem(_ region: String) -> (code: String, nationalCode: String) { ("xr-\(region)", "11\(region)-KY-001") }

    /// Adds this region's cross-region item and one for each peer's, unless they exist.
    public static func loadCrossRegionItems(_ backend: Backend, region: String, peers: [Peer]) async throws {
        let existing = Set(try await backend.services.items.list().map(\.code))
        for decider in [region] + peers.map(\.region) where !existing.contains(crossRegionItem(decider).code) {
            let (code, national) = crossRegionItem(decider)
            let placement = decider == region ? #""approval_system":"\#(approvalSystem)""# : #""decided_by":"\#(decider)""#
            let definition = try JSONDecoder().decode(ItemRegistry.Definition.self, from: Data(#"""
                {"code":"\#(code)","name":"社保关系转移 (\#(regionName(decider))审批)","required":["resident_id_card"],
                 "fields":{"resident_id_card.name":"full","resident_id_card.id_number":"masked","holder.id":"masked"},
                 "national_code":"\#(national)",\#(placement)}
                """#.utf8))
            _ = try await backend.services.items.create(definition, by: .system)
        }
    }

    /// Pins each peer's active keys as first seen at `URL/v1/keys`, then reads its keys and
    /// catalogue (`peers refresh`) until both answer: every second, for up to ten minutes, so
    /// the two demo servers may start in either order.
    public static func pinOnFirstSight(_ backend: Backend, peers: [Peer], transport: any PeerTransport, logger: Logger) async {
        struct Keys: Decodable {
            let region: String
            let keys: [PublishedKey]
        }
        for peer in peers {
            var done = false
            for _ in 0..<600 where !done && !Task.isCancelled {
                do {
                    if try await !backend.services.peers.list().contains(where: { $0.region == peer.region }) {
                        let (status, body) = try await transport.get(url: peer.url + "/v1/keys", headers: [], timeout: .seconds(2))
                        let published = try JSONDecoder().decode(Keys.self, from: Data(body))
                        let pins = published.keys.filter { $0.status == "active" }.compactMap(\.fingerprint)
                        guard status == 200, published.region == peer.region, !pins.isEmpty else { throw StartupError("not yet") }
                        _ = try await backend.services.peers.register(.init(region: peer.region, name: regionName(peer.region), baseURL: peer.url,
                                                                            keyFingerprints: pins), by: .system)
                        logger.notice("demo: pinned the peer's key as first seen", metadata: ["region": "\(peer.region)", "pins": "\(pins)"])
                    }
                    let refreshed = try await backend.services.peers.refresh(over: transport, timeout: .seconds(3))
                    done = refreshed.contains { $0.region == peer.region && $0.error == nil }
                } catch {}
                if !done { try? await Task.sleep(for: .seconds(1)) }
            }
        }
    }
}

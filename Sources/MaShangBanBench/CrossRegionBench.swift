import ArgumentParser
import AsyncHTTPClient
import Foundation
import MaShangBan

/// 跨域通办 in the bench: a peer region (长沙市, 430100) as a second `mashangban serve` process
/// on its own data directory and keys, pinned both ways over the API. Its holders' codes are
/// scanned at the bench's window (衡阳市) for the bench's item, named by its national code:
/// each scan verifies the code with the peer's pinned key and asks the peer to redeem it over
/// a signed request on loopback.
extension FlowBench {
    static let nationalCode = "11430400-SB-001"

    /// The peer's server, and the codes of its holders for the cross-region scans.
    struct PeerRegion: Sendable {
        let server: ServerUnderTest
        let directory: URL
        let codes: [String]

        func stop() async {
            await server.stop()
            try? FileManager.default.removeItem(at: directory)
        }
    }

    /// Sets the peer up (in-process, then as its own server), pins both regions to each other,
    /// and has its app grant `count` consents and issue a code for each (not measured).
    func startPeerRegion(count: Int, main: HTTP, mainAdmin: String) async throws -> PeerRegion {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("msb-bench-peer-\(UUID().uuidString)")
        var options = BackendOptions(dataDirectory: DataDirectory(directory), crypto: backend.suite.profile)
        options.settings.region = "430100"
        options.settings.rateLimits = .unlimited
        let peer = try Backend.open(options)
        let s = peer.services
        let (_, appToken) = try await s.clients.create(.init(role: "app", name: "长沙 bench app"), by: .system)
        let (_, adminToken) = try await s.clients.create(.init(role: "admin", name: "长沙 bench admin"), by: .system)
        _ = try await s.items.create(try Self.decode(#"""
            {"code":"xr-sb-transfer","name":"社保转移接续 (衡阳市审批)","required":["resident_id_card","social_security_card"],
             "fields":{"resident_id_card.name":"full","holder.id":"full"},"national_code":"\#(Self.nationalCode)","decided_by":"430400"}
            """#), by: .system)
        let provider = try peer.suite.signatures.generate()
        _ = try await s.faceAuth.registerProvider(name: "长沙 bench stub", publicKeyPEM: try provider.verifier.publicKeyPEM(), by: .system)
        // The peer's own people (its own library: the generated ids again), each with both cards.
        let people = (0..<count).map(BenchCommand.personID)
        let importer = BatchImport(library: s.library, issuer: try await BenchCommand.issuer(peer))
        try await importer.feed(Array(people.enumerated().map { i, person in
            BenchCommand.idCardLine(person) + "\n" + BenchCommand.socialSecurityCardLine(i, holder: person) + "\n"
        }.joined().utf8))
        guard try await importer.finish().accepted == 2 * count else { throw ValidationError("the peer region could not import its holders' cards") }
        let holders = try await overConnections(count) { i -> Holder in
            let (licences, _) = try await s.wallet.sync(try HolderID(people[i], kind: .person, field: "holder", today: s.now()), by: .system)
            return Holder(person: people[i], licences: licences)
        }

        let server = try await ServerUnderTest.start(data: directory, crypto: peer.suite.profile, extra: ["--region", "430100"])
        let http = HTTP(base: "http://127.0.0.1:\(server.port)", client: main.client)
        do {
            try await Self.pin(main, admin: mainAdmin, to: http, region: "430100", name: "长沙市")
            try await Self.pin(http, admin: adminToken, to: main, region: "430400", name: "衡阳市")
            let setUp = SetUp(appToken: appToken, terminalToken: "", holders: holders, fullFlowHolder: holders[0], provider: provider, hotConsents: [],
                              visitCodes: [], supervisorToken: "", adminToken: adminToken, policies: 0)
            let codes = try await overConnections(count) { i -> String in
                guard let consent = try await grantConsent(holders[i], http, setUp, item: nil, hall: nil) else {
                    throw ValidationError("the peer region refused a consent")
                }
                let code = try await http.call("POST", "/v1/presentations", token: appToken, body: #"{"consent":"\#(consent)"}"#)
                guard code.status == 201, let token = code.json?["token"] as? String else { throw ValidationError("the peer region issued no code") }
                return token
            }
            return PeerRegion(server: server, directory: directory, codes: codes)
        } catch {
            await server.stop()
            throw error
        }
    }

    /// `from` pins the region at `to` by the fingerprint its `GET /v1/keys` shows, then reads its keys.
    private static func pin(_ from: HTTP, admin: String, to: HTTP, region: String, name: String) async throws {
        let keys = try await to.call("GET", "/v1/keys", token: nil, body: nil)
        guard let fingerprint = (keys.json?["keys"] as? [[String: Any]])?.first?["fingerprint"] as? String else {
            throw ValidationError("region \(region) shows no key")
        }
        let registered = try await from.call("POST", "/v1/peers", token: admin, body: #"""
            {"region":"\#(region)","name":"\#(name)","base_url":"\#(to.base)","key_fingerprints":["\#(fingerprint)"]}
            """#)
        guard registered.status == 201, try await from.call("POST", "/v1/peers/refresh", token: admin, body: nil).status == 200 else {
            throw ValidationError("the bench could not pin region \(region)")
        }
    }
}

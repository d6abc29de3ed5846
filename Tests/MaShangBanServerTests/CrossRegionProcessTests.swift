import Foundation
import Logging
@testable import MaShangBan
import MaShangBanTestSupport
import Testing
@testable import MaShangBanServer

/// 跨域通办 between two real `mashangban serve --demo` processes on loopback (衡阳市 and
/// 长沙市, each its own data directory, keys and approval-system stand-in, each pinning the
/// other's key as first seen): the refusals, as the two processes give them.
@Suite("跨域通办 between two server processes", .serialized)
struct CrossRegionProcessTests {
    static let person = "430405198501011235"

    /// One region's process and what its demo data directory holds.
    struct Node {
        let data: URL
        let port: Int
        let region: String
        let peer: (region: String, port: Int)
        var process: ServerProcess

        var base: String { "http://127.0.0.1:\(port)" }
        func token(_ name: String) throws -> String {
            let env = try String(contentsOf: data.appendingPathComponent("demo/clients.env"), encoding: .utf8)
            return try #require(env.split(separator: "\n").first { $0.hasPrefix(name + "=") }.map { String($0.dropFirst(name.count + 1)) })
        }
        func admin() throws -> String { try adminTokenFile(in: data) }

        static func start(data: URL, port: Int, region: String, peer: (region: String, port: Int)) throws -> Node {
            Node(data: data, port: port, region: region, peer: peer, process: try ServerProcess(arguments: [
                "serve", "--demo", "--data", data.path, "--port", "\(port)", "--region", region, "--log-level", "warning",
                "--peer", "\(peer.region)=http://127.0.0.1:\(peer.port)",
            ]))
        }
    }

    /// HTTP to the processes.
    struct HTTP {
        let transport = AsyncHTTPClientTransport(connectTimeout: .seconds(2))

        func call(_ method: String, _ url: String, token: String? = nil, json: String? = nil, headers: [(String, String)] = [])
            async throws -> (status: Int, json: JSONValue?, text: String)
        {
            var all = headers
            if let token { all.append(("Authorization", "Bearer \(token)")) }
            if json != nil { all.append(("Content-Type", "application/json")) }
            let (status, body) = method == "GET" ? try await transport.get(url: url, headers: all, timeout: .seconds(20))
                : try await transport.post(url: url, headers: all, body: Array((json ?? "").utf8), timeout: .seconds(20))
            return (status, JSONValue.parse(body), String(decoding: body, as: UTF8.self))
        }

        /// A code of the demo person's at `node`, for any item and hall: face checks signed
        /// with the demo's stand-in key, a holder session, a consent, a code.
        func code(at node: Node) async throws -> String {
            let app = try node.token("APP")
            let pem = try String(contentsOf: node.data.appendingPathComponent("demo/face-auth-stub.pem"), encoding: .utf8)
            let provider = try SignatureKeys.loadSigner(privateKeyPEM: pem)
            func seen(_ purpose: String) async throws -> String {
                let challenge = try await call("POST", node.base + "/v1/face-auth/challenges", token: app,
                                               json: #"{"subject":"\#(CrossRegionProcessTests.person)","purpose":"\#(purpose)"}"#)
                let nonce = try #require(challenge.json?["nonce"]?.stringValue, "\(challenge.text)")
                return try FaceAuth.attestation(.init(sub: CrossRegionProcessTests.person, nonce: nonce, result: "pass", score: 0.95,
                                                      iat: Int64(Date().timeIntervalSince1970)), signer: provider)
            }
            let session = try await call("POST", node.base + "/v1/holder-sessions", token: app,
                                         json: #"{"holder":"\#(CrossRegionProcessTests.person)","attestation":"\#(try await seen("holder_session"))"}"#)
            let wallet = try await call("GET", node.base + "/v1/holders/\(CrossRegionProcessTests.person)/wallet", token: app,
                                        headers: [("MSB-Holder-Session", try #require(session.json?["token"]?.stringValue))])
            let licences = (wallet.json?["wallet"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }.map { #""\#($0)""# }
            let consent = try await call("POST", node.base + "/v1/consents", token: app, json: #"""
                {"holder":"\#(CrossRegionProcessTests.person)","attestation":"\#(try await seen("consent"))","licences":[\#(licences.joined(separator: ","))]}
                """#)
            let code = try await call("POST", node.base + "/v1/presentations", token: app,
                                      json: #"{"consent":"\#(try #require(consent.json?["id"]?.stringValue, "\(consent.text)"))"}"#)
            return try #require(code.json?["token"]?.stringValue, "\(code.text)")
        }

        /// Waits (at most 60 s) until `node` holds its peer's key and catalogue.
        func peered(_ node: Node) async throws {
            for _ in 0..<120 {
                let peers = try await call("GET", node.base + "/v1/peers", token: try node.admin())
                if let peer = peers.json?["peers"]?.arrayValue?.first, peer["refresh_error"] == .null,
                   peer["items"]?.arrayValue?.isEmpty == false { return }
                try await Task.sleep(for: .milliseconds(500))
            }
            Issue.record("region \(node.region) did not peer with \(node.peer.region)")
        }
    }

    @Test func aPeerDownAReplayedOrRetriedRequestAndAnUnpinnedKey() async throws {
        let dir = try TemporaryDirectory()
        let (hyPort, csPort) = (try freePort(), try freePort())
        let hengyang = try Node.start(data: dir.url.appendingPathComponent("hy"), port: hyPort, region: "430400", peer: ("430100", csPort))
        var changsha = try Node.start(data: dir.url.appendingPathComponent("cs"), port: csPort, region: "430100", peer: ("430400", hyPort))
        let http = HTTP()
        defer { _ = hengyang.process.stop(); _ = changsha.process.stop() }
        do {
            try await refusals(hengyang, &changsha, http)
        } catch {
            try? await http.transport.shutdown()  // an HTTP client must be shut down before it goes, or it stops the test process
            throw error
        }
        try await http.transport.shutdown()
    }

    private func refusals(_ hengyang: Node, _ changsha: inout Node, _ http: HTTP) async throws {
        let csPort = changsha.port
        try await http.peered(hengyang)
        try await http.peered(changsha)
        let terminal = try hengyang.token("TERMINAL")
        func scan(_ token: String) async throws -> (status: Int, json: JSONValue?, text: String) {
            try await http.call("POST", hengyang.base + "/v1/scans", token: terminal, json: #"{"token":"\#(token)","item":"xr-430400"}"#)
        }

        // 长沙市 is down: its code cannot be redeemed, and nothing is consumed on either side.
        let code = try await http.code(at: changsha)
        #expect(changsha.process.stop() == 0)
        let down = try await scan(code)
        #expect(down.status == 503 && down.json?["code"]?.stringValue == "peer_unavailable", "\(down.text)")
        changsha.process = try ServerProcess(arguments: changsha.process.process.arguments)
        let up = try await scan(code)
        #expect(up.status == 201, "\(up.text)")

        // 衡阳市's own signed requests, made with its key (its data directory opened beside the process).
        let backend = try Backend.open(BackendOptions(dataDirectory: DataDirectory(hengyang.data), logger: Logger(label: "test")))
        let redemption = #"{"item":"11430400-KY-001","receiving_region":"430400","token":"\#(try await http.code(at: changsha))"}"#
        let signed = try backend.services.regionRequests.sign(method: "POST", authority: "127.0.0.1:\(csPort)", path: "/v1/federation/redemptions",
                                                              query: nil, body: Array(redemption.utf8))
        let first = try await http.call("POST", changsha.base + "/v1/federation/redemptions", json: redemption,
                                        headers: signed + [("Idempotency-Key", "retried-1")])
        #expect(first.status == 200, "\(first.text)")
        // The same request again (same nonce) is a replay; signed anew with the same key, a retry: the same answer.
        let replayed = try await http.call("POST", changsha.base + "/v1/federation/redemptions", json: redemption,
                                           headers: signed + [("Idempotency-Key", "retried-1")])
        #expect(replayed.status == 401 && replayed.json?["code"]?.stringValue == "region_request_replayed", "\(replayed.text)")
        let resigned = try backend.services.regionRequests.sign(method: "POST", authority: "127.0.0.1:\(csPort)", path: "/v1/federation/redemptions",
                                                                query: nil, body: Array(redemption.utf8))
        let retried = try await http.call("POST", changsha.base + "/v1/federation/redemptions", json: redemption,
                                          headers: resigned + [("Idempotency-Key", "retried-1")])
        #expect(retried.status == 200 && retried.text == first.text, "a retry gets the same answer, not a second consumption")

        // 衡阳市's admin pins another key for 长沙市: the key it held is refused, and so are 长沙市's codes.
        let wrongPin = "sha256:" + String(repeating: "0f", count: 32)
        let pinned = try await http.call("POST", hengyang.base + "/v1/peers", token: try hengyang.admin(), json: #"""
            {"region":"430100","name":"长沙市","base_url":"\#(changsha.base)","key_fingerprints":["\#(wrongPin)"]}
            """#)
        #expect(pinned.status == 200, "\(pinned.text)")
        let refreshed = try await http.call("POST", hengyang.base + "/v1/peers/refresh", token: try hengyang.admin())
        #expect(refreshed.json?["peers"]?.arrayValue?.first?["refused"]?.arrayValue?.count == 1, "\(refreshed.text)")
        let refused = try await scan(try await http.code(at: changsha))
        #expect(refused.status == 422 && refused.json?["code"]?.stringValue == "token_invalid", "\(refused.text)")
    }
}

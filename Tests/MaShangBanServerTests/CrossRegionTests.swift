import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
@testable import MaShangBan
import MaShangBanTestSupport
import NIOCore
import Testing
@testable import MaShangBanServer

/// 跨域通办 between two servers on loopback, each with its own data directory, keys and
/// approval system: 衡阳市 (430400) and 长沙市 (430100) pin each other's keys, and a code
/// issued in one region is scanned in the other (redeemed by its issuer once), and a matter
/// one region decides is taken at the other's window (异地代收).
@Suite("跨域通办 between two regions")
struct CrossRegionTests {
    /// Both regions' national item codes: one 衡阳市 decides (its people may come with 长沙市
    /// codes), one 长沙市 decides (衡阳市 takes it at its windows).
    static let decidedInHengyang = "11430400-SB-010"
    static let decidedInChangsha = "11430100-SB-020"

    /// An approval system's webhook on its own socket: answers 204 and keeps each body.
    final class Receiver: Sendable {
        let bodies = Locked<[JSONValue]>([])

        func run<T: Sendable>(_ body: @Sendable (String) async throws -> T) async throws -> T {
            let router = Router()
            router.post("webhook") { [bodies] request, _ -> HTTPResponse.Status in
                let bytes = try await request.body.collect(upTo: 1 << 20)
                if let json = JSONValue.parse(Array(bytes.readableBytesView)) { bodies.withLock { $0.append(json) } }
                return .noContent
            }
            let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            return try await app.test(.live) { client in try await body("http://127.0.0.1:\(try #require(client.port))/webhook") }
        }
    }

    /// One region in a test: its server, its live client, its hall and its address.
    struct Region: Sendable {
        let server: TestServer
        let client: any TestClientProtocol
        let hall: Hall
        let base: String

        var code: String { server.configuration.backend.region }

        func fingerprint() async throws -> String {
            let keys = try #require(try await client.call(.get, "/v1/keys", token: nil).json()["keys"] as? [[String: Any]])
            return try #require(keys.first?["fingerprint"] as? String)
        }

        func pin(_ other: Region, fingerprint: String? = nil, base: String? = nil) async throws {
            let name = other.code == "430100" ? "长沙市" : "衡阳市"
            var pinned = fingerprint ?? ""
            if fingerprint == nil { pinned = try await other.fingerprint() }
            let response = try await client.call(.post, "/v1/peers", json: #"""
                {"region":"\#(other.code)","name":"\#(name)","base_url":"\#(base ?? other.base)","key_fingerprints":["\#(pinned)"]}
                """#)
            #expect(response.status == .created || response.status == .ok, "\(response.text)")
        }

        func refresh() async throws -> TestResponse { try await client.call(.post, "/v1/peers/refresh") }

        func audit(_ action: String) async throws -> [[String: Any]] {
            let page = try await client.call(.get, "/v1/audit/entries?limit=1000").json()
            return (page["entries"] as? [[String: Any]] ?? []).filter { $0["action"] as? String == action }
        }
    }

    /// Starts both regions (and an approval system for each), pins them both ways (unless
    /// `pinned` is false), and adds the two cross-region items; then runs `body`.
    static func twoRegions(pinned: Bool = true, _ body: @Sendable (_ hengyang: Region, _ changsha: Region, _ receiver: Receiver) async throws -> Void)
        async throws
    {
        let receiver = Receiver()
        let hengyang = try TestServer()
        let changsha = try TestServer { $0.backend.region = "430100" }
        try await receiver.run { webhook in
            try await hengyang.test(.live) { hy in
                try await changsha.test(.live) { cs in
                    let hyRegion = Region(server: hengyang, client: hy, hall: try await Hall.open(hy, webhookURL: webhook),
                                          base: "http://127.0.0.1:\(try #require(hy.port))")
                    let csRegion = Region(server: changsha, client: cs, hall: try await Hall.open(cs, webhookURL: webhook),
                                          base: "http://127.0.0.1:\(try #require(cs.port))")
                    for (region, decided, there) in [(hyRegion, decidedInHengyang, decidedInChangsha), (csRegion, decidedInChangsha, decidedInHengyang)] {
                        let own = try await region.client.call(.post, "/v1/items", json: #"""
                            {"code":"decided-here","name":"跨域事项","approval_system":"hr-social-security",
                             "required":["resident_id_card"],"fields":{"resident_id_card.name":"masked","holder.id":"full"},"national_code":"\#(decided)"}
                            """#)
                        #expect(own.status == .created, "\(own.text)")
                        let other = region.code == "430400" ? "430100" : "430400"
                        let theirs = try await region.client.call(.post, "/v1/items", json: #"""
                            {"code":"decided-there","name":"异地事项","required":["resident_id_card"],
                             "fields":{"resident_id_card.name":"full","holder.id":"masked"},"national_code":"\#(there)","decided_by":"\#(other)"}
                            """#)
                        #expect(theirs.status == .created, "\(theirs.text)")
                    }
                    if pinned {
                        try await hyRegion.pin(csRegion)
                        try await csRegion.pin(hyRegion)
                        #expect(try await hyRegion.refresh().status == .ok)
                        #expect(try await csRegion.refresh().status == .ok)
                    }
                    try await body(hyRegion, csRegion, receiver)
                }
            }
        }
    }

    /// A code of `region`'s person, for any item and hall (a code meant for other regions names no hall).
    static func code(_ region: Region) async throws -> String {
        try await region.hall.present(try await region.hall.consent(item: nil, hall: nil)).token
    }

    @Test func aCodeFromAPeerIsRedeemedThereOnceAndSubmittedHere() async throws {
        try await Self.twoRegions { hengyang, changsha, receiver in
            let token = try await Self.code(changsha)
            let scanned = try await hengyang.hall.scan(token, item: "decided-here")
            #expect(scanned.status == .created, "\(scanned.text)")
            let view = try scanned.json()
            let submission = try #require(view["submission"] as? String)
            #expect(view["approval_system"] as? String == "hr-social-security" && view["item"] as? String == "decided-here")
            let holder = try #require(view["holder"] as? [String: Any])
            #expect(holder["id"] as? String != Sample.person, "the window sees the ID display-masked by the issuing region: \(holder)")

            // Once only: here (the code is known) and there (consumed).
            try await hengyang.hall.scan(token, item: "decided-here").expectProblem(409, "token_used")
            try await changsha.hall.scan(token, item: "sb-transfer").expectProblem(409, "token_used")

            // Both audit logs name the other region's request.
            let accepted = try #require(try await hengyang.audit("scan.accepted").last?["detail"] as? [String: Any])
            let redeemed = try #require(try await changsha.audit("federation.redeemed").last)
            let redeemedDetail = try #require(redeemed["detail"] as? [String: Any])
            #expect(redeemed["actor"] as? String == "region:430400")
            #expect(accepted["region"] as? String == "430100" && accepted["peer_request"] as? String == redeemedDetail["redemption"] as? String)
            #expect(redeemedDetail["peer_request"] as? String == accepted["request"] as? String && redeemedDetail["region"] as? String == "430400")
            #expect(redeemedDetail["item"] as? String == Self.decidedInHengyang)

            // The submission goes to 衡阳市's approval system with 长沙市's disclosure rules for the item (长沙市's own item
            // with that national code: the name in full, the ID masked).
            let delivered = try await Self.eventually { receiver.bodies.withLock { $0 }.first { $0["submission"]?.stringValue == submission } }
            #expect(delivered["holder"]?["id"]?.stringValue?.contains("*") == true, "\(delivered)")
            #expect(delivered["licences"]?.arrayValue?.first?["fields"]?["name"]?.stringValue == "王一静", "\(delivered)")
            #expect(delivered["issued_by"]?["region"]?.stringValue == "430100")
            let status = try await hengyang.client.call(.get, "/v1/submissions/\(submission)", token: hengyang.hall.terminal).json()
            let side = try #require((status["cross_region"] as? [[String: Any]])?.first)
            #expect(side["role"] as? String == "code_from" && side["region"] as? String == "430100")
        }
    }

    @Test func aPeerThatIsDownConsumesNothingAndARetryRedeemsOnce() async throws {
        try await Self.twoRegions { hengyang, changsha, _ in
            let token = try await Self.code(changsha)
            try await hengyang.pin(changsha, base: "http://127.0.0.1:9")  // 长沙市 moved: nobody answers there
            try await hengyang.hall.scan(token, item: "decided-here").expectProblem(503, "peer_unavailable")
            #expect(try await changsha.audit("federation.redeemed").isEmpty)
            try await hengyang.pin(changsha)
            #expect(try await hengyang.hall.scan(token, item: "decided-here").status == .created, "nothing was consumed on either side")
        }
    }

    @Test func aRedemptionRetriedWithItsKeyGetsTheSameAnswer() async throws {
        try await Self.twoRegions { hengyang, changsha, _ in
            let token = try await Self.code(changsha)
            let requests = hengyang.server.backend.services.regionRequests
            func redeem(_ body: String, key: String?) async throws -> TestResponse {
                var headers = HTTPFields()
                // The live test client sends `Host: localhost`.
                for (name, value) in try requests.sign(method: "POST", authority: "localhost", path: "/v1/federation/redemptions",
                                                       query: nil, body: Array(body.utf8)) {
                    headers[try #require(HTTPField.Name(name))] = value
                }
                if let key { headers[.idempotencyKey] = key }
                return try await changsha.client.call(.post, "/v1/federation/redemptions", token: nil, json: body, headers: headers)
            }
            let body = #"{"token":"\#(token)","item":"\#(Self.decidedInHengyang)","receiving_region":"430400"}"#
            try await redeem(body, key: nil).expectProblem(422, "validation_failed")
            try await redeem(#"{"token":"\#(token)","item":"\#(Self.decidedInHengyang)","receiving_region":"450300"}"#, key: "k1")
                .expectProblem(403, "forbidden")
            let first = try await redeem(body, key: "k1")
            #expect(first.status == .ok, "\(first.text)")
            let again = try await redeem(body, key: "k1")
            #expect(again.status == .ok && again.text == first.text, "a lost answer asked again is the same answer")
            try await redeem(#"{"token":"\#(token)","item":"other","receiving_region":"430400"}"#, key: "k1")
                .expectProblem(422, "idempotency_key_reused")
            try await redeem(body, key: "k2").expectProblem(409, "token_used")
            #expect(try await changsha.audit("federation.redeemed").count == 1, "consumed exactly once")
            let refused = try await changsha.audit("federation.redemption_refused").compactMap { ($0["detail"] as? [String: Any])?["code"] as? String }
            #expect(refused.contains("token_used") && refused.contains("forbidden"))
            try await changsha.client.call(.post, "/v1/federation/redemptions", token: nil, json: body).expectProblem(401, "region_signature_invalid")
        }
    }

    @Test func aCodeSignedByAnUnpinnedKeyIsInvalid() async throws {
        try await Self.twoRegions(pinned: false) { hengyang, changsha, _ in
            try await hengyang.pin(changsha, fingerprint: "sha256:" + String(repeating: "ab", count: 32))
            try await changsha.pin(hengyang)
            let refreshed = try await hengyang.refresh().json()
            #expect(((refreshed["peers"] as? [[String: Any]])?.first?["refused"] as? [String])?.count == 1)
            try await hengyang.hall.scan(try await Self.code(changsha), item: "decided-here").expectProblem(422, "token_invalid")
        }
    }

    @Test func aMatterDecidedElsewhereIsForwardedAndItsStateComesBack() async throws {
        try await Self.twoRegions { hengyang, changsha, receiver in
            let scanned = try await hengyang.hall.scan(try await Self.code(hengyang), item: "decided-there")
            #expect(scanned.status == .created, "\(scanned.text)")
            #expect(try scanned.json()["approval_system"] is NSNull)
            let submission = try #require(try scanned.json()["submission"] as? String)
            // 长沙市 takes it and delivers it to its approval system; 衡阳市's terminal sees that.
            let side = try await Self.eventually { () async throws -> [String: Any]? in
                let status = try await hengyang.client.call(.get, "/v1/submissions/\(submission)", token: hengyang.hall.terminal).json()
                guard status["status"] as? String == "delivered", let side = (status["cross_region"] as? [[String: Any]])?.first,
                      side["peer_status"] as? String == "delivered" else { return nil }
                return side
            }
            #expect(side["role"] as? String == "forwarded_to" && side["region"] as? String == "430100")
            let theirs = try #require(side["peer_request"] as? String)
            let delivered = try #require(receiver.bodies.withLock { $0 }.first { $0["submission"]?.stringValue == theirs })
            #expect(delivered["item"]?.stringValue == "decided-here" && delivered["forwarded_by"]?["submission"]?.stringValue == submission)
            #expect(delivered["holder"]?["id"]?.stringValue != Sample.person, "衡阳市's rules for the item mask the ID: \(delivered)")
            // Each audit log names the other's id for it.
            let sent = try #require(try await hengyang.audit("submission.delivered").compactMap { $0["detail"] as? [String: Any] }
                .first { $0["region"] as? String == "430100" })
            #expect(sent["peer_request"] as? String == theirs)
            let received = try #require(try await changsha.audit("federation.submission_received").last)
            #expect(received["object"] as? String == "submission:\(theirs)" && received["actor"] as? String == "region:430400")
            #expect((received["detail"] as? [String: Any])?["peer_request"] as? String == submission)
            // Sent again (a lost answer), it is the same submission there.
            let body = #"{"holder":{"kind":"person"},"licences":[],"national_code":"\#(Self.decidedInChangsha)","presented_at":"x","submission":"\#(submission)"}"#
            var headers = HTTPFields()
            for (name, value) in try hengyang.server.backend.services.regionRequests.sign(method: "POST", authority: "localhost",
                                                                                          path: "/v1/federation/submissions", query: nil,
                                                                                          body: Array(body.utf8)) {
                headers[try #require(HTTPField.Name(name))] = value
            }
            headers[.idempotencyKey] = submission
            let resent = try await changsha.client.call(.post, "/v1/federation/submissions", token: nil, json: body, headers: headers)
            #expect(resent.status == .ok, "\(resent.text)")
            #expect(try resent.json()["submission"] as? String == theirs)
            // 长沙市 tells the state of a forwarded submission to the region that forwarded it only.
            func askAt(_ path: String, as requests: RegionRequests) async throws -> TestResponse {
                var headers = HTTPFields()
                for (name, value) in try requests.sign(method: "GET", authority: "localhost", path: path, query: nil, body: []) {
                    headers[try #require(HTTPField.Name(name))] = value
                }
                return try await changsha.client.call(.get, path, token: nil, headers: headers)
            }
            let path = "/v1/federation/submissions/\(submission)"
            #expect(try await askAt(path, as: hengyang.server.backend.services.regionRequests).status == .ok)
            let guilin = try await Self.thirdRegion(pinnedBy: changsha)
            try await askAt(path, as: guilin).expectProblem(404, "not_found")
            try await changsha.client.call(.get, path, token: nil).expectProblem(401, "region_signature_invalid")
            try await changsha.client.call(.post, "/v1/federation/submissions", token: nil, json: body).expectProblem(401, "region_signature_invalid")
        }
    }

    @Test func aMatterForARegionThatIsNoPeerChangesNothing() async throws {
        try await Self.twoRegions(pinned: false) { hengyang, _, _ in
            let token = try await Self.code(hengyang)
            try await hengyang.hall.scan(token, item: "decided-there").expectProblem(503, "peer_unavailable")
            #expect(try await hengyang.hall.scan(token, item: "decided-here").status == .created, "the code stayed usable")
        }
    }

    @Test func eachRegionCosignsTheOthersCheckpoints() async throws {
        try await Self.twoRegions { hengyang, changsha, _ in
            // Each log grows past what the set-up's refresh cosigned (a slow run's periodic checkpoint may be cosigned already).
            for region in [hengyang, changsha] {
                _ = try await region.client.createClient(role: "app", name: "witness test")
                try region.server.backend.services.auditTrail.checkpointIfNeeded()
            }
            for region in [hengyang, changsha] {
                let refreshed = try await region.refresh().json()
                let witness = (refreshed["peers"] as? [[String: Any]])?.first?["witness"] as? [String: Any]
                #expect(witness?["status"] as? String == "cosigned" && witness?["detail"] is NSNull, "\(refreshed)")
            }
            let cosigned = try await hengyang.client.call(.get, "/v1/audit/checkpoints/cosigned").json()
            let size = try #require(cosigned["size"] as? Int)
            #expect((cosigned["note"] as? String)?.contains("\n— mashangban/430100/witness ") == true, "\(cosigned)")
            #expect((cosigned["cosignatures"] as? [[String: Any]])?.first?["region"] as? String == "430100")
            // Offline (audit verify --witness): 长沙市's keys find its cosignature; 衡阳市's own keys are no witness.
            let csKeys = Array(try await changsha.client.call(.get, "/v1/keys", token: nil).text.utf8)
            let hyKeys = Array(try await hengyang.client.call(.get, "/v1/keys", token: nil).text.utf8)
            let found = try AuditVerifier.witnessed(dataDirectory: hengyang.server.backend.dataDirectory, witnesses: [csKeys])
            #expect(found?.region == "430100" && found?.size == Int64(size))
            #expect(try AuditVerifier.witnessed(dataDirectory: hengyang.server.backend.dataDirectory, witnesses: [hyKeys]) == nil)
            // What is not 长沙市's cosignature of a checkpoint here is refused.
            func post(_ body: String, signed: Bool = true) async throws -> TestResponse {
                var headers = HTTPFields()
                if signed {
                    for (name, value) in try changsha.server.backend.services.regionRequests.sign(method: "POST", authority: "localhost",
                                                                                                  path: "/v1/audit/cosignatures", query: nil,
                                                                                                  body: Array(body.utf8)) {
                        headers[try #require(HTTPField.Name(name))] = value
                    }
                }
                return try await hengyang.client.call(.post, "/v1/audit/cosignatures", token: nil, json: body, headers: headers)
            }
            try await post(#"{"size":\#(size),"cosignature":"— mashangban/430100/witness AAAAAAAAAAAAAAAAAAAA"}"#)
                .expectProblem(422, "cosignature_invalid")
            try await post(#"{"size":999999,"cosignature":"— mashangban/430100/witness AAAA"}"#).expectProblem(404, "not_found")
            try await post(#"{"size":\#(size),"cosignature":"x"}"#, signed: false).expectProblem(401, "region_signature_invalid")
            // The witness's read needs a peer's signature; the cosigned checkpoint is the admin's.
            try await hengyang.client.call(.get, "/v1/federation/checkpoint", token: nil).expectProblem(401, "region_signature_invalid")
            try await hengyang.client.call(.get, "/v1/audit/checkpoints/cosigned", token: hengyang.hall.terminal).expectProblem(403, "forbidden")
        }
    }

    @Test func aHolderSeesWhoReceivedTheirDataWithProofs() async throws {
        try await Self.twoRegions { hengyang, changsha, _ in
            // 王一静 in 衡阳市: a local matter, one 长沙市 decides, and (in 长沙市) a 长沙市 code used at a 衡阳市 window.
            let local = try await hengyang.hall.submit()
            let forwarded = try await hengyang.hall.scan(try await Self.code(hengyang), item: "decided-there")
            #expect(forwarded.status == .created)
            #expect(try await hengyang.hall.scan(try await Self.code(changsha), item: "decided-here").status == .created)
            for region in [hengyang, changsha] { try region.server.backend.services.auditTrail.checkpointIfNeeded() }
            for region in [hengyang, changsha] { #expect(try await region.refresh().status == .ok) }

            func disclosures(_ region: Region, holder: String = Sample.person, session: HTTPFields? = nil) async throws -> TestResponse {
                try await region.client.call(.get, "/v1/holders/\(holder)/disclosures", token: region.hall.app, headers: session ?? region.hall.holder)
            }
            let listing = try await disclosures(hengyang).json()
            let checkpoint = try #require(listing["checkpoint"] as? [String: Any])
            #expect((checkpoint["note"] as? String)?.contains("— mashangban/430100/witness ") == true, "proved against a checkpoint 长沙市 cosigned")
            let list = try #require(listing["disclosures"] as? [[String: Any]])
            #expect(list.count == 2, "\(list)")
            let recipients = list.map { ($0["recipient"] as? [String: Any]).map { "\($0["kind"] ?? "") \($0["id"] ?? "")" } ?? "" }
            #expect(recipients == ["region 430100", "approval_system hr-social-security"], "newest first")
            #expect(list.last?["id"] as? String == local && (list.last?["fields"] as? [String: String])?["resident_id_card.name"] == "full")
            // Each proof holds: the record of its seq is in the tree of the cosigned checkpoint's size and root.
            let entries = try #require(try await hengyang.client.call(.get, "/v1/audit/entries?limit=1000").json()["entries"] as? [[String: Any]])
            let root = try #require((checkpoint["root"] as? String).flatMap(Encoding.fromHex))
            for disclosure in list {
                let proof = try #require(disclosure["proof"] as? [String: Any])
                let (seq, size) = (try #require(proof["seq"] as? Int), try #require(proof["size"] as? Int))
                let hash = try #require(entries.first { $0["seq"] as? Int == seq }?["hash"] as? String).flatMap(Encoding.fromHex)
                let hasher = MerkleHasher(SHA256Hashing())
                let path = (proof["path"] as? [String] ?? []).compactMap(Encoding.fromHex)
                #expect(Merkle.verifyInclusion(hasher, index: Int64(seq - 1), size: Int64(size), leaf: hasher.leaf(try #require(hash)), path: path,
                                               root: root))
                #expect(entries.first { $0["seq"] as? Int == seq }?["object"] as? String == "submission:\(disclosure["id"] ?? "")")
            }
            // In 长沙市: its code, redeemed for 衡阳市's window, by 长沙市's rules for the item.
            let theirs = try #require(try await disclosures(changsha).json()["disclosures"] as? [[String: Any]])
            #expect(theirs.count == 1 && theirs.first?["kind"] as? String == "redemption")
            #expect((theirs.first?["recipient"] as? [String: Any])?["id"] as? String == "430400" && theirs.first?["item"] as? String == "decided-there")
            // Only the holder, present: another holder's disclosures, or none without a session, are refused.
            try await disclosures(hengyang, holder: Sample.otherPerson).expectProblem(403, "holder_session_mismatch")
            try await disclosures(hengyang, session: HTTPFields()).expectProblem(401, "holder_session_required")
        }
    }

    /// 桂林市 (450300), a third region `region` pins (its key put there directly): its signed requests.
    static func thirdRegion(pinnedBy region: Region) async throws -> RegionRequests {
        let signer = try CryptoSuite(profile: .intl).signatures.generate()
        let pem = try signer.verifier.publicKeyPEM()
        let fingerprint = try #require(PublishedKey.fingerprint(publicKeyPEM: pem))
        let backend = region.server.backend
        _ = try await backend.services.peers.register(.init(region: "450300", name: "桂林市", baseURL: "http://127.0.0.1:9",
                                                            keyFingerprints: [fingerprint]), by: .system)
        let kid = CryptoSuite.keyID(of: signer.verifier)
        try await backend.transactions.pool.write { db in
            try PeerStore.putKey(region: "450300", PeerKey(kid: kid, alg: signer.verifier.algorithm.rawValue, publicKeyPEM: pem,
                                                           fingerprint: fingerprint, status: "active", retiredAt: nil), at: Timestamp(Date()), db)
        }
        return RegionRequests(transactions: backend.transactions, signing: SigningKey(kid: kid, signer: signer), now: { Date() }, random: SystemRandom())
    }

    /// Polls `probe` (every 100 ms, for up to 20 s) until it gives a value.
    static func eventually<T>(_ probe: () async throws -> T?) async throws -> T {
        for _ in 0..<200 {
            if let value = try await probe() { return value }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("timed out waiting")
        throw CancellationError()
    }
}

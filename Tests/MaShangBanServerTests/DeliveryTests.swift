import Foundation
import GRDB
import HummingbirdTesting
@testable import MaShangBan
import Testing
@testable import MaShangBanServer
import MaShangBanTestSupport

/// A `mashangban approval-stub` process on a port chosen before it starts (the webhook URL is
/// registered before the stub can be given the secret that registration returns).
struct Stub {
    let port: Int
    var url: String { "http://127.0.0.1:\(port)/webhook" }

    static func reserve() throws -> Stub { Stub(port: try freePort()) }

    func start(secret: String, slowSeconds: Int = 3) throws -> ServerProcess {
        try ServerProcess(arguments: ["approval-stub", "--port", "\(port)", "--secret", secret, "--slow-seconds", "\(slowSeconds)"])
    }

    func control(_ mode: String) throws {
        let answer = try curl(["-X", "POST", "http://127.0.0.1:\(port)/control", "-d", #"{"mode":"\#(mode)"}"#])
        #expect(answer.body.contains(mode))
    }

    /// (distinct submissions stored, duplicates turned away, their keys).
    func received() throws -> (count: Int, duplicates: Int, keys: [String]) {
        let body = try curl(["http://127.0.0.1:\(port)/received"]).body
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        let entries = try #require(json["received"] as? [[String: Any]])
        return (json["count"] as? Int ?? -1, json["duplicates"] as? Int ?? -1, entries.compactMap { $0["key"] as? String })
    }
}

/// Polls `condition` every 100 ms for at most `seconds`.
func eventually(_ seconds: Double, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(100))
    }
    return try await condition()
}

extension Hall {
    func submissionStatus(_ id: String, token: String = adminToken) async throws -> [String: Any] {
        try await client.call(.get, "/v1/submissions/\(id)", token: token).json()
    }

    func allDelivered(_ ids: [String]) async throws -> Bool {
        for id in ids where try await submissionStatus(id)["status"] as? String != "delivered" { return false }
        return true
    }
}

@Suite("Webhook signatures and backoff")
struct WebhookSignatureTests {
    @Test(arguments: CryptoProfile.allCases)
    func aSignatureVerifiesOnlyForItsBodySecretAndTime(crypto: CryptoProfile) {
        let suite = CryptoSuite(profile: crypto)
        let body = Array(#"{"submission":"sub_1"}"#.utf8)
        let header = WebhookSignature.sign(body: body, secret: "whsec_a", timestamp: 1_800_000_000, suite: suite)
        #expect(header.hasPrefix("t=1800000000,v1="))
        #expect(WebhookSignature.problem(with: header, body: body, secret: "whsec_a", now: 1_800_000_100, suite: suite) == nil)
        #expect(WebhookSignature.problem(with: header, body: body + [0x20], secret: "whsec_a", now: 1_800_000_000, suite: suite) != nil)
        #expect(WebhookSignature.problem(with: header, body: body, secret: "whsec_b", now: 1_800_000_000, suite: suite) != nil)
        #expect(WebhookSignature.problem(with: header, body: body, secret: "whsec_a", now: 1_800_000_301, suite: suite) == "stale timestamp")
        #expect(WebhookSignature.problem(with: nil, body: body, secret: "whsec_a", now: 1_800_000_000, suite: suite) != nil)
        // The documented recipe: HMAC over "<t>.<raw body>", hex.
        let expected = Encoding.hex(suite.mac(key: Array("whsec_a".utf8), data: Array("1800000000.".utf8) + body))
        #expect(header == "t=1800000000,v1=\(expected)")
    }

    /// Terminals see `last_error`: one fixed message per kind of failure, never a remote text.
    @Test func lastErrorIsAFixedMessagePerFailureClass() {
        struct Remote: Error, CustomStringConvertible { let description: String }
        #expect(Deliveries.describe(Remote(description: "remote says: <html>secret 13812345678</html>")) == "no answer")
        #expect(Deliveries.describe(Remote(description: "read timeout after 10 s")) == "timed out")
        #expect(Deliveries.describe(Remote(description: "connect(): Connection refused (errno: 111)")) == "connection refused")
        #expect(Deliveries.describe(CryptoError("the box was altered: timeout")) == "cannot open the stored submission")
    }

    @Test func backoffDoublesFromOneSecondUpToTenMinutesWithJitter() {
        let settings = DeliverySettings()
        #expect(settings.backoff(afterAttempt: 1, unit: 0.999) <= 1 && settings.backoff(afterAttempt: 1, unit: 0) == 0.5)
        #expect(settings.backoff(afterAttempt: 4, unit: 0.999) <= 8 && settings.backoff(afterAttempt: 4, unit: 0) == 4)
        #expect(settings.backoff(afterAttempt: 30, unit: 0.999) <= 600 && settings.backoff(afterAttempt: 30, unit: 0) == 300)
        #expect(settings.maxAttempts == 20 && settings.concurrencyPerSystem == 4 && settings.requestTimeout == .seconds(10))
    }
}

@Suite("Submissions API")
struct SubmissionRoutesTests {
    @Test func aTerminalSeesItsOwnSubmissionsAndAnAdminRetriesDeadOnes() async throws {
        let server = try TestServer { $0.backend.delivery.maxAttempts = 1 }
        try await server.test { client in
            let hall = try await Hall.open(client)  // the webhook URL refuses connections
            let id = try await hall.submit()
            let own = try await hall.submissionStatus(id, token: hall.terminal)
            #expect(own["item"] as? String == "sb-transfer" && own["approval_system"] as? String == "hr-social-security")
            #expect(own.keys.contains("last_error") && own.keys.contains("delivered_at"))
            let other = try await client.createClient(role: "terminal", hall: "HY-YF-02").token
            try await client.call(.get, "/v1/submissions/\(id)", token: other).expectProblem(404, "not_found")
            try await client.call(.get, "/v1/submissions/\(id)", token: hall.app).expectProblem(403, "forbidden")
            try await client.call(.get, "/v1/submissions/sub_nope").expectProblem(404, "not_found")
            // One attempt allowed: it dies on the refused connection.
            #expect(try await eventually(10) { try await hall.submissionStatus(id)["status"] as? String == "dead" })
            let dead = try await hall.submissionStatus(id)
            #expect(dead["attempts"] as? Int == 1)
            #expect((dead["last_error"] as? String)?.isEmpty == false)
            #expect(!(dead["last_error"] as? String ?? "").contains(hall.secret))
            // The dead wait in the outbox after every real due time, out of the polls' way.
            let due = { try await server.backend.transactions.pool.read { db in
                try String.fetchOne(db, sql: "SELECT next_attempt_at FROM outbox WHERE submission_id = ?", arguments: [id]) } }
            #expect(try await due() == SubmissionStore.parked)
            try await client.call(.post, "/v1/submissions/\(id)/retry", token: hall.terminal).expectProblem(403, "forbidden")
            let retried = try await client.call(.post, "/v1/submissions/\(id)/retry")
            #expect(retried.status == .ok)
            #expect(try await due() != SubmissionStore.parked)
            #expect(try retried.json()["status"] as? String == "pending")
            try await client.call(.post, "/v1/submissions/sub_nope/retry").expectProblem(404, "not_found")
            let pendingAgain = try await client.call(.post, "/v1/submissions/\(id)/retry")
            if try pendingAgain.json()["status"] as? String != "dead" { try pendingAgain.expectProblem(409, "submission_not_dead") }
        }
        let actions = try await server.backend.transactions.pool.read { db in
            try String.fetchAll(db, sql: "SELECT action FROM audit_records WHERE action LIKE 'submission.%' ORDER BY seq")
        }
        #expect(actions.starts(with: ["submission.dead", "submission.requeued"]))
    }
}

/// Fault drills: the server's delivery worker against a real `approval-stub` process on loopback.
@Suite("Delivery fault drills", .serialized)
struct DeliveryDrillTests {
    @Test func aReceiverDownForAWhileGetsEverySubmissionExactlyOnce() async throws {
        let stub = try Stub.reserve()
        let server = try TestServer { $0.backend.delivery.retryMax = 1 }
        try await server.test { client in
            let hall = try await Hall.open(client, webhookURL: stub.url)
            let receiver = try stub.start(secret: hall.secret)
            try stub.control("down")
            var ids: [String] = []
            for _ in 0..<5 { ids.append(try await hall.submit()) }
            #expect(try await eventually(10) {
                try await hall.submissionStatus(ids[0])["last_error"] as? String == "HTTP 503"
            })
            try stub.control("up")
            #expect(try await eventually(20) { try await hall.allDelivered(ids) })
            let received = try stub.received()
            #expect(received.count == 5)
            #expect(Set(received.keys) == Set(ids))
            _ = receiver.stop()
        }
        let delivered = try await server.backend.transactions.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_records WHERE action = 'submission.delivered'")
        }
        #expect(delivered == 5)
        let outbox = try await server.backend.transactions.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox") }
        #expect(outbox == 0, "delivered bodies leave the outbox")
    }

    @Test func aHangingReceiverTimesOutAndIsTriedAgain() async throws {
        let stub = try Stub.reserve()
        let server = try TestServer {
            $0.backend.delivery.retryMax = 1
            $0.backend.delivery.requestTimeout = .seconds(1)
        }
        try await server.test { client in
            let hall = try await Hall.open(client, webhookURL: stub.url)
            let receiver = try stub.start(secret: hall.secret, slowSeconds: 3)
            try stub.control("slow")
            let id = try await hall.submit()
            #expect(try await eventually(10) { try await hall.submissionStatus(id)["last_error"] as? String == "timed out" })
            try stub.control("up")
            #expect(try await eventually(20) { try await hall.allDelivered([id]) })
            // A slow answer may still have been stored: never twice.
            #expect(try await eventually(5) { try stub.received().count == 1 })
            #expect(try stub.received().keys == [id])
            _ = receiver.stop()
        }
    }

    @Test func aReceiverThatRefusesForeverMakesItDeadAndARetrySendsItAgain() async throws {
        let stub = try Stub.reserve()
        let server = try TestServer {
            $0.backend.delivery.retryMax = 1
            $0.backend.delivery.maxAttempts = 3
        }
        try await server.test { client in
            let hall = try await Hall.open(client, webhookURL: stub.url)
            let receiver = try stub.start(secret: hall.secret)
            try stub.control("reject")
            let id = try await hall.submit()
            #expect(try await eventually(15) { try await hall.submissionStatus(id)["status"] as? String == "dead" })
            let dead = try await hall.submissionStatus(id)
            #expect(dead["attempts"] as? Int == 3 && dead["last_error"] as? String == "HTTP 400")
            try stub.control("up")
            #expect(try await client.call(.post, "/v1/submissions/\(id)/retry").status == .ok)
            #expect(try await eventually(10) { try await hall.allDelivered([id]) })
            #expect(try stub.received().keys == [id])
            _ = receiver.stop()
        }
    }

    /// The server is killed (SIGKILL) while deliveries are in flight, then restarted on the
    /// same data directory: everything arrives, duplicates carry the same key, the audit log verifies.
    @Test(.enabled(if: Tool.curl.isInstalled, "needs curl (Debian package curl; make test installs it)")) func aServerKilledMidDeliveryDeliversEverythingAfterARestart() async throws {
        let stub = try Stub.reserve()
        let server = try TestServer()
        let data = server.directory.url
        // Scans recorded while the receiver is down.
        let (ids, secret) = try await server.test { client in
            let hall = try await Hall.open(client, webhookURL: stub.url)
            var ids: [String] = []
            for _ in 0..<6 { ids.append(try await hall.submit()) }
            return (ids, hall.secret)
        }
        try server.backend.transactions.pool.close()
        let receiver = try stub.start(secret: secret, slowSeconds: 2)
        try stub.control("slow")
        let first = try ServerProcess(data: data, extra: ["--delivery-retry-max", "1"])
        try await Task.sleep(for: .milliseconds(700))  // deliveries are in flight, the receiver is still answering
        #expect(first.stop(SIGKILL) != nil)
        try stub.control("up")
        let second = try ServerProcess(data: data, extra: ["--delivery-retry-max", "1"])
        let delivered = try await eventually(30) {
            try ids.allSatisfy { id in
                try curl(["\(second.base)/v1/submissions/\(id)", "-H", "Authorization: Bearer \(adminToken)"]).body
                    .contains(#""status":"delivered""#)
            }
        }
        #expect(delivered)
        #expect(second.stop(SIGTERM) == 0)
        try await Task.sleep(for: .seconds(2))  // answers the slow mode was still holding
        let received = try stub.received()
        #expect(received.count == 6)
        #expect(Set(received.keys) == Set(ids), "every key once; duplicates were turned away by key")
        _ = receiver.stop()
        let verify = try runCLI(["audit", "verify", "--data", data.path])
        #expect(verify.status == 0, "\(verify.out)")
    }
}

/// A transport that answers 200 after `delay` for URLs containing "slow" and at once for
/// others, and records how many requests were in flight per URL.
final class CountingTransport: WebhookTransport, @unchecked Sendable {
    private let lock = NSLock()
    private var inFlight: [String: Int] = [:]
    private var peaks: [String: Int] = [:]
    private var ended: [(url: String, at: Date)] = []
    let delay: Duration
    /// Read under the lock: a test may look while attempts run.
    var peak: [String: Int] { lock.withLock { peaks } }
    var finished: [(url: String, at: Date)] { lock.withLock { ended } }

    init(delay: Duration) { self.delay = delay }

    func post(url: String, headers: [(String, String)], body: [UInt8], connectTimeout: Duration, timeout: Duration) async throws -> Int {
        lock.withLock {
            inFlight[url, default: 0] += 1
            peaks[url] = max(peaks[url, default: 0], inFlight[url, default: 0])
        }
        if url.contains("slow") { try await Task.sleep(for: delay) }
        lock.withLock {
            inFlight[url, default: 0] -= 1
            ended.append((url, Date()))
        }
        return 200
    }
}

extension DeliveryDrillTests {
    /// A server with `slow` submissions for the hall's item, whose approval system's URL ends
    /// in "slow", and `quick` for "quick-item", whose system's ends in "quick" (for
    /// `CountingTransport`). Nothing listens at either, and one attempt makes a submission
    /// dead, so all of them are left for the worker a test runs.
    static func serverWithTwoSystems(slow: Int, quick: Int) async throws -> TestServer {
        let server = try TestServer {
            $0.backend.delivery.maxAttempts = 1
            $0.backend.rateLimits.challengesPerHolder = nil  // one person makes many consents here
            $0.backend.rateLimits.consentsPerHolder = nil
        }
        try await server.test { client in
            let hall = try await Hall.open(client, webhookURL: "http://127.0.0.1:9/slow")
            #expect(try await client.call(.post, "/v1/approval-systems", json: #"""
                {"code":"quick","name":"快","webhook_url":"http://127.0.0.1:9/quick"}
                """#).status == .created)
            #expect(try await client.call(.post, "/v1/items", json: #"""
                {"code":"quick-item","name":"快办","approval_system":"quick","required":["resident_id_card"]}
                """#).status == .created)
            for _ in 0..<slow { _ = try await hall.submit() }
            for _ in 0..<quick {
                let code = try await hall.present(try await hall.consent(item: "quick-item"))
                #expect(try await hall.scan(code.token, item: "quick-item").status == .created)
            }
        }
        return server
    }

    /// At most `--delivery-concurrency` requests per approval system; a slow system does not
    /// hold up another one.
    @Test func aSlowApprovalSystemNeverStarvesAnother() async throws {
        let server = try await Self.serverWithTwoSystems(slow: 8, quick: 3)
        // Put them back in the queue and deliver with the counting transport.
        try await server.backend.transactions.pool.write { db in
            try db.execute(sql: "UPDATE submissions SET status = 'pending', attempts = 0")
            try db.execute(sql: "UPDATE outbox SET next_attempt_at = '2000-01-01T00:00:00.000Z'")
        }
        let transport = CountingTransport(delay: .milliseconds(300))
        let worker = Task { await server.backend.services.deliveries.run(transport: transport, logger: server.logger) }
        let done = try await eventually(20) {
            try await server.backend.transactions.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM submissions WHERE status = 'delivered'") } == 11
        }
        worker.cancel()
        await worker.value
        #expect(done)
        #expect(transport.peak["http://127.0.0.1:9/slow"] == 4)
        let quick = transport.finished.filter { $0.url.hasSuffix("quick") }.map(\.at)
        let slow = transport.finished.filter { $0.url.hasSuffix("slow") }.map(\.at)
        #expect(quick.count == 3 && slow.count == 8)
        #expect((quick.max() ?? .distantFuture) < (slow.max() ?? .distantPast), "the quick system finished while the slow one was busy")
    }
}

extension DeliveryDrillTests {
    /// While every due submission waits for a busy system's slot, the worker waits for a slot
    /// instead of polling at each new submission (at peak, one per scan: the bench's profile
    /// shows what that saves), but it still polls every `Deliveries.blockedPollInterval`: a
    /// submission for another system that falls due meanwhile, with no wake at all, is sent
    /// before any slow attempt ends.
    @Test func whileEveryDueSubmissionWaitsForASlotTheQueueIsStillPolled() async throws {
        let server = try await Self.serverWithTwoSystems(slow: 6, quick: 1)
        let quickSubmission = try #require(try await server.backend.transactions.pool.read { db in
            try String.fetchOne(db, sql: "SELECT id FROM submissions WHERE item = 'quick-item'")
        })
        // The slow system's six are due; the quick one is not, yet.
        try await server.backend.transactions.pool.write { db in
            try db.execute(sql: "UPDATE submissions SET status = 'pending', attempts = 0")
            try db.execute(sql: "UPDATE outbox SET next_attempt_at = '2000-01-01T00:00:00.000Z'")
            try db.execute(sql: "UPDATE outbox SET next_attempt_at = '2999-01-01T00:00:00.000Z' WHERE submission_id = ?",
                           arguments: [quickSubmission])
        }
        let transport = CountingTransport(delay: .seconds(5))
        let worker = Task { await server.backend.services.deliveries.run(transport: transport, logger: server.logger) }
        let slotsFull = try await eventually(5) { transport.peak["http://127.0.0.1:9/slow"] == 4 }
        // A new submission's wake (as a scan fires it): that poll finds only the two slow
        // ones that cannot start. Then the quick one falls due, with no wake.
        server.backend.services.deliveries.wake.fire()
        try await Task.sleep(for: .milliseconds(300))
        try await server.backend.transactions.pool.write { db in
            try db.execute(sql: "UPDATE outbox SET next_attempt_at = '2000-01-01T00:00:00.000Z' WHERE submission_id = ?",
                           arguments: [quickSubmission])
        }
        let quickSent = try await eventually(3) { transport.finished.contains { $0.url.hasSuffix("quick") } }
        let slowEnded = transport.finished.contains { $0.url.hasSuffix("slow") }
        worker.cancel()
        await worker.value
        #expect(slotsFull)
        #expect(quickSent)
        #expect(!slowEnded, "the quick one went while all four slow attempts were still in flight")
    }
}

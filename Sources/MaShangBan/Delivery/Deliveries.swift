import Foundation
import GRDB
import Logging
import Metrics

/// How submissions are delivered (`serve` flags).
public struct DeliverySettings: Sendable, Equatable {
    /// Attempts before a submission is `dead` (`--delivery-attempts`).
    public var maxAttempts = 20
    /// The whole request, connect included (`--delivery-timeout`).
    public var requestTimeout: Duration = .seconds(10)
    public var connectTimeout: Duration = .seconds(2)
    /// Deliveries in flight per approval system, so one slow system never starves the others.
    public var concurrencyPerSystem = 4
    /// Backoff after the n-th failed attempt: `retryBase · 2^(n-1)` seconds, at most
    /// `retryMax`, with jitter (each wait is drawn from its upper half).
    public var retryBase = 1.0
    public var retryMax = 600.0

    public init() {}

    /// The wait after failed attempt `attempt` (1-based); `unit` in [0, 1) draws the jitter.
    public func backoff(afterAttempt attempt: Int, unit: Double) -> Double {
        let ceiling = min(retryMax, retryBase * pow(2, Double(max(0, min(attempt - 1, 40)))))
        return ceiling / 2 + ceiling / 2 * unit
    }
}

/// A submission's delivery state (`GET /v1/submissions/{id}`).
public struct SubmissionStatus: Sendable, Equatable {
    public let id: String
    public let item: String
    /// Nil when another region decides the item: the submission went there (异地代收).
    public let approvalSystem: String?
    public let status: SubmissionState
    public let attempts: Int
    public let lastError: String?
    public let deliveredAt: Timestamp?
    public let createdAt: Timestamp
    /// 跨域通办: the submission's other sides (the peer whose code it was, the peer it went
    /// to or came from), with the peer's delivery state for one it went to.
    public var crossRegion: [CrossRegionSide] = []
}

/// One other side of a cross-region submission.
public struct CrossRegionSide: Sendable, Equatable {
    public let region: String
    /// `code_from`, `forwarded_to` or `received_from`.
    public let role: String
    /// The exchange's Idempotency-Key, and the other region's id for it.
    public let request: String
    public let peerRequest: String?
    /// For a forwarded one: its state at the peer, as last heard, and when.
    public let peerStatus: String?
    public let peerAttempts: Int?
    public let peerDeliveredAt: Timestamp?
    public let checkedAt: Timestamp?
}

/// Sends an HTTP POST; returns the status code, or throws when no answer came (refused,
/// reset, timed out). The delivery worker's only view of the network.
public protocol WebhookTransport: Sendable {
    func post(url: String, headers: [(String, String)], body: [UInt8], connectTimeout: Duration, timeout: Duration)
        async throws -> Int
}

/// The outbox and its worker: every submission recorded by a scan is POSTed to its approval
/// system, signed, until a 2xx comes back (at least once; the `Idempotency-Key` never
/// changes), or until it is `dead` after the configured attempts. The outbox rows are the
/// state: a restart picks up whatever is pending.
public struct Deliveries: Sendable {
    /// Outcomes share the request path's group commit: at peak hours one attempt per scan
    /// comes back, and a transaction (and fsync) each would halve what the writer can take.
    let transactions: Transactions
    let vault: DataVault
    let suite: CryptoSuite
    let audit: AuditLog
    let random: any RandomSource
    let now: Now
    public let settings: DeliverySettings
    /// 跨域通办: this region, and its signed calls to the peers it forwards submissions to.
    let region: String
    let peerCalls: PeerCalls
    /// Fired when there is something new to send (a scan committed, a retry was asked for).
    public let wake = WakeSignal()
    /// Webhook attempts made, by `outcome` (`delivered` or `failed`), on `/metrics`.
    public static let attemptsMetric = "msb_delivery_attempts_total"

    // MARK: API

    /// A submission as its terminal (or an admin) sees it; 404 `not_found` for anyone else.
    /// One forwarded to a peer and delivered there is refreshed from the peer first (at most
    /// every few seconds, within the peer timeout; what was last heard otherwise).
    public func status(of id: String, for client: Client) async throws -> SubmissionStatus {
        let read = { [transactions] in
            try await transactions.read { db in
                let terminal = try Self.terminal(of: id, db)
                guard let status = try Self.status(id, db), client.role == .admin || terminal == client.id else {
                    throw MSBError.notFound("no such submission")
                }
                return status
            }
        }
        let status = try await read()
        return try await refreshForwarded(status) ? read() : status
    }

    /// Re-queues a dead submission for a fresh round of attempts: 404 `not_found`,
    /// 409 `submission_not_dead`.
    public func retry(_ id: String, by actor: AuditActor) async throws -> SubmissionStatus {
        let instant = now()
        let audit = self.audit
        let status = try await transactions.write { db -> SubmissionStatus in
            guard let current = try Self.status(id, db) else { throw MSBError.notFound("no such submission") }
            guard current.status == .dead else {
                throw MSBError(.submissionNotDead, "only a dead submission can be retried (it is \(current.status.rawValue))")
            }
            try SubmissionStore.requeue(id, at: instant, db)
            try audit.append(db, actor: actor, action: "submission.requeued", object: "submission:\(id)",
                             detail: ["attempts": .int(Int64(current.attempts))])
            return try Self.status(id, db) ?? current
        }
        wake.fire()
        return status
    }

    static func status(_ id: String, _ db: Database) throws -> SubmissionStatus? {
        guard var status = try SubmissionStore.status(id, db) else { return nil }
        status.crossRegion = try FederationStore.links(of: id, db).map { link in
            CrossRegionSide(region: link.region, role: link.role.rawValue, request: link.request, peerRequest: link.peerRequest,
                            peerStatus: link.peerStatus, peerAttempts: link.peerAttempts,
                            peerDeliveredAt: link.peerDeliveredAt.map(Timestamp.init(stored:)), checkedAt: link.peerCheckedAt.map(Timestamp.init(stored:)))
        }
        return status
    }

    static func terminal(of id: String, _ db: Database) throws -> String? { try SubmissionStore.terminal(of: id, db) }

    // MARK: The worker

    struct Due: Sendable {
        /// A scan's submission to its approval system, or a notice to a unit's supervisor.
        enum Kind: Sendable { case submission, notice }
        var kind = Kind.submission
        let id: String
        let system: String
        let url: String
        let attempts: Int
        let createdAt: String
        /// The peer region a forwarded submission goes to (异地代收): signed as a region request.
        var peer: String?
    }

    /// Delivers until cancelled. In-flight attempts finish (or are cancelled) before it returns;
    /// an attempt cut short is simply sent again after a restart.
    public func run(transport: any WebhookTransport, logger: Logger) async {
        let inFlight = InFlight()
        // Fired when an attempt ends, which frees its system's slot.
        let slotFreed = WakeSignal()
        var gaugesAt = ContinuousClock.now - Self.gaugeInterval
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                var wait = 60.0
                var waitingForSlot = false
                do {
                    // New submissions come in bursts at peak hours: one poll picks up a burst.
                    try? await Task.sleep(for: Self.pollPause)
                    let pollAt = now()
                    let due = try await transactions.read { db in
                        try NoticeStore.due(limit: Self.pollLimit, at: pollAt, db) + SubmissionStore.due(limit: Self.pollLimit, at: pollAt, db)
                    }
                    var blocked = false
                    var started = 0
                    for entry in due where !inFlight.contains(entry.id) {
                        guard inFlight.start(entry.id, system: entry.system, limit: settings.concurrencyPerSystem) else {
                            blocked = true
                            continue
                        }
                        started += 1
                        group.addTask {
                            await attempt(entry, transport: transport, logger: logger)
                            inFlight.finish(entry.id, system: entry.system)
                            slotFreed.fire()
                            wake.fire()
                        }
                    }
                    waitingForSlot = blocked && started == 0
                    let next = try await transactions.read { db in
                        [try SubmissionStore.nextDue(excluding: inFlight.ids, db), try NoticeStore.nextDue(excluding: inFlight.ids, db)]
                            .compactMap { $0 }.min()
                    }
                    let instant = now()
                    if ContinuousClock.now - gaugesAt >= Self.gaugeInterval {  // counting the queue costs O(depth)
                        gaugesAt = ContinuousClock.now
                        let (depth, oldest) = try await transactions.read { db in
                            let (submissions, notices) = (try SubmissionStore.queueDepth(db), try NoticeStore.pendingCount(db))
                            return (submissions.0 + notices.0, [submissions.1, notices.1].compactMap { $0 }.min())
                        }
                        Gauge(label: "msb_outbox_depth").record(depth)
                        Gauge(label: "msb_outbox_oldest_pending_seconds").record(oldest.map { max(0, instant.timeIntervalSince($0)) } ?? 0)
                    }
                    if !blocked, let next { wait = min(wait, max(0.05, next.timeIntervalSince(instant))) }
                } catch {
                    if Task.isCancelled { break }  // shutting down
                    logger.error("delivery worker cannot read the outbox", metadata: ["error": "\(error)"])
                    wait = 5
                }
                if waitingForSlot {
                    // Every due submission waits for a busy system's slot, and only an attempt that
                    // ends frees one: polling again at each new submission (one per scan at peak,
                    // most likely for that same system) found nothing to start and cost the
                    // scans' CPU. A new submission for another system waits at most this long.
                    await slotFreed.wait(upTo: Self.blockedPollInterval)
                } else {
                    await wake.wait(upTo: .milliseconds(Int64(wait * 1000)))
                }
            }
        }
    }

    /// One POST of one submission, and its outcome recorded.
    func attempt(_ due: Due, transport: any WebhookTransport, logger: Logger) async {
        let outcome: Result<Int, any Error>
        do {
            if let peer = due.peer {
                outcome = .success(try await forward(due, to: peer))
            } else {
                outcome = .success(try await post(due, over: transport))
            }
        } catch {
            outcome = .failure(error)
        }
        if Task.isCancelled { return }  // shutting down: the attempt is made again after the restart
        do {
            try await record(due, outcome)
        } catch {
            logger.error("cannot record a delivery attempt", metadata: ["submission": "\(due.id)", "error": "\(error)"])
        }
    }

    /// POSTs a submission to its approval system, or a notice to its destination, signed with its secret.
    private func post(_ due: Due, over transport: any WebhookTransport) async throws -> Int {
        let (body, secret) = try await transactions.read { db -> (String?, String?) in
            switch due.kind {
            case .submission:
                return (try Submissions.body(of: due.id, vault: vault, db), try ApprovalSystemRegistry.secret(of: due.system, vault: vault, db))
            case .notice:
                guard let notice = try NoticeStore.body(due.id, db) else { return (nil, nil) }
                return (notice.body, try Notices.secret(notice.destination, unit: notice.unit, vault: vault, db))
            }
        }
        guard let body, let secret else { throw InternalError("delivery \(due.id) has no body or its destination no secret") }
        let bytes = Array(body.utf8)
        let signature = WebhookSignature.sign(body: bytes, secret: secret, timestamp: Int64(now().timeIntervalSince1970), suite: suite)
        let headers = [("Content-Type", "application/json"), ("Idempotency-Key", due.id), (WebhookSignature.header, signature)]
        return try await transport.post(url: due.url, headers: headers, body: bytes, connectTimeout: settings.connectTimeout,
                                        timeout: settings.requestTimeout)
    }

    /// Writes the outcome: delivered (the body leaves the outbox), retry later, or dead.
    func record(_ due: Due, _ outcome: Result<Int, any Error>) async throws {
        let instant = now()
        let attempts = due.attempts + 1
        let delivered: Bool
        let failure: String?
        switch outcome {
        case .success(let status) where (200..<300).contains(status): (delivered, failure) = (true, nil)
        case .success(let status): (delivered, failure) = (false, "HTTP \(status)")
        case .failure(let error): (delivered, failure) = (false, Self.describe(error))
        }
        Counter(label: Self.attemptsMetric, dimensions: [("outcome", delivered ? "delivered" : "failed")]).increment()
        let unit = Double(random.bytes(4).reduce(0) { $0 << 8 | UInt32($1) }) / 4_294_967_296
        let next = instant.addingTimeInterval(settings.backoff(afterAttempt: attempts, unit: unit))
        let (audit, maxAttempts) = (self.audit, settings.maxAttempts)
        // Submissions and notices keep their state in their own tables, written the same way.
        let (store, noun, destination): (any DeliveryQueue.Type, String, String) = due.kind == .submission
            ? (SubmissionStore.self, "submission", "approval_system") : (NoticeStore.self, "notice", "destination")
        try await transactions.unit { db in
            guard try store.state(due.id, db) == .pending else { return }
            var detail: [String: JSONValue] = ["attempts": .int(Int64(attempts)), destination: .string(due.system)]
            if let peer = due.peer {  // 异地代收: the region it went to, and that region's id for it
                detail = ["attempts": .int(Int64(attempts)), "region": .string(peer)]
                if let id = try FederationStore.links(of: due.id, db).first(where: { $0.role == .forwardedTo })?.peerRequest {
                    detail["peer_request"] = .string(id)
                }
            }
            if delivered {
                try store.markDelivered(due.id, attempts: attempts, at: instant, db)
                try audit.append(db, actor: .system, action: "\(noun).delivered", object: "\(noun):\(due.id)", detail: detail)
            } else if attempts >= maxAttempts {
                try store.markDead(due.id, attempts: attempts, failure: failure, db)
                try audit.append(db, actor: .system, action: "\(noun).dead", object: "\(noun):\(due.id)", detail: detail)
            } else {
                try store.markFailed(due.id, attempts: attempts, failure: failure, next: next, db)
            }
        }
        if delivered, let created = Timestamp.date(due.createdAt) {
            Timer(label: "msb_delivery_latency_seconds").recordSeconds(max(0, instant.timeIntervalSince(created)))
        }
    }

    /// Why no answer came, as one fixed message per kind of failure: terminals read it, so it
    /// never carries a remote server's (or an HTTP client's) own text, a secret or a body.
    static func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        if error is CryptoError || error is InternalError { return "cannot open the stored submission" }
        if text.localizedCaseInsensitiveContains("timeout") || text.localizedCaseInsensitiveContains("deadline") { return "timed out" }
        if text.localizedCaseInsensitiveContains("refused") { return "connection refused" }
        return "no answer"
    }

    /// How long the worker waits after a wake before it polls.
    static let pollPause = Duration.milliseconds(5)
    /// How often the worker polls while every due submission waits for a busy system.
    static let blockedPollInterval = Duration.milliseconds(100)
    /// Counting the queue reads every pending submission (tens of thousands when an approval
    /// system is down at peak: about 1.5 % of the server's CPU at one count a second); a
    /// gauge five seconds old is still fresher than a scrape interval.
    static let gaugeInterval = Duration.seconds(5)
    /// Due submissions read per poll: enough to fill every system's free slots, few enough
    /// that a poll after each finished attempt stays cheap when thousands are queued.
    static let pollLimit = 64
}

/// The submissions being sent now, and how many per approval system.
final class InFlight: Sendable {
    private let state = Locked<(ids: Set<String>, perSystem: [String: Int])>(([], [:]))

    var ids: Set<String> { state.withLock { $0.ids } }
    func contains(_ id: String) -> Bool { state.withLock { $0.ids.contains(id) } }

    /// Marks `id` in flight unless its system is at `limit`.
    func start(_ id: String, system: String, limit: Int) -> Bool {
        state.withLock { state in
            guard state.perSystem[system, default: 0] < limit else { return false }
            state.ids.insert(id)
            state.perSystem[system, default: 0] += 1
            return true
        }
    }

    func finish(_ id: String, system: String) {
        state.withLock { state in
            state.ids.remove(id)
            state.perSystem[system, default: 1] -= 1
        }
    }
}

/// Wakes a waiting task early: `fire` before or during `wait` ends the wait; a fire with no
/// one waiting is remembered once.
public final class WakeSignal: Sendable {
    private let state = Locked<(pending: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    public init() {}

    public func fire() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns at the next `fire`, after `duration`, or when the task is cancelled.
    public func wait(upTo duration: Duration) async {
        let timer = Task { [self] in
            do {
                try await Task.sleep(for: duration)
                fire()
            } catch {}
        }
        defer { timer.cancel() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state -> Bool in
                    if state.pending {
                        state.pending = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            fire()
        }
    }
}

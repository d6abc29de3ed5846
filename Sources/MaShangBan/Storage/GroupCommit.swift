import Foundation
import GRDB
import Metrics

/// Group commit: write units from many concurrent requests run on one writer queue, all
/// the units waiting when it comes round in one SQLite transaction — one fsync — each in its
/// own savepoint, so a unit that fails its own checks (a used token, say) rolls back alone.
/// Every caller is answered only after the transaction has committed (`synchronous=FULL`),
/// so a 2xx still means durable. Units run in arrival order, which keeps the audit chain in
/// that order.
public final class GroupCommit: Sendable {
    let pool: DatabasePool
    /// Units waiting, and whether a drain is scheduled on `writer`.
    private let queue = Locked<(units: [Unit], draining: Bool)>(([], false))
    private let writer = DispatchQueue(label: "msb.group-commit")
    private let counters = Locked<(transactions: Int, units: Int)>((0, 0))
    /// The most units one transaction takes.
    public static let maximumBatch = 256
    /// Counters on `/metrics`: group transactions committed or rolled back, and units run.
    public static let transactionsMetric = "msb_group_commit_transactions_total"
    public static let unitsMetric = "msb_group_commit_units_total"
    /// CPU seconds the writer thread spent running batches, commits included: one thread
    /// does all writes, so CPU per unit bounds the write rate (1 s ÷ that).
    public static let cpuMetric = "msb_group_commit_cpu_seconds_total"
    /// Wall-clock seconds the writer spent running batches, their commits' fsyncs included:
    /// near the phase's length, units wait for the writer rather than for a core.
    public static let busyMetric = "msb_group_commit_busy_seconds_total"

    struct Unit: @unchecked Sendable {  // the closures run on the writer thread only
        let work: (Database) throws -> Void
        let finish: (Result<Void, any Error>) -> Void
    }

    /// Run on the writer's thread after each group transaction, outside it
    /// (`WarmSnapshots.afterCommit`: the write-ahead log's length, as `WALCheckpointer` noted it).
    private let afterCommit: (@Sendable () -> Void)?
    /// Runs each group transaction's units, inside the transaction (`wrapUnits`).
    typealias Wrap = @Sendable (Database, () throws -> Void) throws -> Void
    /// Boxed: a closure read through `Locked`'s inout is wrapped in a reabstraction thunk and
    /// written back, one more each time, so every transaction called through a longer chain.
    private final class WrapBox: Sendable {
        let wrap: Wrap
        init(_ wrap: @escaping Wrap) { self.wrap = wrap }
    }
    private let wrap = Locked<WrapBox?>(nil)

    public convenience init(pool: DatabasePool) {
        self.init(pool: pool, afterCommit: nil)
    }

    init(pool: DatabasePool, afterCommit: (@Sendable () -> Void)?) {
        self.pool = pool
        self.afterCommit = afterCommit
    }

    /// Runs `body` in the next group transaction and returns its value once that has
    /// committed. Throws what `body` threw (its savepoint rolled back, the others
    /// unaffected), or the storage error that kept the whole transaction from committing.
    public func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let box = Box<T>()
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let unit = Unit(work: { db in box.value = try body(db) }, finish: { result in
                switch result {
                case .success:
                    if let value = box.value { continuation.resume(returning: value) } else {
                        continuation.resume(throwing: InternalError("a write unit left no value"))
                    }
                case .failure(let error): continuation.resume(throwing: error)
                }
            })
            let schedule = queue.withLock { queue -> Bool in
                queue.units.append(unit)
                defer { queue.draining = true }
                return !queue.draining
            }
            if schedule { writer.async { self.drain() } }
        }
    }

    /// From now on, each group transaction's units run inside `wrap`, which must run them
    /// once (the audit log's: the checkpoints they reach are signed on other threads while
    /// they go on, and stored before the commit).
    func wrapUnits(_ wrap: @escaping Wrap) {
        self.wrap.withLock { $0 = WrapBox(wrap) }
    }

    private static let unwrapped: Wrap = { _, units in try units() }

    /// Transactions committed and units run so far (for tests and the bench).
    public var statistics: (transactions: Int, units: Int) { counters.withLock { $0 } }

    /// Units waiting for the writer.
    var waiting: Int { queue.withLock { $0.units.count } }

    /// Runs batches until no unit is waiting. Units that arrive while a batch commits form the next one.
    private func drain() {
        while true {
            let batch = queue.withLock { queue -> [Unit] in
                let taken = Array(queue.units.prefix(Self.maximumBatch))
                queue.units.removeFirst(taken.count)
                if taken.isEmpty { queue.draining = false }
                return taken
            }
            if batch.isEmpty { return }
            let (started, cpuBefore) = (ContinuousClock.now, Self.threadCPUSeconds())
            var outcomes = [Result<Void, any Error>](repeating: .success(()), count: batch.count)
            let wrap = wrap.withLock { $0 }?.wrap ?? Self.unwrapped
            do {
                try pool.writeWithoutTransaction { db in
                    try db.inTransaction(.immediate) {
                        try wrap(db) {
                            for (index, unit) in batch.enumerated() {
                                do {
                                    try Self.inSavepoint(db) { try unit.work(db) }
                                } catch let failure as UnitFailed {
                                    outcomes[index] = .failure(failure.error)
                                }
                            }
                        }
                        return .commit
                    }
                    afterCommit?()
                }
            } catch {
                outcomes = [Result](repeating: .failure(error), count: batch.count)
            }
            counters.withLock { $0 = ($0.transactions + 1, $0.units + batch.count) }
            Counter(label: Self.transactionsMetric).increment()
            Counter(label: Self.unitsMetric).increment(by: batch.count)
            // Wall time first, and it spans the CPU time's interval: a scrape between the two
            // counters never sees more CPU than wall time.
            let cpu = Self.threadCPUSeconds() - cpuBefore
            FloatingPointCounter(label: Self.busyMetric).increment(by: (ContinuousClock.now - started).inSeconds)
            FloatingPointCounter(label: Self.cpuMetric).increment(by: cpu)
            for (unit, outcome) in zip(batch, outcomes) { unit.finish(outcome) }
        }
    }

    /// The calling thread's CPU time so far, in seconds.
    static func threadCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// Runs `work` in a savepoint: released if it returns, rolled back to if it throws, and
    /// then `UnitFailed` is thrown with its error. A savepoint that cannot be rolled back or
    /// released (the transaction was lost, say to a full disk) throws that storage error, which
    /// fails the whole batch. The same as GRDB's `inSavepoint`, but with cached statements:
    /// that one prepares its three statements again for every unit.
    static func inSavepoint(_ db: Database, _ work: () throws -> Void) throws {
        try db.cachedStatement(sql: "SAVEPOINT unit").execute()
        do {
            try work()
        } catch {
            try db.cachedStatement(sql: "ROLLBACK TRANSACTION TO SAVEPOINT unit").execute()
            try db.cachedStatement(sql: "RELEASE SAVEPOINT unit").execute()
            throw UnitFailed(error: error)
        }
        try db.cachedStatement(sql: "RELEASE SAVEPOINT unit").execute()
    }

    /// A unit threw `error`, and its savepoint was rolled back.
    struct UnitFailed: Error {
        let error: any Error
    }

    private final class Box<T>: @unchecked Sendable {  // written on the writer thread, read after it resumes us
        var value: T?
    }
}

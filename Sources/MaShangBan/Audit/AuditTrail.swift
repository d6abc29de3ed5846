import Foundation
import GRDB

/// The audit log as a running server reads it: pages of records, the latest checkpoint,
/// and the chain check (`GET /v1/audit/verify`), which reads the chain in pages off the
/// request's thread and keeps its result for the head it checked: asked again before a
/// record or checkpoint is added, it answers from that result.
public final class AuditTrail: Sendable {
    let transactions: Transactions
    let audit: AuditLog
    let suite: CryptoSuite
    let checkpointFile: URL
    /// Records a page of the chain check reads at a time.
    let pageSize: Int

    /// What a cached result is valid for: the log's head, the checkpoints in the database,
    /// and the size of the checkpoint file.
    struct State: Equatable {
        let size: Int64
        let head: String?
        let checkpoints: Int64
        let fileBytes: Int
    }

    private let cached = Locked<(state: State, result: AuditVerification)?>(nil)

    init(transactions: Transactions, audit: AuditLog, suite: CryptoSuite, checkpointFile: URL, pageSize: Int = 5_000) {
        (self.transactions, self.audit, self.suite, self.checkpointFile, self.pageSize) = (transactions, audit, suite, checkpointFile, pageSize)
    }

    /// Signs a checkpoint if the log has grown since the last one. Synchronous on purpose:
    /// the last checkpoint runs at shutdown, after cancellation, which an async write refuses.
    public func checkpointIfNeeded() throws {
        let audit = self.audit
        _ = try transactions.writeNow { db in try audit.checkpointIfNeeded(db) }
    }

    /// Up to `limit` records after sequence number `after`, and the `after` of the next page
    /// (nil on the last).
    public func entries(after: Int64, limit: Int) async throws -> (entries: [AuditRecord], next: Int64?) {
        let page = try await transactions.read { db in try AuditStore.records(after: after, limit: limit + 1, db) }
        let entries = Array(page.prefix(limit))
        return (entries, page.count > limit ? entries.last?.seq : nil)
    }

    /// The newest signed checkpoint, or nil before the first.
    public func latestCheckpoint() async throws -> AuditCheckpoint? {
        try await transactions.read { db in try AuditStore.latestCheckpoint(db) }
    }

    /// Record `seq`'s leaf hash, its record hash, and its audit path in the log's Merkle tree
    /// at `size` (default: the latest checkpoint's), which `1 ≤ seq ≤ size ≤` the log's size.
    public func inclusionProof(seq: Int64, size: Int64?) async throws -> AuditProofs.Inclusion {
        let suite = self.suite
        return try await transactions.read { db in try AuditProofs.inclusion(seq: seq, size: size, suite: suite, db) }
    }

    /// The proof that the log's tree at `from` is the start of its tree at `to` (default: the
    /// latest checkpoint's size), with `1 ≤ from ≤ to ≤` the log's size.
    public func consistencyProof(from: Int64, to: Int64?) async throws -> AuditProofs.Consistency {
        let suite = self.suite
        return try await transactions.read { db in try AuditProofs.consistency(from: from, to: to, suite: suite, db) }
    }

    /// Checks the chain and its checkpoints with the keys the database lists; the same
    /// answer as `mashangban audit verify` on the same data.
    public func verify() async throws -> AuditVerification {
        let state = try await currentState()
        if let hit = cached.withLock({ $0 }), hit.state == state { return hit.result }
        let result = try await AuditVerifier.verifyInPages(transactions, suite: suite, checkpointFile: checkpointFile, pageSize: pageSize)
        cached.withLock { $0 = (state, result) }
        return result
    }

    /// Appends `count` records (action `bench.noop`) in one transaction, as a batch import
    /// does: `mashangban-bench` measures the chain's own cost with it on its scratch data.
    @_spi(Bench) public func appendBenchRecords(_ count: Int) async throws {
        let audit = self.audit
        try await transactions.write { db in
            var chain = try audit.chain(db)
            for i in 0..<count {
                try chain.append(actor: .system, action: "bench.noop", object: "licence:lic_\(i)", detail: ["type": "social_security_card"])
            }
        }
    }

    /// Whether the next `verify()` would answer from its cache (for tests).
    var hasCachedResult: Bool {
        get async throws {
            let state = try await currentState()
            return cached.withLock { $0?.state == state }
        }
    }

    private func currentState() async throws -> State {
        let fileBytes = (try? FileManager.default.attributesOfItem(atPath: checkpointFile.path)[.size] as? Int) ?? 0
        return try await transactions.read { db in
            let head = try AuditStore.head(db)
            return State(size: head?.seq ?? 0, head: head?.hash, checkpoints: try AuditStore.checkpointCount(db), fileBytes: fileBytes)
        }
    }
}

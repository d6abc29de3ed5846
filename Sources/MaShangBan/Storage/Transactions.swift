import Foundation
import GRDB

/// The database as domain services reach it: short reads, write transactions, and units of
/// the group commit (the hot path's writes). The pool stays inside Storage/; services call
/// stores with the `Database` of the transaction they are in.
struct Transactions: Sendable {
    /// For Storage/ (migrations, key separation) and tests only.
    let pool: DatabasePool
    /// The one writer that batches concurrent units into a transaction.
    let writes: GroupCommit
    /// Short-lived read snapshots with warm caches, for the hot path's reads ahead of its
    /// unit; nil when turned off (`BackendSettings.warmSnapshots`).
    let snapshots: WarmSnapshots?
    /// Checkpoints the write-ahead log beside the writer, not in its commits.
    let checkpointer: WALCheckpointer

    /// Opens (or creates and migrates) the database at `url`.
    static func open(at url: URL, warmSnapshots: Duration? = nil) throws -> Transactions {
        Transactions(pool: try Storage.open(at: url), warmSnapshots: warmSnapshots)
    }

    init(pool: DatabasePool, warmSnapshots: Duration? = nil) {
        self.pool = pool
        let checkpointer = WALCheckpointer(path: pool.path)
        checkpointer.install(on: pool)
        let snapshots = warmSnapshots.map { WarmSnapshots(pool: pool, lifetime: $0) }
        let afterCommit: (@Sendable () -> Void)? = snapshots.map { snapshots in { @Sendable in snapshots.afterCommit(frames: checkpointer.frames) } }
        writes = GroupCommit(pool: pool, afterCommit: afterCommit)
        self.snapshots = snapshots
        self.checkpointer = checkpointer
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await pool.read(body)
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await pool.write(body)
    }

    /// A read on a snapshot up to `WarmSnapshots.lifetime` old (see there): what it finds
    /// must be checked again in the write unit it prepares. Nil when snapshots are off or
    /// pause (for the write-ahead log to start again).
    func warmRead<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T? {
        guard let snapshots else { return nil }
        return try await snapshots.read(body)
    }

    /// A unit of the next group transaction (see `GroupCommit`).
    func unit<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await writes.write(body)
    }

    /// Blocking forms, for startup and the CLI, and for the last checkpoint at shutdown
    /// (after cancellation, which the async forms refuse).
    func readNow<T>(_ body: (Database) throws -> T) throws -> T { try pool.read(body) }
    func writeNow<T>(_ body: (Database) throws -> T) throws -> T { try pool.write(body) }
}

/// A database opened read-only and without migrating it: a stopped server's data
/// directory, or a copy, as `mashangban audit verify` reads it.
struct ReadOnlyDatabase {
    private let queue: DatabaseQueue

    init(at url: URL) throws {
        var configuration = Configuration()
        configuration.readonly = true
        queue = try DatabaseQueue(path: url.path, configuration: configuration)
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T { try queue.read(body) }
}

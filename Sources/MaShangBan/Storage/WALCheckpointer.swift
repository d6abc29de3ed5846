import Foundation
import GRDB
import GRDBSQLite
import Metrics

/// Checkpoints the write-ahead log on a connection and a thread of its own, so that the
/// group commit's writer stops for it only briefly.
///
/// SQLite's automatic checkpoint runs inside the commit that takes the log past its length:
/// the writer copies the log's pages back into the database and fsyncs the database file
/// (4–13 ms of waiting on this machine) while every unit of that batch, and every unit
/// queued behind it, waits. Those stalls were the scans' slowest hundredth. Here the
/// writer's connection has a WAL hook instead, which notes the log's length after each
/// commit and, past `Storage.walCheckpointPages`, asks this checkpointer to run: passive
/// checkpoints (they never block the writer, nor wait for it), each copying what was
/// committed while the one before ran. The writer copies the last few frames itself
/// (`finishFrames`), so that its next transaction starts the log again.
///
/// SQLite fsyncs the database file only in a checkpoint that copies the whole log; the
/// passive ones here, which under load never reach its end, leave what they copy in the
/// operating system's cache. The writer's finishing checkpoint would then flush all of it
/// (tens of MiB, a stall of 100 ms seen at the scans' slowest thousandth), so after a run
/// that copied frames the checkpointer flushes the database file itself (`fdatasync`).
///
/// If the checkpointer falls far behind (`inlineFrames`: readers hold old snapshots, or the
/// disk is slow), the writer checkpoints in its commit as SQLite would, so the log stays
/// bounded whatever happens here. Durability is unchanged: each commit's fsync of the log
/// is the writer's, and a checkpoint fsyncs the database file (`synchronous=FULL` here too).
public final class WALCheckpointer: Sendable {
    /// Passive checkpoints by who ran them (`by`): `checkpointer` (beside the writer),
    /// `writer_finish` (the last frames, in a commit), `writer_forced` (at `inlineFrames`).
    public static let checkpointsMetric = "msb_wal_checkpoints_total"

    /// Past this many frames the writer checkpoints in its commit, as SQLite's automatic
    /// checkpoint does: four times `Storage.walCheckpointPages`, and past
    /// `WarmSnapshots.restartFrames`, where the snapshots pause to let the log start again.
    static let inlineFrames = 4 * Storage.walCheckpointPages
    /// Passive checkpoints one request runs at most, each copying what was committed while
    /// the one before ran; a round that copies nothing new (readers still need the frames)
    /// ends the run.
    static let maximumRounds = 8
    /// Frames the log must grow by before another run after one that readers kept from its
    /// end, so that it is not repeated after every commit.
    static let retryFrames = 512
    /// The log starts over only when a transaction begins after a checkpoint has copied every
    /// frame committed; under load one has always begun meanwhile. So once a run has copied
    /// all but this many frames, the writer copies the rest in its commit: a few pages and a
    /// short fsync, where the whole log's were 4–13 ms.
    static let finishFrames = 256

    private let path: String
    private let queue = DispatchQueue(label: "msb.wal-checkpoint")
    /// The checkpointer's connection and a descriptor of the database file to flush, opened
    /// on its first checkpoint; the log's length after the writer's last commit; whether a run
    /// is requested or under way; checkpoints made; the log's length and the frames copied at
    /// the last checkpoint (either side's).
    private let state = Locked<(connection: (queue: DatabaseQueue, file: Int32)?, frames: Int, requested: Bool, running: Bool,
                                checkpoints: Int, log: Int, copied: Int)>((nil, 0, false, false, 0, 0, 0))

    init(path: String) {
        self.path = path
    }

    /// The log's length, in frames, after the writer's last commit.
    var frames: Int { state.withLock { $0.frames } }

    /// Passive checkpoints made so far, on either side (for tests).
    var checkpoints: Int { state.withLock { $0.checkpoints } }

    /// Installs the WAL hook on the pool's writer connection (replacing SQLite's automatic
    /// checkpoint). The hook holds this checkpointer weakly: once it is gone, the writer
    /// checkpoints at `Storage.walCheckpointPages` in its commits, as before.
    func install(on pool: DatabasePool) {
        let hook = Unmanaged.passRetained(Hook(self)).toOpaque()  // one small box per pool, for the connection's life
        pool.writeWithoutTransaction { db in
            _ = sqlite3_wal_hook(db.sqliteConnection, { context, connection, name, frames in
                guard let context else { return SQLITE_OK }
                let checkpointer = Unmanaged<Hook>.fromOpaque(context).takeUnretainedValue().checkpointer
                let frames = Int(frames)
                let by = checkpointer.map { $0.committed(frames: frames) } ?? (frames >= Storage.walCheckpointPages ? "writer_forced" : nil)
                guard let by else { return SQLITE_OK }
                var (log, copied): (Int32, Int32) = (-1, -1)
                if sqlite3_wal_checkpoint_v2(connection, name, SQLITE_CHECKPOINT_PASSIVE, &log, &copied) == SQLITE_OK {
                    checkpointer?.checkpointed(log: Int(log), copied: Int(copied), by: by)
                }
                return SQLITE_OK
            }, hook)
        }
    }

    /// The writer's hook after a commit: notes the log's length, asks for a run past
    /// `Storage.walCheckpointPages`; whether the writer should checkpoint now, and why (the
    /// run left at most `finishFrames`, or the log reached `inlineFrames`), or nil.
    private func committed(frames: Int) -> String? {
        let (due, inline) = state.withLock { state -> (Bool, String?) in
            state.frames = frames
            if frames < state.log { (state.log, state.copied) = (0, 0) }  // the log started again
            guard frames >= Storage.walCheckpointPages else { return (false, nil) }
            if frames >= Self.inlineFrames { return (false, "writer_forced") }
            if state.copied > 0 && frames - state.copied <= Self.finishFrames { return (false, "writer_finish") }
            return (frames >= state.log + (state.copied >= state.log ? 1 : Self.retryFrames), nil)
        }
        if due { request() }
        return inline
    }

    /// A checkpoint's outcome: the log's length and the frames copied from it so far.
    private func checkpointed(log: Int, copied: Int, by: String) {
        state.withLock { state in
            state.checkpoints += 1
            (state.log, state.copied) = (log, copied)
        }
        Counter(label: Self.checkpointsMetric, dimensions: [("by", by)]).increment()
    }

    /// Runs passive checkpoints on the checkpointer's thread soon (once, however often it is asked meanwhile).
    func request() {
        let start = state.withLock { state -> Bool in
            state.requested = true
            defer { state.running = true }
            return !state.running
        }
        if start { queue.async { self.run() } }
    }

    private func run() {
        while true {
            let go = state.withLock { state -> Bool in
                if !state.requested { state.running = false }
                defer { state.requested = false }
                return state.requested
            }
            guard go else { return }
            do {
                let (connection, file) = try self.connection()
                var (before, short) = (-1, false)
                for _ in 0..<Self.maximumRounds {
                    let (log, copied) = try connection.writeWithoutTransaction { db in try db.checkpoint(.passive) }
                    checkpointed(log: log, copied: copied, by: "checkpointer")
                    short = copied < log
                    // All committed frames copied (the next transaction starts the log again), or no progress.
                    if copied >= log || copied <= before { break }
                    before = copied
                }
                // SQLite synced the database file if the last round reached the log's end.
                if short { fdatasync(file) }
            } catch {
                // A checkpoint that could not run leaves the log longer; the writer's own
                // checkpoint at `inlineFrames` bounds it.
            }
        }
    }

    private func connection() throws -> (queue: DatabaseQueue, file: Int32) {
        if let open = state.withLock({ $0.connection }) { return open }
        var configuration = Configuration()
        configuration.label = "mashangban.wal-checkpoint"
        let connection = try DatabaseQueue(path: path, configuration: configuration)
        try connection.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        let file = open(path, O_RDONLY | O_CLOEXEC)
        guard file >= 0 else { throw InternalError("cannot open the database file to flush it (errno \(errno))") }
        state.withLock { $0.connection = (connection, file) }
        return (connection, file)
    }

    deinit {
        if let file = state.withLock({ $0.connection?.file }) { close(file) }
    }

    /// What the hook's context points at: the checkpointer, weakly.
    private final class Hook: @unchecked Sendable {  // read on the writer thread only
        weak var checkpointer: WALCheckpointer?
        init(_ checkpointer: WALCheckpointer) { self.checkpointer = checkpointer }
    }
}

import Foundation
import GRDB

/// Read snapshots kept open for a short while, for the hot path's reads ahead of its write
/// unit (a scan's or a claim's disclosure, worked out before the writer stores it).
///
/// A pool reader's transaction starts with an empty page cache whenever the WAL has moved
/// since its last one (SQLite resets a connection's cache then), and under load it always
/// has: each scan's reads then cost about three times what they cost the warm writer. A
/// snapshot is one connection in one long read transaction, whose cache stays warm for its
/// lifetime. What it sees is up to `lifetime` old, so a caller must check in its write unit
/// that what it read still holds (`DisclosureStore.generation`, conditional updates), and
/// treat "not found" as "not yet seen here" (a code issued a moment ago).
///
/// `slots` snapshots (one per core) take reads in turn, each on its own serial queue. A
/// snapshot older than `lifetime` is replaced by the next read that comes to it; one that no
/// read comes to is closed by a sweeper task that runs while any is open, so an idle server
/// holds no read transaction open, and the WAL can be checkpointed and restarted.
///
/// Under steady load the snapshots overlap, and while any is open SQLite can neither
/// checkpoint the WAL to its end nor start it again from the beginning: it would grow as
/// long as the load lasts. So the writer looks at the log's length after each commit
/// (`afterCommit`, from `WALCheckpointer`'s hook); past `restartFrames` frames the snapshots
/// pause (reads get nil, and their callers work without them) until a checkpoint has
/// reached the log's end and the next transaction has started it again, or for one
/// `lifetime` at most.
final class WarmSnapshots: Sendable {
    private let pool: DatabasePool
    let lifetime: Duration
    private let slots: Int
    /// The log's length (in frames, a page each) past which the snapshots pause to let it
    /// start again: 8,192 frames are 32 MiB of 4 KiB pages.
    let restartFrames: Int
    private let state: Locked<(snapshots: [Slot?], next: Int, sweeping: Bool, pausedSince: ContinuousClock.Instant?)>

    private struct Slot {
        let snapshot: DatabaseSnapshot
        let opened: ContinuousClock.Instant
    }

    init(pool: DatabasePool, lifetime: Duration = .seconds(1), slots: Int = max(1, ProcessInfo.processInfo.activeProcessorCount),
         restartFrames: Int = 8192) {
        self.pool = pool
        self.lifetime = lifetime
        self.slots = slots
        self.restartFrames = restartFrames
        state = Locked(([Slot?](repeating: nil, count: slots), 0, false, nil))
    }

    /// Runs `body` on a snapshot at most `lifetime` old (opening one if needed); nil while
    /// the snapshots pause for the log to start again.
    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T? {
        let now = ContinuousClock.now
        let taken = state.withLock { state -> (Int, Slot?)? in
            guard state.pausedSince == nil else { return nil }
            let index = state.next
            state.next = (index + 1) % slots
            return (index, state.snapshots[index])
        }
        guard let (index, current) = taken else { return nil }
        let slot: Slot
        if let current, now - current.opened < lifetime {
            slot = current
        } else {
            slot = Slot(snapshot: try pool.makeSnapshot(), opened: now)
            let startSweeper = state.withLock { state -> Bool in
                state.snapshots[index] = slot  // the one it replaces closes when its last read ends
                defer { state.sweeping = true }
                return !state.sweeping
            }
            if startSweeper { Task.detached { [self] in await sweepWhileOpen() } }
        }
        return try await slot.snapshot.read(body)
    }

    /// The writer's look at the log after a group commit: its length, in `frames`. Serving:
    /// past `restartFrames` the snapshots pause and are let go (each closes once its last
    /// read ends). Paused: until the log is short again (the checkpointer reached its end and
    /// it started over) or a `lifetime` has passed.
    func afterCommit(frames: Int) {
        let now = ContinuousClock.now
        let released = state.withLock { state -> [Slot?] in
            if let pausedSince = state.pausedSince {
                if frames < restartFrames / 2 || now - pausedSince >= lifetime { state.pausedSince = nil }
                return []
            }
            guard frames > restartFrames else { return [] }
            state.pausedSince = now
            defer { state.snapshots = [Slot?](repeating: nil, count: slots) }
            return state.snapshots
        }
        _ = released  // closed here, outside the lock, once their last reads have ended
    }

    /// Every `lifetime`, closes the snapshots older than that, until none is open.
    private func sweepWhileOpen() async {
        while true {
            try? await Task.sleep(for: lifetime)
            let now = ContinuousClock.now
            let (stale, open) = state.withLock { state -> ([Slot], Bool) in
                var stale: [Slot] = []
                for index in state.snapshots.indices {
                    if let slot = state.snapshots[index], now - slot.opened >= lifetime {
                        stale.append(slot)
                        state.snapshots[index] = nil
                    }
                }
                let open = state.snapshots.contains { $0 != nil }
                if !open { state.sweeping = false }
                return (stale, open)
            }
            _ = stale  // closed here, outside the lock, once their last reads have ended
            if !open { return }
        }
    }
}

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
final class WarmSnapshots: Sendable {
    private let pool: DatabasePool
    let lifetime: Duration
    private let slots: Int
    private let state: Locked<(snapshots: [Slot?], next: Int, sweeping: Bool)>

    private struct Slot {
        let snapshot: DatabaseSnapshot
        let opened: ContinuousClock.Instant
    }

    init(pool: DatabasePool, lifetime: Duration = .seconds(1), slots: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)) {
        self.pool = pool
        self.lifetime = lifetime
        self.slots = slots
        state = Locked(([Slot?](repeating: nil, count: slots), 0, false))
    }

    /// Runs `body` on a snapshot at most `lifetime` old (opening one if needed).
    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let now = ContinuousClock.now
        let (index, current) = state.withLock { state -> (Int, Slot?) in
            let index = state.next
            state.next = (index + 1) % slots
            return (index, state.snapshots[index])
        }
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

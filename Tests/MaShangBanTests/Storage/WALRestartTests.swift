import Foundation
import GRDB
import Testing
@testable import MaShangBan
import MaShangBanTestSupport

/// Warm snapshots are read transactions that overlap one another under load: while any is
/// open, SQLite can neither checkpoint the write-ahead log to its end nor start it again
/// from the beginning, so without a pause the log would grow as long as the load lasts.
@Suite("Write-ahead log under warm snapshots")
struct WALRestartTests {
    @Test func theLogStartsAgainWhileSnapshotsAreInUse() async throws {
        let dir = try TemporaryDirectory()
        let url = dir.url.appendingPathComponent("wal.sqlite")
        let transactions = try Transactions.open(at: url, warmSnapshots: .milliseconds(20))
        try await transactions.write { db in try db.execute(sql: "CREATE TABLE filler (x BLOB NOT NULL)") }
        let blob = Data(repeating: 7, count: 16 * 1024)
        let stop = Locked(false)
        // Two readers, each on a snapshot slot, with never a moment when none is open unless
        // the snapshots pause (a read then gets nil, as a scan that works without them).
        let readers = (0..<2).map { _ in
            Task {
                var (reads, paused) = (0, 0)
                while !stop.withLock({ $0 }) {
                    if try await transactions.warmRead({ db in try Int.fetchOne(db, sql: "SELECT count(*) FROM filler") }) != nil {
                        reads += 1
                    } else {
                        paused += 1
                        try await Task.sleep(for: .milliseconds(1))
                    }
                }
                return (reads, paused)
            }
        }
        // Without the pauses these 4,000 units leave a log of about 180 MiB; it starts again
        // past 8,192 frames (32 MiB).
        for _ in 0..<4_000 {
            try await transactions.unit { db in
                try db.execute(sql: "INSERT INTO filler (x) VALUES (?)", arguments: [blob])
                try db.execute(sql: "DELETE FROM filler WHERE rowid <= (SELECT max(rowid) FROM filler) - 8")
            }
        }
        stop.withLock { $0 = true }
        for reader in readers {
            let (reads, paused) = try await reader.value
            #expect(reads > 100, "the snapshots were read all along")
            #expect(paused > 0, "and paused now and then")
        }
        let wal = try FileManager.default.attributesOfItem(atPath: url.path + "-wal")[.size] as? Int ?? 0
        #expect(wal < 48 << 20, "the log's file is \(wal >> 20) MiB")
    }

    /// The group commit's units never wait for a checkpoint: the checkpointer copies the log
    /// back on its own connection once it passes 4,000 frames, and the log starts again.
    /// Without the checkpointer (gone), the writer checkpoints in its commits, as SQLite would.
    @Test(arguments: [true, false]) func theLogIsCheckpointedBesideTheWriter(checkpointerKept: Bool) async throws {
        let dir = try TemporaryDirectory()
        let url = dir.url.appendingPathComponent("wal.sqlite")
        let pool = try Storage.open(at: url)
        var checkpointer: WALCheckpointer? = WALCheckpointer(path: url.path)
        checkpointer?.install(on: pool)
        if !checkpointerKept { checkpointer = nil }
        let writes = GroupCommit(pool: pool)
        try await writes.write { db in try db.execute(sql: "CREATE TABLE filler (x BLOB NOT NULL)") }
        let blob = Data(repeating: 7, count: 64 * 1024)
        // 16 pages a unit: without checkpoints these 2,000 units leave a log of about 130 MiB.
        for _ in 0..<2_000 {
            try await writes.write { db in
                try db.execute(sql: "INSERT INTO filler (x) VALUES (?)", arguments: [blob])
                try db.execute(sql: "DELETE FROM filler WHERE rowid <= (SELECT max(rowid) FROM filler) - 4")
            }
        }
        let wal = try FileManager.default.attributesOfItem(atPath: url.path + "-wal")[.size] as? Int ?? 0
        if let checkpointer {
            #expect(checkpointer.checkpoints > 0)
            // It started again long before the writer's own checkpoint at `inlineFrames`.
            #expect(wal < WALCheckpointer.inlineFrames / 2 * 4120, "the log's file is \(wal >> 20) MiB")
        } else {
            #expect(wal < (Storage.walCheckpointPages + 32) * 4120, "the log's file is \(wal >> 20) MiB")
        }
    }
}

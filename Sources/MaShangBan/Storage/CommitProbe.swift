import Foundation
import GRDB

/// A scratch database beside a data directory, opened as the service opens its own (WAL,
/// `synchronous=FULL`), to measure the disk's durable commit rate (`mashangban-bench`).
/// Removed when released.
public final class CommitProbe {
    private let url: URL
    private let pool: DatabasePool
    private let body = String(repeating: "x", count: 200)

    public init(in directory: URL) throws {
        url = directory.appendingPathComponent("commit-probe.sqlite")
        pool = try Storage.open(at: url)
        try pool.write { db in try db.execute(sql: "CREATE TABLE probe (id INTEGER PRIMARY KEY, body TEXT NOT NULL)") }
    }

    /// `commits` transactions of `rowsEach` inserted rows each.
    public func commit(_ commits: Int, rowsEach: Int) throws {
        let body = self.body
        for _ in 0..<commits {
            try pool.write { db in
                for _ in 0..<rowsEach { try db.cachedStatement(sql: "INSERT INTO probe (body) VALUES (?)").execute(arguments: [body]) }
            }
        }
    }

    deinit {
        try? pool.close()
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: url.path + suffix) }
    }
}

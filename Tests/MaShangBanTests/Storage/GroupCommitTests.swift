import Foundation
import GRDB
import Testing
@testable import MaShangBan
import MaShangBanTestSupport

@Suite("Group commit")
struct GroupCommitTests {
    struct Refused: Error {}

    /// While the writer is busy, units queue up and then share one transaction; a unit that
    /// fails rolls back alone (its audit records too), and every caller gets its own answer.
    @Test func waitingUnitsShareOneTransactionAndFailAlone() async throws {
        let dir = try TemporaryDirectory()
        let backend = try openBackend(dir)
        let writes = GroupCommit(pool: backend.transactions.pool)
        let audit = backend.audit
        // A first unit holds the writer until the twenty below are queued.
        let gate = DispatchSemaphore(value: 0)
        let running = Locked(false)
        let blocker = Task {
            try await writes.write { _ in
                running.withLock { $0 = true }
                gate.wait()
            }
        }
        while !running.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
        let outcomes = try await withThrowingTaskGroup(of: (Int, Int64?).self) { group in
            for i in 0..<20 {
                group.addTask {
                    do {
                        let seq = try await writes.write { db -> Int64 in
                            var chain = try audit.chain(db)
                            let record = try chain.append(actor: .system, action: "test.unit", object: "unit:\(i)")
                            if i % 2 == 1 { throw Refused() }
                            return record.seq
                        }
                        return (i, seq)
                    } catch is Refused {
                        return (i, nil)
                    }
                }
            }
            while writes.waiting < 20 { try await Task.sleep(for: .milliseconds(5)) }
            gate.signal()
            var all: [(Int, Int64?)] = []
            for try await outcome in group { all.append(outcome) }
            return all
        }
        try await blocker.value
        #expect(outcomes.filter { $0.1 == nil }.map(\.0).sorted() == Array(stride(from: 1, to: 20, by: 2)))
        let seqs = outcomes.compactMap(\.1).sorted()
        #expect(seqs == Array(2...11).map(Int64.init), "the even units' records, one after the other")
        #expect(writes.statistics.units == 21)
        #expect(writes.statistics.transactions == 2, "the twenty that waited shared one transaction")
        let units = try await backend.transactions.pool.read { db in try String.fetchAll(db, sql: "SELECT object FROM audit_records WHERE action = 'test.unit'") }
        #expect(units.count == 10 && units.allSatisfy { Int($0.dropFirst(5)).map { $0 % 2 == 0 } ?? false })
        #expect(try AuditVerifier.verify(reader: backend.transactions.pool, suite: backend.suite, checkpointFile: dir.dataDirectory.checkpointFile).ok)
    }

    /// A checkpoint written by a unit that then failed is rolled back with it and never reaches the file.
    /// The writer keeps its savepoint journals in memory (no temporary file per batch), and
    /// a unit bigger than SQLite's 64 KiB spill threshold still rolls back alone.
    @Test func savepointJournalsStayInMemoryAndStillRollBack() async throws {
        let dir = try TemporaryDirectory()
        let pool = try Storage.open(at: dir.url.appendingPathComponent("db.sqlite"))
        #expect(try await pool.write { db in try Int.fetchOne(db, sql: "PRAGMA temp_store") } == 2)
        #expect(try await pool.read { db in try Int.fetchOne(db, sql: "PRAGMA temp_store") } == 0)
        let writes = GroupCommit(pool: pool)
        try await writes.write { db in try db.execute(sql: "CREATE TABLE big (v BLOB NOT NULL); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) INSERT INTO big SELECT zeroblob(4000) FROM n") }
        await #expect(throws: Refused.self) {
            try await writes.write { db in
                try db.execute(sql: "UPDATE big SET v = zeroblob(4001)")
                throw Refused()
            }
        }
        #expect(try await pool.read { db in try Int.fetchOne(db, sql: "SELECT SUM(length(v)) FROM big") } == 400_000)
    }

    @Test func aRolledBackCheckpointNeverReachesTheFile() async throws {
        let dir = try TemporaryDirectory()
        let backend = try openBackend(dir)
        let writes = GroupCommit(pool: backend.transactions.pool)
        let audit = backend.audit
        try await writes.write { db in
            var chain = try audit.chain(db)
            for i in 2...98 { try chain.append(actor: .system, action: "test.noop", object: "n:\(i)") }
        }
        await #expect(throws: Refused.self) {
            try await writes.write { db in
                var chain = try audit.chain(db)
                for i in 99...100 { try chain.append(actor: .system, action: "test.noop", object: "n:\(i)") }  // checkpoint at 100
                throw Refused()
            }
        }
        #expect(!FileManager.default.fileExists(atPath: dir.dataDirectory.checkpointFile.path))
        try await writes.write { db in
            var chain = try audit.chain(db)
            for i in 99...101 { try chain.append(actor: .system, action: "test.noop", object: "again:\(i)") }
        }
        let lines = try String(contentsOf: dir.dataDirectory.checkpointFile, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 1)
        let checkpoint = try JSONDecoder().decode(AuditCheckpoint.self, from: Data(lines[0].utf8))
        let head = try await backend.transactions.pool.read { db in try String.fetchOne(db, sql: "SELECT hash FROM audit_records WHERE seq = 100") }
        #expect(checkpoint.size == 100 && checkpoint.head == head)
        #expect(try AuditVerifier.verify(reader: backend.transactions.pool, suite: backend.suite, checkpointFile: dir.dataDirectory.checkpointFile).ok)
    }
}

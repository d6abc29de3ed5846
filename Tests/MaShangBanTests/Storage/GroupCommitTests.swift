import Foundation
import GRDB
import Testing
@testable import MaShangBan
import MaShangBanTestSupport

@Suite("Group commit")
struct GroupCommitTests {
    struct Refused: Error {}

    /// A unit that holds the writer, once it runs, until the gate is signalled, so that the units
    /// queued meanwhile share the next transaction.
    static func holdWriter(_ writes: GroupCommit) async throws -> (gate: DispatchSemaphore, unit: Task<Void, any Error>) {
        let gate = DispatchSemaphore(value: 0)
        let running = Locked(false)
        let blocker = Task {
            try await writes.write { _ in
                running.withLock { $0 = true }
                gate.wait()
            }
        }
        while !running.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
        return (gate, blocker)
    }

    /// While the writer is busy, units queue up and then share one transaction; a unit that
    /// fails rolls back alone (its audit records too), and every caller gets its own answer.
    @Test func waitingUnitsShareOneTransactionAndFailAlone() async throws {
        let dir = try TemporaryDirectory()
        let backend = try openBackend(dir)
        let writes = GroupCommit(pool: backend.transactions.pool)
        let audit = backend.audit
        // A first unit holds the writer until the twenty below are queued.
        let (gate, blocker) = try await Self.holdWriter(writes)
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

    /// With and without the audit log's wrapping (checkpoints signed ahead, stored before the commit).
    @Test(arguments: [false, true])
    func aRolledBackCheckpointNeverReachesTheFile(signingAhead: Bool) async throws {
        let dir = try TemporaryDirectory()
        let backend = try openBackend(dir)
        let writes = GroupCommit(pool: backend.transactions.pool)
        let audit = backend.audit
        if signingAhead { writes.wrapUnits { db, units in try audit.signingAhead(db, units: units) } }
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

    /// In one group transaction, a unit reaches a checkpoint and is rolled back, and the next
    /// reaches the same size with other records: the checkpoint signed ahead for the first is
    /// dropped, the second's stored, and only after the units (`AuditLog.signingAhead`).
    @Test(arguments: CryptoProfile.allCases)
    func checkpointsSignedAheadAreThoseOfTheUnitsThatStayed(crypto: CryptoProfile) async throws {
        let dir = try TemporaryDirectory()
        let backend = try openBackend(dir, crypto: crypto)
        let writes = backend.transactions.writes
        let audit = backend.audit
        try await writes.write { db in
            var chain = try audit.chain(db)
            for i in 2...98 { try chain.append(actor: .system, action: "test.noop", object: "n:\(i)") }
        }
        let (gate, blocker) = try await Self.holdWriter(writes)
        let before = writes.statistics.transactions
        let refused = Task {
            try await writes.write { db in
                var chain = try audit.chain(db)
                for i in 99...100 { try chain.append(actor: .system, action: "test.noop", object: "refused:\(i)") }
                throw Refused()
            }
        }
        while writes.waiting < 1 { try await Task.sleep(for: .milliseconds(5)) }
        let stayed = Task {
            try await writes.write { db -> Int in
                var chain = try audit.chain(db)
                for i in 99...201 { try chain.append(actor: .system, action: "test.noop", object: "stayed:\(i)") }
                return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_checkpoints") ?? -1
            }
        }
        while writes.waiting < 2 { try await Task.sleep(for: .milliseconds(5)) }
        gate.signal()
        try await blocker.value
        await #expect(throws: Refused.self) { try await refused.value }
        #expect(try await stayed.value == 0, "none is stored while the units run")
        #expect(writes.statistics.transactions == before + 2, "the two units shared one transaction")
        let stored = try await backend.transactions.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT c.size, c.head = r.hash FROM audit_checkpoints c JOIN audit_records r ON r.seq = c.size")
                .map { (size: $0[0] as Int64, matches: $0[1] as Bool) }
        }
        #expect(stored.map(\.size) == [100, 200])
        #expect(stored.allSatisfy { $0.matches }, "each head is the record at its size")
        let lines = try String(contentsOf: dir.dataDirectory.checkpointFile, encoding: .utf8).split(separator: "\n")
        #expect(try lines.map { try JSONDecoder().decode(AuditCheckpoint.self, from: Data($0.utf8)).size } == [100, 200])
        #expect(try AuditVerifier.verify(reader: backend.transactions.pool, suite: backend.suite, checkpointFile: dir.dataDirectory.checkpointFile).ok)
    }
}

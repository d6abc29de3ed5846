import Foundation
import GRDB
import Testing
@testable import MaShangBan
import MaShangBanTestSupport

@Suite("The running server's chain check: in pages, cached for the head it checked")
struct AuditTrailTests {
    @Test func pagesGiveTheSameAnswerAsOneReadAndTheCacheFollowsTheHead() async throws {
        let dir = try TemporaryDirectory()
        let backend = try openBackend(dir)
        let audit = backend.audit
        try await backend.transactions.pool.write { db in
            var chain = try audit.chain(db)
            for i in 2...250 { try chain.append(actor: .system, action: "test.noop", object: "n:\(i)") }
        }
        // Pages of 7 records: 250 is no multiple of 7, and checkpoints at 100 and 200 fall inside pages.
        let trail = AuditTrail(transactions: backend.transactions, audit: backend.audit, suite: backend.suite, checkpointFile: dir.dataDirectory.checkpointFile, pageSize: 7)
        let whole = try AuditVerifier.verify(reader: backend.transactions.pool, suite: backend.suite, checkpointFile: dir.dataDirectory.checkpointFile)
        #expect(try await trail.hasCachedResult == false)
        let paged = try await trail.verify()
        #expect(paged == whole)
        #expect(paged.ok && paged.size == 250)
        #expect(try await trail.hasCachedResult)

        // A record added: the head moved, the cached answer no longer counts.
        _ = try await backend.transactions.pool.write { db in try audit.append(db, actor: .system, action: "test.noop", object: "n:251") }
        #expect(try await trail.hasCachedResult == false)
        #expect(try await trail.verify().size == 251)

        // Tampering behind the head shows at the next check after the head moves.
        try await backend.transactions.pool.write { db in
            try db.execute(sql: "DROP TRIGGER audit_records_no_update")
            try db.execute(sql: "UPDATE audit_records SET object = 'n:x' WHERE seq = 150")
        }
        _ = try await backend.transactions.pool.write { db in try audit.append(db, actor: .system, action: "test.noop", object: "n:252") }
        let broken = try await trail.verify()
        #expect(broken.ok == false)
        #expect(broken.firstBadSeq == 150)
        #expect(broken == (try AuditVerifier.verify(reader: backend.transactions.pool, suite: backend.suite,
                                                    checkpointFile: dir.dataDirectory.checkpointFile)))
    }

    @Test func entriesComeInPagesWithTheNextCursor() async throws {
        let dir = try TemporaryDirectory()
        let backend = try openBackend(dir)
        let audit = backend.audit
        try await backend.transactions.pool.write { db in
            for i in 2...5 { _ = try audit.append(db, actor: .system, action: "test.noop", object: "n:\(i)") }
        }
        let first = try await backend.services.auditTrail.entries(after: 0, limit: 3)
        #expect(first.entries.map(\.seq) == [1, 2, 3])
        #expect(first.next == 3)
        let last = try await backend.services.auditTrail.entries(after: 3, limit: 3)
        #expect(last.entries.map(\.seq) == [4, 5])
        #expect(last.next == nil)
    }
}

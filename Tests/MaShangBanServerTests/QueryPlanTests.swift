import Foundation
import GRDB
import HummingbirdTesting
@_spi(Demo) @testable import MaShangBan
import Testing
@testable import MaShangBanServer
import MaShangBanTestSupport

/// Issue 7, scale: what the hot paths ask SQLite must stay an index lookup as the data
/// grows. The flows run for real (consent, code, scan, claim, cancel, delivery), then every
/// statement the writer connection prepared is read back from SQLite's own `sqlite_stmt`
/// table and its `EXPLAIN QUERY PLAN` checked: a full scan of a table that grows with use fails.
@Suite struct QueryPlanTests {
    /// Tables that grow with licences, people and traffic.
    static let growing: Set<String> = [
        "licences", "wallet_entries", "consents", "consent_licences", "presentations", "submissions", "outbox", "scans",
        "audit_records", "audit_checkpoints", "face_auth_challenges", "window_sessions", "agent_authorisations", "holder_sessions",
        "clients", "visits", "visit_officials", "visit_events", "visit_ratings", "notices", "appointments", "officials", "filings",
        "protected_enterprises", "questions", "question_events", "question_alerts", "question_ratings",
    ]

    /// Every name above is a table the migrations make (a renamed table would otherwise drop
    /// out of the check unnoticed).
    @Test func theGrowingTablesExist() async throws {
        let server = try TestServer()
        let tables = try await server.backend.transactions.pool.read { db in
            Set(try String.fetchAll(db, sql: "SELECT name FROM sqlite_schema WHERE type = 'table'"))
        }
        #expect(Self.growing.subtracting(tables).isEmpty, "not tables: \(Self.growing.subtracting(tables).sorted())")
    }

    /// A plan line that reads a whole growing table (`SCAN t`, not `SCAN t USING ... INDEX`).
    static func fullScan(_ detail: String) -> String? {
        guard let match = detail.wholeMatch(of: /SCAN (\w+)( AS \w+)?/) else { return nil }
        let table = String(match.1)
        return growing.contains(table) ? table : nil
    }

    @Test func theFullScanCheckSeesAFullScan() {
        #expect(Self.fullScan("SCAN licences") == "licences")
        #expect(Self.fullScan("SCAN s") == nil)
        #expect(Self.fullScan("SCAN outbox USING INDEX outbox_by_due") == nil)
        #expect(Self.fullScan("SEARCH licences USING INDEX sqlite_autoindex_licences_1 (id=?)") == nil)
    }

    /// Warm snapshots off: scans and claims work out their disclosures on the writer, whose
    /// statements are read back below (a snapshot runs the same ones, and is gone soon after).
    @Test func hotQueriesUseIndexes() async throws {
        let server = try TestServer { $0.backend.warmSnapshots = nil }
        try await server.test { client in
            let hall = try await Hall.open(client)
            for _ in 0..<3 { _ = try await hall.submit() }
            let consent = try await hall.consent()
            let code = try await hall.present(consent)
            #expect(try await client.call(.delete, "/v1/presentations/\(code.id)", token: hall.app).status == .noContent)
            let session = try await hall.openSession()
            #expect(try await hall.claim(session.token, consent: consent).status == .ok)
            _ = try await hall.scan("not-a-token")  // a refusal is a write too
            // 赋码入企: apply, book, approve, draw the code, enter and leave, and a red entry.
            let world = try await Visiting.open(client, now: { Date() })
            let today = CalendarDate(Date())
            #expect(try await client.call(.post, "/v1/units/hy-safety/filings", json: #"""
                {"year":\#(today.text.prefix(4)),"enterprise":"\#(Visiting.enterprise)","type":"inspection","count":3}
                """#).status == .created)
            let visit = try #require(try await world.apply(from: today.text, until: today.adding(days: 3).text, dates: [today.text])
                .json()["id"] as? String)
            #expect(try await world.book(visit, date: today.text).status == .ok)
            #expect(try await world.approve(visit).status == .ok)
            let token = try #require(try await world.code(visit)["token"] as? String)
            #expect(try await world.scan(token).status == .ok)
            #expect(try await world.scan(token, event: "exit").status == .ok)
            let red = try #require(try await world.apply(Visiting.fire, officials: ["f1", "f2"], from: today.text, until: today.text, dates: nil).json()["id"] as? String)
            #expect(try await world.scan(try #require(try await world.code(red, unit: Visiting.fire)["token"] as? String)).status == .ok)
            // 码上问: ask, accept, answer, and the sweeper's queries (run on the writer).
            let asked = try await client.call(.post, "/v1/questions", token: world.door,
                                              json: #"{"unit":"hy-safety","category":"x","title":"问题","body":"内容"}"#)
            let question = try #require(try asked.json()["id"] as? String)
            #expect(try await client.call(.post, "/v1/questions/\(question)/accept", token: world.token(Visiting.safety),
                                          json: #"{"opinion":"受理","handler":"张三"}"#).status == .ok)
            #expect(try await client.call(.post, "/v1/questions/\(question)/complete", token: world.token(Visiting.safety),
                                          json: #"{"answer":"答复"}"#).status == .ok)
            _ = try await server.backend.services.questions.sweep()
        }
        // The delivery worker's polls run on reader connections: run them on the writer as well,
        // so that they are among the statements read back.
        let pool = server.backend.transactions.pool
        var statements = try await pool.writeWithoutTransaction { db -> [String] in
            _ = try SubmissionStore.due(limit: Deliveries.pollLimit, at: Date(), db)
            _ = try SubmissionStore.nextDue(excluding: [], db)
            return try String.fetchAll(db, sql: "SELECT sql FROM sqlite_stmt WHERE run > 0")
        }
        // Every pool reader's statements too, each reader held until all are (so that each is visited once).
        let readers = Storage.maximumReaders
        let arrived = Locked(0)
        statements += try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<readers {
                group.addTask {
                    try await pool.read { db in
                        arrived.withLock { $0 += 1 }
                        let deadline = Date().addingTimeInterval(5)
                        while arrived.withLock({ $0 }) < readers, Date() < deadline { usleep(1000) }
                        return try String.fetchAll(db, sql: "SELECT sql FROM sqlite_stmt WHERE run > 0")
                    }
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(statements.contains { $0.contains("FROM consent_licences JOIN licences") }, "a scan's reads are among them")
        var plans: [String: [String]] = [:]
        for sql in Set(statements) where !sql.contains("sqlite_stmt") {
            plans[sql] = try await pool.read { db in
                let explain = try db.makeStatement(sql: "EXPLAIN QUERY PLAN " + sql)
                explain.setUncheckedArguments([])  // placeholders stay unbound: the plan does not depend on them
                return try Row.fetchAll(explain).map { $0["detail"] as String }
            }
        }
        let touched = plans.keys.filter { sql in Self.growing.contains { sql.contains(" \($0)") } }
        #expect(touched.count >= 20, "the flows should have prepared the hot statements; saw \(touched.count)")
        for (sql, plan) in plans.sorted(by: { $0.key < $1.key }) {
            let scanned = plan.compactMap(Self.fullScan)
            // The audit chain head: a reverse walk of the rowid that stops at the first row.
            let boundedWalk = sql.contains("ORDER BY seq DESC LIMIT 1")
            #expect(scanned.isEmpty || boundedWalk, "full scan of \(scanned) by: \(sql) — plan: \(plan)")
            // Sorting what an index search found means reading all of it first (the delivery
            // worker's polls once did: every pending submission, for a LIMIT of 64).
            // A holder's wallet may be sorted (a reader's wallet sync: a handful of licences).
            let oneWallet = plan.contains {
                $0.hasPrefix("SEARCH w USING INDEX sqlite_autoindex_wallet_entries_1") && $0.hasSuffix("(holder_ref=?)")
            }
            #expect(!plan.contains { $0.hasPrefix("USE TEMP B-TREE") } || oneWallet, "sorts rows of a growing table: \(sql) — plan: \(plan)")
            // Every scan and claim reads its consent's licences in order from one index alone.
            if sql.contains("FROM consent_licences JOIN licences") {
                #expect(plan.contains("SEARCH consent_licences USING COVERING INDEX consent_licences_in_order (consent_id=?)"), "\(plan)")
            }
        }
    }

    /// 码上查: a search is one FTS5 index query (words and filters intersected there) and
    /// primary-key lookups of `policies`; only the ranked search sorts (its matches, by bm25),
    /// and only the unfiltered listing walks `policies` itself (newest first, to the page's end).
    @Test func policySearchesAreIndexQueries() async throws {
        let server = try TestServer()
        let lines = (0..<30).map { i in
            #"{"id":"p-\#(i)","title":"技术改造奖补第\#(i)号","body":"对设备投资给予补助。","industries":["C"],"regions":["430400"],"#
                + #""valid_from":"2026-01-01","benefit":"见正文"}"#
        }
        _ = try await server.backend.services.policies.publish(ndjson: Array(lines.joined(separator: "\n").utf8), by: AuditActor.system)
        let day = CalendarDate("2026-06-01")
        let shapes: [(words: [String], filter: PolicyStore.Filter)] = [
            (["技术改造", "设备投资"], .init(industries: [], regions: ["430000", "430400", "430405"], scale: nil, validOn: nil)),
            (["技术改造"], .init(industries: ["C", "C1"], regions: [], scale: "small", validOn: day)),
            (["技术改造"], .init(industries: [], regions: [], scale: nil, validOn: nil)),
            (["改造"], .init(industries: ["C"], regions: [], scale: nil, validOn: nil)),
            ([], .init(industries: ["C"], regions: ["430400"], scale: "small", validOn: day)),
            ([], .init(industries: [], regions: [], scale: nil, validOn: nil)),
        ]
        let statements = try await server.backend.transactions.pool.read { db -> [String] in
            var seen: [String] = []
            db.trace { event in if case .statement(let statement) = event { seen.append(statement.sql) } }
            for shape in shapes {
                let first = try PolicyStore.search(words: shape.words, filter: shape.filter, after: nil, limit: 11, db)
                #expect(!first.isEmpty, "\(shape.words) finds the policies")
                _ = try PolicyStore.search(words: shape.words, filter: shape.filter, after: first.last?.cursor, limit: 11, db)
            }
            db.trace(options: [])
            return seen
        }
        let ours = Set(statements).filter { !$0.hasPrefix("--") && !$0.contains("'main'.") }  // not FTS5's own, on its tables
        #expect(ours.count >= 7, "the shapes above: \(ours)")
        for sql in ours {
            let plan = try await server.backend.transactions.pool.read { db in
                let explain = try db.makeStatement(sql: "EXPLAIN QUERY PLAN " + sql)
                explain.setUncheckedArguments([])
                return try Row.fetchAll(explain).map { $0["detail"] as String }
            }
            let unfiltered = !sql.contains("MATCH") && sql.contains("ORDER BY p.rowid DESC LIMIT")
            for line in plan where line.hasPrefix("SCAN") {
                #expect(line.hasPrefix("SCAN policies_fts VIRTUAL TABLE") || (unfiltered && line == "SCAN p"), "\(sql) — plan: \(plan)")
            }
            #expect(!plan.contains { $0.hasPrefix("USE TEMP B-TREE") } || sql.contains("bm25("), "sorts: \(sql) — plan: \(plan)")
        }
    }
}

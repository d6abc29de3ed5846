import Foundation
import GRDB
@testable import MaShangBan
import Testing

/// 码上查's index: each filter value is one token of its own in the FTS5 `tags` column, the
/// snippet marks every word, and migration 19 moves stored policies into the new index.
@Suite("Policy index")
struct PolicyIndexTests {
    typealias Tag = PolicyStore.Tag

    @Test func everyValueHasATokenOfItsOwn() throws {
        let values = ["*", "0", "00", "000", "A", "A0", "C", "C1", "C13", "C131", "C1310", "T9999", "430400", "430405", "999999", "000000",
                      "micro", "small", "medium", "large"]
        var seen: [String: String] = [:]
        for tag in [Tag.industry, .region, .scale] {
            for value in values {
                let token = try tag.token(value)
                #expect(token.unicodeScalars.count == 3 && token.unicodeScalars.allSatisfy { (0xF0000...0xFFFFD).contains($0.value) })
                #expect(seen.updateValue("\(tag) \(value)", forKey: token) == nil, "\(tag) \(value) shares a token")
            }
        }
        #expect(throws: InternalError.self) { try Tag.region.token("4304051") }
        #expect(throws: InternalError.self) { try Tag.scale.token("mi cro") }
        #expect(try Tag.column(industries: [], regions: ["430405", "430406"], scales: []) ==
                [try Tag.industry.token("*"), try Tag.region.token("430405"), try Tag.region.token("430406"), try Tag.scale.token("*")]
                    .joined(separator: " "))
    }

    @Test func theQueryAsksForTheWordsInTextAndEachFilterOrEvery() throws {
        let filter = PolicyStore.Filter(industries: ["C", "C1"], regions: [], scale: "small", validOn: nil)
        let match = try PolicyStore.match(words: ["技术改造", #"a"b"#], filter: filter)
        #expect(match == #""技术改造" AND "a""b" AND "#
                + "(tags : \"\(try Tag.industry.token("C"))\" OR tags : \"\(try Tag.industry.token("C1"))\" OR tags : \"\(try Tag.industry.token("*"))\")"
                + " AND (tags : \"\(try Tag.scale.token("small"))\" OR tags : \"\(try Tag.scale.token("*"))\")")
        #expect(try PolicyStore.match(words: [], filter: .init(industries: [], regions: [], scale: nil, validOn: CalendarDate("2026-01-01"))) == nil)
        let lookalike = try Tag.region.token("430405")
        #expect(try PolicyStore.match(words: [lookalike], filter: filter)?.hasPrefix("{title body} : \"\(lookalike)\" AND ") == true,
                "a word that could be a tag is sought in title and body only")
    }

    @Test func theSnippetMarksEveryWordAroundTheFirstInTheBody() {
        let body = "根据市人民政府工作部署，为推动制造业高质量发展，对规模以上工业企业实施技术改造项目的，按设备投资额的百分之十给予补助，单个项目最高补助五百万元，技术改造完成后验收。"
        let snippet = PolicyStore.snippet(title: "关于技术改造的通知", body: body, words: ["设备投资", "技术改造"])
        #expect(snippet == "…，为推动制造业高质量发展，对规模以上工业企业实施<mark>技术改造</mark>项目的，按<mark>设备投资</mark>额的百分之十给予补助，单个项目…")
        #expect(PolicyStore.snippet(title: "中小企业若干措施", body: "对小微企业给予贴息。", words: ["中小企业"]) == "<mark>中小企业</mark>若干措施",
                "only the title has it")
        #expect(PolicyStore.snippet(title: "SaaS 上云补贴", body: "企业购买saas服务", words: ["SAAS"]) == "企业购买<mark>saas</mark>服务",
                "letters match as the trigram index matches them, whatever their case")
        #expect(PolicyStore.snippet(title: "École", body: "ÉCOLE et école", words: ["écOLE"]) == "<mark>ÉCOLE</mark> et <mark>école</mark>")
        #expect(PolicyStore.snippet(title: "t", body: "b", words: []) == nil)
        #expect(PolicyStore.snippet(title: "t", body: "b", words: ["x"]) == nil)
    }

    /// Policies stored under migration 18 (with `policy_tags`) are found through the new index
    /// with their filters after migration 19; a withdrawn one is not.
    @Test func migration19IndexesTheStoredPolicies() throws {
        let queue = try DatabaseQueue(configuration: Storage.configuration())
        try Storage.migrator.migrate(queue, upTo: "0018_policies")
        try queue.write { db in
            try db.execute(sql: """
                INSERT INTO policies (id, title, body, unit, industries, regions, scales, valid_from, benefit, created_at, updated_at, withdrawn_at)
                VALUES ('p-mfg', '制造业技术改造奖补', '对技术改造项目给予设备投资补助。', NULL, '["C"]', '["430400"]', '[]', '2026-01-01', '见正文', 't', 't', NULL),
                       ('p-old', '技术改造旧政策', '已撤回。', NULL, '[]', '[]', '[]', '2026-01-01', '见正文', 't', 't', 't');
                INSERT INTO policies_fts (rowid, title, body) SELECT rowid, title, body FROM policies WHERE withdrawn_at IS NULL;
                INSERT INTO policy_tags (kind, value, policy) VALUES ('industry', 'C', 1), ('region', '430400', 1), ('scale', '*', 1);
                """)
        }
        try Storage.migrator.migrate(queue)
        let find = { (words: [String], industries: [String], regions: [String]) throws -> [String] in
            try queue.read { db in
                try PolicyStore.search(words: words, filter: .init(industries: industries, regions: regions, scale: nil, validOn: nil),
                                       after: nil, limit: 10, db).map(\.hit.policy.id)
            }
        }
        #expect(try find(["技术改造"], [], []) == ["p-mfg"])
        #expect(try find(["技术改造"], ["C", "C1", "C13"], ["430000", "430400", "430405"]) == ["p-mfg"])
        #expect(try find(["技术改造"], ["I"], []).isEmpty)
        #expect(try find([], [], ["430000", "430500", "430511"]).isEmpty)
        #expect(try find(["改造"], ["C"], []) == ["p-mfg"], "the short-word path with a filter")
        #expect(try find([try Tag.region.token("430400")], [], []).isEmpty, "a filter's token is no word of a policy")
        #expect(try queue.read { try String.fetchAll($0, sql: "SELECT name FROM sqlite_schema WHERE name = 'policy_tags'") }.isEmpty)
    }

    /// `msb_bm25` scores every row as FTS5's own `bm25()` with the same weights, on the first
    /// query (counting rows, reading lengths) and the next (remembered), and again after
    /// policies change the index: added, and replaced so that the index keeps its number of
    /// rows and tokens while words and lengths move between rows.
    @Test func theRankIsFTS5sBM25() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("rank-\(UUID().uuidString).sqlite")
        defer { try? FileManager.default.removeItem(at: file) }
        let queue = try DatabaseQueue(path: file.path, configuration: Storage.configuration())
        try Storage.migrator.migrate(queue)
        let phrases = ["技术改造", "设备投资", "中小企业", "贷款贴息", "人才引进", "SaaS"]
        func publish(_ range: Range<Int>, shift: Int = 0, extra: (Int) -> Int = { _ in 0 }) throws {
            try queue.write { db in
                for i in range {
                    let pick = { (k: Int) in phrases[(i * 7 + k * 3 + shift) % phrases.count] }
                    let policy = Policy(id: "p-\(i)", title: pick(0) + "政策第\(i)号",
                                        body: (0..<(i % 5 + 1 + extra(i))).map { pick($0 + 1) }.joined(separator: "，"),
                                        unit: nil, industries: i % 2 == 0 ? ["C"] : [], regions: [], scales: [], validFrom: CalendarDate("2026-01-01")!,
                                        validUntil: nil, benefit: "见正文", createdAt: Timestamp(Date()))
                    _ = try PolicyStore.upsert(policy, db)
                }
            }
        }
        func compare(_ words: [String], filter: String = "") throws {
            let match = try PolicyStore.match(words: words, filter: .init(industries: filter.isEmpty ? [] : [filter], regions: [], scale: nil, validOn: nil))
            let rows = try queue.read { db in
                let generation = try Int64.fetchOne(db, sql: "SELECT generation FROM policy_index_generation") ?? -1
                return try Row.fetchAll(db, sql: """
                    SELECT bm25(policies_fts, 10.0, 1.0, 0.0) AS theirs, msb_bm25(policies_fts, ?\(String(repeating: ", ?", count: words.count))) AS ours
                    FROM policies_fts WHERE policies_fts MATCH ?
                    """, arguments: StatementArguments([generation] + words + [match]))
            }
            #expect(!rows.isEmpty, "\(words) \(filter) matches")
            for row in rows {
                let (theirs, ours): (Double, Double) = (row["theirs"], row["ours"])
                #expect(abs(theirs - ours) <= 1e-9 * max(1, abs(theirs)), "\(words): bm25 \(theirs), msb_bm25 \(ours)")
            }
        }
        try publish(0..<40)
        for _ in 0..<2 {
            try compare(["技术改造"])
            try compare(["技术改造", "贷款贴息"])
            try compare(["saas"], filter: "C")
        }
        try publish(40..<45)
        try compare(["技术改造"])
        try compare(["技术改造", "贷款贴息"])
        let size = { try queue.read { db in try Row.fetchOne(db, sql: "SELECT count(*) AS n, sum(length(title) + length(body)) AS chars FROM policies") } }
        let before = try size()
        try publish(1..<3, shift: 1, extra: { $0 == 1 ? -1 : 1 })
        #expect(try size() == before, "the index holds as many rows and tokens as before")
        try compare(["技术改造"])
        try compare(["技术改造", "贷款贴息"])
    }
}

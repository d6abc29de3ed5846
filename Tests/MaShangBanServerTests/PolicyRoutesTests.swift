import Foundation
import Hummingbird
import HummingbirdTesting
@testable import MaShangBan
import MaShangBanTestSupport
import Testing
@testable import MaShangBanServer

/// 惠企政策 码上查: Chinese full-text hits over the trigram index, each filter, paging, the
/// short-query path, publishing and withdrawing by their owners, and an enterprise's profile.
@Suite("Policies (码上查)")
struct PolicyRoutesTests {
    static func policy(_ id: String, _ title: String, _ body: String, unit: String? = nil, industries: [String] = [],
                       regions: [String] = [], scales: [String] = [], until: String? = nil) -> String {
        var members: [String: JSONValue] = ["id": .string(id), "title": .string(title), "body": .string(body), "benefit": "见正文",
                                            "industries": .array(industries.map(JSONValue.string)), "regions": .array(regions.map(JSONValue.string)),
                                            "enterprise_scales": .array(scales.map(JSONValue.string)), "valid_from": "2026-01-01"]
        if let unit { members["unit"] = .string(unit) }
        if let until { members["valid_until"] = .string(until) }
        return JSONValue.object(members).canonicalString
    }

    static let catalogue = [
        policy("p-sme", "衡阳市支持中小企业发展的若干政策措施", "对小微企业给予贷款贴息，对首次升规的企业给予奖励。", scales: ["micro", "small"]),
        policy("p-mfg", "关于促进制造业高质量发展的实施意见", "对制造业企业技术改造项目给予设备投资额百分之十的补助。", industries: ["C"]),
        policy("p-tech", "高新技术企业认定奖励办法", "首次认定的高新技术企业奖励二十万元。", industries: ["I", "M"], regions: ["430405"]),
        policy("p-old", "二〇二六年稳岗返还政策", "对不裁员或少裁员的企业返还失业保险费。", until: "2026-12-31"),
    ]

    func ids(_ response: TestResponse) throws -> [String] {
        try (response.json()["policies"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
    }

    @Test func fullTextFiltersAndTheShortQueryPath() async throws {
        let clock = TestClock()
        try await TestServer(configure: { $0.backend.rateLimits = .unlimited }, now: clock.now).test { client in
            let world = try await Visiting.open(client, now: clock.now)
            for policy in Self.catalogue { #expect(try await client.call(.post, "/v1/policies", json: policy).status == .created) }
            let search = { (query: String) in try await client.call(.get, "/v1/policies?" + query, token: world.door) }
            // Chinese full text: one word, two words (both must match), none.
            let one = try await search("q=%E4%B8%AD%E5%B0%8F%E4%BC%81%E4%B8%9A")  // 中小企业
            #expect(try ids(one) == ["p-sme"])
            #expect(((try one.json()["policies"] as? [[String: Any]])?.first?["snippet"] as? String)?.contains("<mark>中小企业</mark>") == true,
                    "the snippet comes from the column that matched: here the title")
            let two = try await search("q=" + "制造业 技术改造".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
            #expect(try ids(two) == ["p-mfg"])
            #expect(try ids(try await search("q=" + "制造业".addingPercentEncoding(withAllowedCharacters: .alphanumerics)! + "+"
                                             + "技术改造".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)) == ["p-mfg"],
                    "a form-encoded space")
            #expect(((try two.json()["policies"] as? [[String: Any]])?.first?["snippet"] as? String)?.contains("<mark>技术改造</mark>") == true)
            #expect(try ids(try await search("q=" + "贷款贴息 高新技术".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)).isEmpty)
            // Filters: industry (a policy for section C covers C1310; none listed covers all), region, scale, validity.
            #expect(Set(try ids(try await search("industry=C1310"))) == ["p-sme", "p-mfg", "p-old"])
            #expect(Set(try ids(try await search("region=430405"))) == ["p-sme", "p-mfg", "p-tech", "p-old"])
            #expect(!(try ids(try await search("region=430407"))).contains("p-tech"))
            #expect(!(try ids(try await search("scale=large"))).contains("p-sme"))
            #expect(!(try ids(try await search("valid_on=2027-02-01"))).contains("p-old"))
            #expect(try ids(try await search("q=%E4%BC%81%E4%B8%9A&industry=I6510&region=430405&scale=small")) == ["p-old", "p-tech", "p-sme"],
                    "企业 (two characters) with every filter: LIKE, newest first")
            let short = try await search("q=%E4%BC%81%E4%B8%9A")  // 企业
            #expect(try ids(short) == ["p-old", "p-tech", "p-mfg", "p-sme"], "newest first")
            #expect(((try short.json()["policies"] as? [[String: Any]])?.first?["snippet"] as? String)?.contains("<mark>企业</mark>") == true)
            try await search("scale=huge").expectProblem(422, "validation_failed")
            try await search("after=nonsense").expectProblem(422, "validation_failed")
        }
    }

    @Test func pagesFollowTheirCursor() async throws {
        try await TestServer(configure: { $0.backend.rateLimits = .unlimited }).test { client in
            var batch = ""
            for i in 0..<25 { batch += Self.policy("p-\(i)", "科技创新专项政策第\(i)号", "支持企业科技创新投入，第\(i)项。") + "\n" }
            batch += "{\"id\":\"bad\"}\n"
            let loaded = try await client.call(.post, "/v1/policies:batch", json: batch).json()
            #expect(loaded["accepted"] as? Int == 25 && loaded["rejected_count"] as? Int == 1)
            for query in ["q=" + "科技创新".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!, "industry=C"] {
                var (seen, after, pages) = ([String](), "", 0)
                repeat {
                    let page = try await client.call(.get, "/v1/policies?\(query)&limit=10" + (after.isEmpty ? "" : "&after=\(after)")).json()
                    seen += (page["policies"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
                    after = page["next"] as? String ?? ""
                    pages += 1
                } while !after.isEmpty && pages < 10
                #expect(pages == 3 && seen.count == 25 && Set(seen).count == 25, "\(query): every policy once, in three pages")
            }
        }
    }

    @Test func publishersKeepToTheirOwnAndEnterprisesToTheirProfile() async throws {
        let clock = TestClock()
        try await TestServer(configure: { $0.backend.rateLimits = .unlimited }, now: clock.now).test { client in
            let world = try await Visiting.open(client, now: clock.now)
            let (safety, fire) = (world.token(Visiting.safety), world.token(Visiting.fire))
            let mine = Self.policy("p-safety", "安全生产标准化奖补", "对达标企业给予奖补。", industries: ["C"], regions: ["430400"], scales: ["small"])
            let published = try await client.call(.post, "/v1/policies", token: safety, json: mine)
            #expect(published.status == .created)
            #expect(try published.json()["unit"] as? String == Visiting.safety, "a unit publishes as itself")
            try await client.call(.post, "/v1/policies", token: fire, json: mine).expectProblem(403, "forbidden")
            try await client.call(.post, "/v1/policies", token: fire, json: Self.policy("p-x", "x政策", "x", unit: Visiting.safety))
                .expectProblem(403, "forbidden")
            try await client.call(.post, "/v1/policies", json: Self.policy("p-y", "y政策", "y", unit: "nope")).expectProblem(422, "unit_unknown")
            try await client.call(.post, "/v1/policies", token: world.door, json: mine).expectProblem(403, "forbidden")
            #expect(try await client.call(.post, "/v1/policies", token: safety, json: mine).status == .ok, "published again: replaced")
            try await client.call(.delete, "/v1/policies/p-safety", token: fire).expectProblem(404, "not_found")
            // The enterprise's profile decides what it qualifies for.
            try await client.call(.get, "/v1/enterprise/policies", token: world.door).expectProblem(409, "profile_missing")
            try await client.call(.put, "/v1/enterprise/profile", token: world.door, json: #"{"industry":"C13","region":"430405","scale":"huge"}"#)
                .expectProblem(422, "validation_failed")
            #expect(try await client.call(.put, "/v1/enterprise/profile", token: world.door,
                                          json: #"{"industry":"C1310","region":"430405","scale":"small"}"#).status == .ok)
            #expect(try ids(try await client.call(.get, "/v1/enterprise/policies", token: world.door)) == ["p-safety"])
            #expect(try await client.call(.put, "/v1/enterprise/profile", token: world.door,
                                          json: #"{"industry":"I6510","region":"430405","scale":"small"}"#).status == .ok)
            #expect(try ids(try await client.call(.get, "/v1/enterprise/policies", token: world.door)).isEmpty, "not manufacturing")
            #expect(try await client.call(.delete, "/v1/policies/p-safety", token: safety).status == .noContent)
            #expect(try ids(try await client.call(.get, "/v1/policies?industry=C1310")).isEmpty, "withdrawn")
            try await client.call(.delete, "/v1/policies/p-safety", token: safety).expectProblem(404, "not_found")
        }
    }
}

import Foundation
@_spi(Demo) import MaShangBan

/// 码上查's bench corpus: policies written from a vocabulary of policy phrases, each title and
/// body a different draw (a fixed generator, so every run searches the same text), for
/// industries, regions and scales drawn the same way; and the queries the bench sends.
enum PolicyCorpus {
    static let phrases = [
        "技术改造", "设备投资", "贷款贴息", "中小企业", "高新技术企业", "研发费用", "人才引进", "稳岗返还", "出口信用保险", "首次升规",
        "智能制造", "数字化转型", "工业互联网", "绿色低碳", "节能改造", "专精特新", "小微企业", "融资担保", "创业补贴", "知识产权",
        "品牌建设", "招商引资", "总部经济", "物流降本", "冷链设施", "农产品加工", "乡村振兴", "文旅消费", "安全生产", "标准化建设",
        "房租减免", "社保补贴", "职业技能培训", "产学研合作", "科技成果转化", "首台套", "新材料", "电子信息", "生物医药", "装配式建筑",
    ]
    static let connectives = ["对", "支持", "鼓励", "给予", "按照", "根据", "符合条件的", "经认定的", "新增", "奖励"]
    static let regions = ["430400", "430405", "430406", "430407", "430408", "430412", "430421", "430422"]
    static let sections = ["A", "C", "E", "F", "G", "H", "I", "M"]
    static let scales = ["micro", "small", "medium", "large"]
    /// Two words each (both through the trigram index), with a region filter.
    static let queries = [("技术改造 设备投资", "430405"), ("中小企业 贷款贴息", "430406"), ("数字化转型 工业互联网", "430407"),
                          ("人才引进 研发费用", "430408")]

    /// Each query as a request path, percent-encoded.
    static var paths: [String] {
        queries.map { words, region in
            "/v1/policies?q=\(words.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")&region=\(region)&limit=20"
        }
    }

    /// A linear congruential generator: the same corpus every run.
    struct Draw {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
    }

    static func line(_ i: Int, _ draw: inout Draw) -> String {
        let title = (0..<3).map { _ in phrases[draw.next(phrases.count)] }.joined() + "若干措施（第\(i)号）"
        var body = ""
        for _ in 0..<6 { body += connectives[draw.next(connectives.count)] + phrases[draw.next(phrases.count)] + "，" }
        let members: [String: JSONValue] = [
            "id": .string("bench-\(i)"), "title": .string(title), "body": .string(body + "按规定给予支持。"),
            "industries": .array(draw.next(3) == 0 ? [] : [.string(sections[draw.next(sections.count)])]),
            "regions": .array([.string(regions[draw.next(regions.count)])]),
            "enterprise_scales": .array(draw.next(2) == 0 ? [] : [.string(scales[draw.next(scales.count)])]),
            "valid_from": "2025-01-01", "benefit": "见正文",
        ]
        return JSONValue.object(members).canonicalString
    }

    /// Publishes `count` policies through the library, 10,000 to a transaction.
    static func publish(_ count: Int, backend: Backend) async throws {
        var draw = Draw(state: 20_261_204)
        var start = 0
        while start < count {
            let end = min(count, start + 10_000)
            let body = (start..<end).map { line($0, &draw) }.joined(separator: "\n")
            _ = try await backend.services.policies.publish(ndjson: Array(body.utf8), by: .system)
            start = end
        }
    }
}

import Foundation
@_spi(Demo) import MaShangBan

/// `serve --demo`, 码上查: 200 policies of the kinds a city publishes for enterprises —
/// subsidies, loans, tax, talent, technology, exports — each for some industries (GB/T 4754
/// sections), regions (the city or one of its districts) and scales, published by the admin
/// or the 应急管理局.
extension Demo {
    struct PolicyTheme {
        let title: String
        let body: String
        let benefit: String
        let industries: [String]
        let scales: [String]
    }

    static let policyThemes = [
        PolicyTheme(title: "支持中小企业发展的若干政策措施", body: "对小微企业新增贷款给予贴息，对首次升规的中小企业给予一次性奖励，减免部分行政事业性收费。",
                    benefit: "贷款贴息最高50万元；升规奖励10万元", industries: [], scales: ["micro", "small", "medium"]),
        PolicyTheme(title: "促进制造业高质量发展的实施意见", body: "对制造业企业技术改造项目按设备投资额给予补助，支持智能制造示范工厂建设。",
                    benefit: "技改补助设备投资额的10%", industries: ["C"], scales: []),
        PolicyTheme(title: "高新技术企业认定奖励办法", body: "对首次认定的高新技术企业给予奖励，对研发费用加计扣除后仍有增量的企业给予后补助。",
                    benefit: "首次认定奖励20万元", industries: ["C", "I", "M"], scales: []),
        PolicyTheme(title: "稳岗就业扶持政策", body: "对不裁员或少裁员的企业返还失业保险费，对吸纳高校毕业生就业的企业给予一次性吸纳就业补贴。",
                    benefit: "返还上年度失业保险费的50%", industries: [], scales: []),
        PolicyTheme(title: "外贸企业出口信用保险补贴", body: "对投保出口信用保险的外贸企业给予保费补贴，支持企业开拓国际市场参加境外展会。",
                    benefit: "保费补贴50%", industries: ["C", "F"], scales: ["small", "medium", "large"]),
        PolicyTheme(title: "建筑业企业资质升级奖励", body: "对首次取得施工总承包一级资质的建筑业企业给予奖励，支持装配式建筑项目。",
                    benefit: "资质升级奖励30万元", industries: ["E"], scales: []),
        PolicyTheme(title: "数字经济产业扶持办法", body: "对软件和信息技术服务企业上云用数给予补助，支持工业互联网平台和数据中心建设。",
                    benefit: "上云补助最高20万元", industries: ["I"], scales: []),
        PolicyTheme(title: "农业产业化龙头企业扶持政策", body: "对新认定的农业产业化龙头企业给予奖励，支持农产品加工和冷链物流设施建设。",
                    benefit: "龙头企业奖励15万元", industries: ["A", "C"], scales: []),
        PolicyTheme(title: "住宿餐饮业纾困帮扶措施", body: "对住宿餐饮企业给予房租减免和消费券支持，对安全生产标准化达标企业给予奖补。",
                    benefit: "房租减免三个月", industries: ["H"], scales: ["micro", "small"]),
        PolicyTheme(title: "安全生产标准化建设奖补", body: "对通过安全生产标准化二级以上评审的企业给予奖补，对安全生产责任险投保企业给予保费补贴。",
                    benefit: "达标奖补5万元", industries: ["B", "C", "E"], scales: []),
    ]

    static let policyRegions = [("430400", "衡阳市"), ("430405", "蒸湘区"), ("430406", "雁峰区"), ("430407", "石鼓区"), ("430408", "珠晖区")]

    /// Loads the 200 policies unless this data directory has them.
    static func loadPolicies(_ backend: Backend) async throws {
        guard try await backend.services.meta.value(of: "demo_policies_loaded") == nil else { return }
        var lines: [String] = []
        for i in 0..<200 {
            let theme = policyThemes[i % policyThemes.count]
            let (region, place) = policyRegions[(i / policyThemes.count) % policyRegions.count]
            let year = 2024 + i % 3
            var members: [String: JSONValue] = [
                "id": .string(String(format: "hy-policy-%03d", i)), "title": .string("\(place)\(theme.title)（\(year)年第\(i / 50 + 1)批）"),
                "body": .string("为进一步优化营商环境，\(place)制定本措施。\(theme.body)申请企业须依法经营、无重大失信记录，通过码上办平台提交材料。"),
                "industries": .array(theme.industries.map(JSONValue.string)), "regions": .array([.string(region)]),
                "enterprise_scales": .array(theme.scales.map(JSONValue.string)), "valid_from": .string("\(year)-01-01"),
                "valid_until": .string("\(year + 2)-12-31"), "benefit": .string(theme.benefit),
            ]
            if theme.title.contains("安全生产") { members["unit"] = .string(safetyUnit) }
            lines.append(JSONValue.object(members).canonicalString)
        }
        let result = try await backend.services.policies.publish(ndjson: Array(lines.joined(separator: "\n").utf8), by: .system)
        guard result.rejectedCount == 0 else { throw StartupError("the demo policies did not load: \(result.rejected.first?.detail ?? "")") }
        try await backend.services.meta.insert("demo_policies_loaded", Timestamp.string(backend.services.now()))
    }
}

import Foundation
@_spi(Demo) import MaShangBan

/// `serve --demo`, 码上问: two categories of 衡阳市应急管理局 with their limits, and three
/// questions of 衡阳市湘江建设有限公司 — one just asked, one accepted and in progress, and one
/// asked ten days before the demo was loaded and never accepted (all three clocks overdue).
extension Demo {
    static func loadQuestions(_ backend: Backend, door: Client, unit: Client) async throws {
        let s = backend.services
        _ = try await s.questions.setCategory(unit: safetyUnit, name: "安全生产许可", limit: 3, by: .system)
        _ = try await s.questions.setCategory(unit: safetyUnit, name: "政策咨询", limit: 2, by: .system)
        let ask = { (category: String, title: String, body: String, at: Date) in
            try await s.questions.ask(.init(unit: safetyUnit, category: category, title: title, body: body), client: door, arrivedAt: at)
        }
        _ = try await ask("政策咨询", "安全生产责任险补贴怎么申请？", "我公司今年投保了安全生产责任险，想了解市里的保费补贴政策和申请方式。", s.now())
        let accepted = try await ask("安全生产许可", "建筑施工企业安全生产许可证延期", "许可证将于下月到期，延期需要准备哪些材料？", s.now())
        _ = try await s.questions.act(accepted.question.id, .accept(opinion: "已受理，由行政审批科办理", handler: "李承办"), client: unit)
        _ = try await s.questions.act(accepted.question.id, .progress("已核对企业资质，材料清单将于明日发送"), client: unit)
        _ = try await ask("安全生产许可", "临时用电方案需要审批吗？", "工地临时用电方案是否需要报应急管理局审批？",
                          s.now().addingTimeInterval(-10 * 86_400))
        _ = try await s.questions.sweep()
    }
}

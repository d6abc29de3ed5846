import Foundation
import MaShangBan

/// `serve --demo`, 赋码入企: two units with two officials each, three protected enterprises,
/// one filing, and two visits to 衡阳市湘江建设有限公司 — an approved inspection booked for the
/// day the demo was loaded (green that day), and a survey the enterprise refused (red). The
/// units' supervisor notices go to a second stand-in on this server (`/demo/supervisor/`).
extension Demo {
    public static let safetyUnit = "hy-yjj"        // 衡阳市应急管理局
    public static let fireUnit = "hy-xfzd"         // 衡阳市消防救援支队
    public static let safetyHead = "430421197806055517"
    public static let fireHead = "430408199912310049"
    /// The enterprises protected besides `enterprise`.
    public static let protectedEnterprises = [("91430405MA4PQ1234T", "衡阳市蒸湘精密机械有限公司"), ("914304007072084114", "衡阳市石鼓食品有限公司")]

    /// Loads the visit data once per data directory (also into one loaded before it existed);
    /// returns the lines to add to `clients.env`.
    static func loadVisits(_ backend: Backend, webhookURL: String, provider: any SignatureSigner) async throws -> String {
        let s = backend.services
        func decode<T: Decodable>(_ json: String) throws -> T { try JSONDecoder().decode(T.self, from: Data(json.utf8)) }
        let today = CalendarDate(s.now())
        for (code, name, head) in [(safetyUnit, "衡阳市应急管理局", safetyHead), (fireUnit, "衡阳市消防救援支队", fireHead)] {
            _ = try await s.units.create(.init(code: code, name: name, head: head, supervisorWebhook: webhookURL), by: .system)
        }
        for (unit, id, name, number) in [(safetyUnit, "yj01", "李执法", "43040420250001"), (safetyUnit, "yj02", "王检查", "43040420250002"),
                                         (fireUnit, "xf01", "周消防", "43040420250101"), (fireUnit, "xf02", "吴安全", "43040420250102")] {
            _ = try await s.units.addOfficial(.init(id: id, name: name, credentialNumber: number), unit: unit, by: .system)
        }
        for (code, name) in [(enterprise, "衡阳市湘江建设有限公司")] + protectedEnterprises {
            _ = try await s.units.protect(.init(creditCode: code, name: name), by: .system)
        }
        let year = Int(today.text.prefix(4)) ?? 2026
        _ = try await s.units.file(.init(year: year, enterprise: enterprise, count: 12), unit: safetyUnit, by: .system)
        let (safety, safetyToken) = try await s.clients.create(.init(role: "unit", name: "应急管理局执法系统 (demo)", unit: safetyUnit), by: .system)
        let (fire, fireToken) = try await s.clients.create(.init(role: "unit", name: "消防救援支队执法系统 (demo)", unit: fireUnit), by: .system)
        let (door, doorToken) = try await s.clients.create(.init(role: "enterprise", name: "湘江建设 门岗终端 (demo)", enterprise: enterprise),
                                                           by: .system)
        let (_, supervisorToken) = try await s.clients.create(.init(role: "supervisor", name: "市营商环境监督局 (demo)"), by: .system)
        let window = (from: today.text, until: today.adding(days: 30).text)
        func application(_ type: String, _ matter: String, officials: [String]) throws -> Visits.Application {
            try decode(#"""
                {"enterprise":"\#(enterprise)","type":"\#(type)","matter":"\#(matter)","legal_basis":"《中华人民共和国安全生产法》第六十五条",
                 "officials":[\#(officials.map { "\"\($0)\"" }.joined(separator: ","))],"from":"\#(window.from)","until":"\#(window.until)",
                 "purpose":"\#(type == "inspection" ? "年度安全生产执法检查" : "消防安全宣传调研")","dates":["\#(today.text)"]}
                """#)
        }
        func approve(_ id: String, head: String, unit: Client) async throws {
            let (nonce, _) = try await s.faceAuth.challenge(subject: try CitizenID(head, field: "head", today: s.now()), purpose: .visitApproval,
                                                            client: unit)
            let claims = FaceAuth.Claims(sub: head, nonce: nonce, result: "pass", score: 0.97, iat: Int64(s.now().timeIntervalSince1970))
            _ = try await s.visits.approve(id, attestation: try FaceAuth.attestation(claims, signer: provider), unannounced: false, client: unit)
        }
        let green = try await s.visits.apply(try application("inspection", "安全生产检查", officials: ["yj01", "yj02"]), client: safety)
        _ = try await s.visits.book(green.visit.id, date: today.text, dates: nil, client: door)
        try await approve(green.visit.id, head: safetyHead, unit: safety)
        let red = try await s.visits.apply(try application("survey", "消防安全调研", officials: ["xf01"]), client: fire)
        _ = try await s.visits.book(red.visit.id, date: today.text, dates: nil, client: door)
        try await approve(red.visit.id, head: fireHead, unit: fire)
        _ = try await s.visits.decide(red.visit.id, decision: "refuse", reason: "生产旺季，暂不接待调研", client: door)
        try await loadQuestions(backend, door: door, unit: safety)
        return "UNIT=\(safetyToken)\nUNIT2=\(fireToken)\nENTERPRISE=\(doorToken)\nSUPERVISOR=\(supervisorToken)\n"
            + "GREEN_VISIT=\(green.visit.id)\nRED_VISIT=\(red.visit.id)\n"
    }
}

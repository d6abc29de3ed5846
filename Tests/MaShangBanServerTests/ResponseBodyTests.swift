import Foundation
@testable import MaShangBan
import Testing
@testable import MaShangBanServer

/// Bodies written directly (`CanonicalWriter`) are byte for byte their `JSONValue` form's
/// canonical bytes, whatever is present or missing.
@Suite("Answers written directly")
struct ResponseBodyTests {
    static func licence(id: String, validUntil: String?, fields: [String: String]) -> MaskedLicence {
        MaskedLicence(id: id, type: "social_security_card", name: "社会保障卡", number: "12**************34", status: .valid,
                      validFrom: CalendarDate("2020-01-01") ?? CalendarDate(Date(timeIntervalSince1970: 0)),
                      validUntil: validUntil.flatMap(CalendarDate.init), issuer: "人社局", fields: fields)
    }

    static let views: [WindowView] = [
        WindowView(submission: "sub_1", item: "MSB-ITEM-1", approvalSystem: "hr-approvals", holderKind: .person,
                   holderID: "110***********1234", holderName: "张*", agentID: nil,
                   licences: [licence(id: "lic_1", validUntil: "2030-12-31", fields: ["name": "张*", "birth_date": "1985-**-**"])]),
        WindowView(submission: "sub_2", item: "MSB-ITEM-2", approvalSystem: nil, holderKind: .enterprise,
                   holderID: "91350100M000100Y43", holderName: nil, agentID: "110***********5678",
                   licences: [licence(id: "lic_2", validUntil: nil, fields: [:]),
                              licence(id: "lic_3", validUntil: "2031-01-01",
                                      fields: ["address": "湖南省衡阳市****", "z": "\"quoted\"\n\\", "A": "\u{1}", "é": "x"])]),
        WindowView(submission: "sub_3", item: "MSB-ITEM-3", approvalSystem: "a", holderKind: .person, holderID: "", holderName: "",
                   agentID: "", licences: []),
    ]

    @Test(arguments: views)
    func theWindowsViewIsItsJSONValueForm(_ view: WindowView) {
        let body = WindowViewBody(view: view)
        #expect(String(decoding: body.canonicalBytes, as: UTF8.self) == body.json.canonicalString)
    }

    @Test(arguments: [false, true])
    func aMaskedLicenceIsItsJSONValueForm(summary: Bool) {
        for licence in Self.views.flatMap(\.licences) {
            let body = MaskedLicenceBody(licence: licence, summary: summary)
            var writer = CanonicalWriter()
            body.write(into: &writer)
            #expect(String(decoding: writer.bytes, as: UTF8.self) == body.json.canonicalString)
        }
    }
}

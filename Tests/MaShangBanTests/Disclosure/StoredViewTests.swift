import Foundation
import Testing
@testable import MaShangBan

/// A claimed window session's view is stored as canonical JSON written directly
/// (`WindowView.storedText`): it reads back as the same view, and it is canonical.
@Suite("Stored window views")
struct StoredViewTests {
    static func licence(_ id: String, validUntil: String?, fields: [String: String]) -> MaskedLicence {
        MaskedLicence(id: id, type: "social_security_card", name: "社会保障卡", number: "12**************34", status: .expired,
                      validFrom: CalendarDate("2020-02-29") ?? CalendarDate(Date(timeIntervalSince1970: 0)),
                      validUntil: validUntil.flatMap(CalendarDate.init), issuer: "人社局", fields: fields)
    }

    static let views: [WindowView] = [
        WindowView(submission: "sub_1", item: "MSB-ITEM-1", approvalSystem: "hr", holderKind: .person, holderID: "110***********1234",
                   holderName: "张*", agentID: nil, licences: [licence("lic_1", validUntil: "2030-12-31", fields: ["name": "张*"])]),
        WindowView(submission: "sub_2", item: "MSB-ITEM-2", approvalSystem: nil, holderKind: .enterprise, holderID: "91350100M000100Y43",
                   holderName: nil, agentID: "110***********5678",
                   licences: [licence("lic_2", validUntil: nil, fields: [:]),
                              licence("lic_3", validUntil: "2031-01-01", fields: ["b": "\"q\"\n\\", "a": "\u{1}", "地址": "湖南省****"])]),
        WindowView(submission: "", item: "", approvalSystem: "", holderKind: .person, holderID: "", holderName: "", agentID: "", licences: []),
    ]

    @Test(arguments: views)
    func aStoredViewReadsBackAndIsCanonical(_ view: WindowView) throws {
        let text = view.storedText
        let parsed = try #require(JSONValue.parse(Array(text.utf8)))
        #expect(parsed.canonicalString == text)
        #expect(WindowView(stored: parsed) == view)
        #expect(view.stored == parsed)
    }
}

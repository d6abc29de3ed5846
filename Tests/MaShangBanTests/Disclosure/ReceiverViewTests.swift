import Testing
@testable import MaShangBan
import MaShangBanTestSupport

@Suite("Receiver view (what the approval system gets)")
struct ReceiverViewTests {
    @Test func policiesDecideEachField() throws {
        let type = try #require(LicenceType.builtIns.first { $0.code == "social_security_card" })
        let holder = HolderID.person(try CitizenID("430405198501011235"))
        let licence = Licence(id: "lic_1", type: type, number: "6222020200112233445", holder: holder,
                              fields: ["name": "王一静", "id_number": "430405198501011235", "card_number": "6222020200112233445", "issuing_region": "430400"],
                              validFrom: try #require(CalendarDate("2021-01-01")), validUntil: nil, issuer: "人社局", revoked: false)
        let policies = FieldPolicies(["social_security_card.name": .full, "social_security_card.card_number": .masked,
                                      "holder.id": .masked])
        let view = DisclosureView.receiver(policies: policies, holder: holder, agent: nil, licences: [licence], masks: .standard)
        #expect(view.canonicalString == #"{"agent":null,"holder":{"id":"430***********1235","kind":"person"},"licences":[{"fields":{"card_number":"***************3445","name":"王一静"},"type":"social_security_card"}]}"#)
        // Nothing listed: nothing but the kinds and types.
        let minimal = DisclosureView.receiver(policies: FieldPolicies([:]), holder: holder, agent: try CitizenID("430402199003150027"),
                                              licences: [licence], masks: .standard)
        #expect(minimal.canonicalString == #"{"agent":{"kind":"person"},"holder":{"kind":"person"},"licences":[{"fields":{},"type":"social_security_card"}]}"#)
    }
}

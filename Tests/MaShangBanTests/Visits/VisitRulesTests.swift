import Foundation
@testable import MaShangBan
import MaShangBanTestSupport
import Testing

/// 赋码入企: each rule that turns a visit's code red, and each warning, on its own.
@Suite("Visit-code rules (green, red and why)")
struct VisitRulesTests {
    static func day(_ text: String) -> CalendarDate { CalendarDate(text)! }

    /// An inspection that passes every rule: approved, filed, booked, nobody else inspecting.
    static func approvedInspection() -> VisitFacts {
        var facts = VisitFacts(type: .inspection, matter: "安全生产检查", from: day("2027-03-01"), until: day("2027-03-10"))
        facts.headApproved = true
        facts.filedCount = 2
        facts.inspectionsCounted = 1
        facts.bookedDay = day("2027-03-05")
        return facts
    }

    @Test func everyRuleHeldIsGreen() {
        let verdict = VisitRules.judge(Self.approvedInspection(), on: Self.day("2027-03-05"))
        #expect(verdict.isGreen)
        #expect(verdict.reasons.isEmpty && verdict.warnings.isEmpty && verdict.jointCandidates.isEmpty)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let change: @Sendable (inout VisitFacts) -> Void
        var day: String? = nil
        let reasons: [VisitReason]
        var warnings: [VisitWarning] = []
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "not approved by the head", change: { $0.headApproved = false }, reasons: [.headNotApproved]),
        Case(name: "a survey the enterprise refused",
             change: { $0.type = .survey; $0.enterpriseDecision = .refuse }, reasons: [.enterpriseRefused]),
        Case(name: "a tour the enterprise was not asked about",
             change: { $0.type = .tour; $0.enterpriseDecision = nil }, reasons: [.enterpriseNotAsked]),
        Case(name: "a survey the enterprise agreed to", change: { $0.type = .survey; $0.enterpriseDecision = .agree }, reasons: []),
        Case(name: "a service visit needs no agreement and no filing",
             change: { $0.type = .service; $0.filedCount = nil }, reasons: []),
        Case(name: "the filed count is used up", change: { $0.inspectionsCounted = 2 }, reasons: [.overAnnualFiling]),
        Case(name: "nothing filed", change: { $0.filedCount = nil; $0.inspectionsCounted = 0 }, reasons: [.overAnnualFiling]),
        Case(name: "another unit inspects the same matter in an overlapping window",
             change: { $0.otherInspections = [OtherInspection(visit: "vis_b", matter: "安全生产检查", from: day("2027-03-08"),
                                                              until: day("2027-03-20"))] },
             reasons: [.duplicateInspection]),
        Case(name: "another unit inspects the same matter within the joint window",
             change: { $0.otherInspections = [OtherInspection(visit: "vis_b", matter: "安全生产检查", from: day("2027-04-09"),
                                                              until: day("2027-04-12"))] },
             reasons: [.duplicateInspection]),
        Case(name: "another unit, same matter, further apart than the joint window",
             change: { $0.otherInspections = [OtherInspection(visit: "vis_b", matter: "安全生产检查", from: day("2027-04-10"),
                                                              until: day("2027-04-12"))] },
             reasons: []),
        Case(name: "another unit, another matter", change: {
            $0.otherInspections = [OtherInspection(visit: "vis_b", matter: "消防检查", from: day("2027-03-01"), until: day("2027-03-10"))]
        }, reasons: []),
        Case(name: "joined with the other unit's inspection", change: {
            $0.otherInspections = [OtherInspection(visit: "vis_b", matter: "安全生产检查", from: day("2027-03-01"), until: day("2027-03-10"))]
            $0.joinedWith = ["vis_b"]
        }, reasons: []),
        Case(name: "scanned on another day than the booked one", change: { _ in }, day: "2027-03-06", reasons: [.outsideWindow]),
        Case(name: "scanned after the window", change: { $0.unannounced = true }, day: "2027-03-11", reasons: [.outsideWindow],
             warnings: [.unannounced]),
        Case(name: "never booked: no day is the confirmed one", change: { $0.bookedDay = nil }, day: "2027-03-05", reasons: [.outsideWindow]),
        Case(name: "not booked yet is not red when drawn", change: { $0.bookedDay = nil }, reasons: []),
        Case(name: "withdrawn by its unit", change: { $0.withdrawn = true }, day: "2027-03-05", reasons: [.visitWithdrawn]),
        Case(name: "unannounced: any day in the window, and a warning",
             change: { $0.unannounced = true }, day: "2027-03-09", reasons: [], warnings: [.unannounced]),
        Case(name: "an official left the unit", change: { $0.officialWithdrawn = true }, reasons: [.officialWithdrawn]),
        Case(name: "the fourth visit in 30 days", change: { $0.recentVisits = 3 }, reasons: [], warnings: [.frequentVisits]),
        Case(name: "the third visit in 30 days", change: { $0.recentVisits = 2 }, reasons: []),
        Case(name: "several rules at once, in rule order", change: {
            $0.headApproved = false
            $0.inspectionsCounted = 5
            $0.officialWithdrawn = true
        }, day: "2027-02-28", reasons: [.headNotApproved, .overAnnualFiling, .outsideWindow, .officialWithdrawn]),
    ]

    @Test(arguments: cases)
    func eachRule(_ rule: Case) {
        var facts = Self.approvedInspection()
        rule.change(&facts)
        let verdict = VisitRules.judge(facts, on: rule.day.map(Self.day))
        #expect(verdict.reasons == rule.reasons)
        #expect(verdict.warnings == rule.warnings)
        #expect(verdict.isGreen == rule.reasons.isEmpty)
    }

    @Test func aDuplicateNamesItsJointCandidates() {
        var facts = Self.approvedInspection()
        facts.otherInspections = [
            OtherInspection(visit: "vis_b", matter: "安全生产检查", from: Self.day("2027-03-02"), until: Self.day("2027-03-03")),
            OtherInspection(visit: "vis_c", matter: "安全生产检查", from: Self.day("2027-05-01"), until: Self.day("2027-05-02")),
        ]
        #expect(VisitRules.judge(facts).jointCandidates == ["vis_b"])
    }

    @Test func theWindowsAreSettings() {
        var settings = VisitRuleSettings()
        settings.jointWindowDays = 1
        settings.frequentVisits = 10
        var facts = Self.approvedInspection()
        facts.otherInspections = [OtherInspection(visit: "vis_b", matter: "安全生产检查", from: Self.day("2027-03-11"),
                                                  until: Self.day("2027-03-12"))]
        facts.recentVisits = 5
        #expect(VisitRules.judge(facts, settings: settings).reasons == [.duplicateInspection], "one day apart, window 1")
        facts.otherInspections[0] = OtherInspection(visit: "vis_b", matter: "安全生产检查", from: Self.day("2027-03-12"),
                                                    until: Self.day("2027-03-13"))
        #expect(VisitRules.judge(facts, settings: settings).isGreen)
        #expect(VisitRules.judge(facts, settings: settings).warnings.isEmpty)
    }

    @Test func reasonCodesAreStable() {
        #expect(VisitReason.allCases.map(\.rawValue) == [
            "head_not_approved", "enterprise_refused", "enterprise_not_asked", "over_annual_filing", "duplicate_inspection",
            "outside_window", "official_withdrawn", "visit_withdrawn",
        ])
        #expect(VisitWarning.allCases.map(\.rawValue) == ["frequent_visits", "unannounced"])
    }
}

import Foundation
import Testing
@testable import MaShangBan
import MaShangBanTestSupport

@Suite("Citizen ID (GB 11643) and credit code (GB 32100) against Tests/MaShangBanTests/Fixtures/identity.json")
struct IdentityTests {
    let today = Date(timeIntervalSince1970: 1_795_000_000)  // 2026-11

    func vectors() throws -> [String: Any] {
        try #require(Fixtures.rawJSON("identity") as? [String: Any])
    }

    @Test func validCitizenIDs() throws {
        let section = try #require(try vectors()["citizen_id"] as? [String: Any])
        let valid = try #require(section["valid"] as? [String])
        #expect(valid.count == 5)
        for value in valid { #expect(try CitizenID(value, today: today).value == value) }
        let normalising = try #require(section["valid_after_normalising"] as? [String: String])
        for (input, normalised) in normalising { #expect(try CitizenID(input, today: today).value == normalised) }
    }

    @Test func invalidCitizenIDsGiveTheListedReason() throws {
        let section = try #require(try vectors()["citizen_id"] as? [String: Any])
        let invalid = try #require(section["invalid"] as? [[String: String]])
        #expect(invalid.count == 7)
        for entry in invalid {
            let value = try #require(entry["value"])
            let reason = try #require(entry["reason"])
            do {
                _ = try CitizenID(value, today: today)
                Issue.record("\(value) was accepted")
            } catch {
                // The listed reason's first words ("check character", "birth date", …) are in ours.
                let key = reason.split(separator: " (").first.map(String.init) ?? reason
                #expect(error.reason.contains(key), "\(value): \(error.reason) vs \(reason)")
                if reason.contains("month 13") { #expect(error.reason.contains("month 13")) }
                let problem = MSBError.invalidCitizenID("holder.id", error)
                #expect(problem.code == "invalid_citizen_id" && problem.status == 422)
                #expect(value.isEmpty || !problem.detail.contains(value), "the detail never repeats the value")
            }
        }
    }

    @Test func citizenIDBirthDateMustBeARealPastDay() {
        #expect(throws: CitizenID.Invalid.birthDate("no such day")) { try CitizenID("430405198502301230", today: today) }
        // Born "tomorrow": valid check character, date in the future.
        let future = Self.withCheckCharacter("43040520991231001")
        #expect(throws: CitizenID.Invalid.birthDate("in the future")) { try CitizenID(future, today: today) }
        #expect(throws: CitizenID.Invalid.region) { try CitizenID(Self.withCheckCharacter("03040519850101123"), today: today) }
        #expect(throws: CitizenID.Invalid.characters) { try CitizenID("43040519850101123５", today: today) }
    }

    static func withCheckCharacter(_ seventeen: String) -> String { CitizenID.completing(seventeen) ?? seventeen }

    @Test func creditCodes() throws {
        let section = try #require(try vectors()["credit_code"] as? [String: Any])
        let valid = try #require(section["valid"] as? [String])
        #expect(valid.count == 4)
        for value in valid { #expect(try CreditCode(value).value == value) }
        let invalid = try #require(section["invalid"] as? [[String: String]])
        #expect(invalid.count == 4)
        for entry in invalid {
            let value = try #require(entry["value"])
            let reason = try #require(entry["reason"])
            do {
                _ = try CreditCode(value)
                Issue.record("\(value) was accepted")
            } catch {
                #expect(error.reason.hasPrefix(reason), "\(value): \(error.reason) vs \(reason)")
                #expect(MSBError.invalidCreditCode("holder.id", error).code == "invalid_credit_code")
            }
        }
    }
}

@Suite("Calendar dates")
struct CalendarDateTests {
    @Test func todayInChinaStandardTimeMatchesFoundationsCalendar() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        var generator = SystemRandomNumberGenerator()
        // Since 1992 China has kept UTC+8 all year (earlier years had summer time).
        for _ in 0..<2000 {
            let instant = Date(timeIntervalSince1970: Double.random(in: 700_000_000...4_000_000_000, using: &generator))
            let c = calendar.dateComponents([.year, .month, .day], from: instant)
            let expected = String(format: "%04d-%02d-%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0)
            #expect(CalendarDate(instant).text == expected, "\(instant)")
        }
        // 2026-11-25T16:30:00Z is already the 26th in Beijing.
        #expect(CalendarDate(Date(timeIntervalSince1970: 1_795_624_200)).text == "2026-11-26")
    }

    @Test func parsing() {
        #expect(CalendarDate("2024-02-29") != nil)
        #expect(CalendarDate("2023-02-29") == nil)
        #expect(CalendarDate("1900-02-29") == nil)
        #expect(CalendarDate("2000-02-29") != nil)
        #expect(CalendarDate("2020-04-31") == nil)
        #expect(CalendarDate("2020-4-30") == nil)
        #expect(CalendarDate("2020-04-30T00:00") == nil)
        #expect(CalendarDate("２０２０-04-30") == nil)
        for odd in ["2020/04/30", "2020-04-3a", "+020-04-30", "2020-0430-", "1799-12-31", "2020-00-10", "2020-13-01", "2020-01-00",
                    "2020-01-32", " 2020-01-3", "2020-01-1\u{0}"] {
            #expect(CalendarDate(odd) == nil, "\(odd)")
        }
        #expect(CalendarDate("1800-01-01")?.text == "1800-01-01")
        #expect(CalendarDate("2026-12-31")?.text == "2026-12-31")
    }
}

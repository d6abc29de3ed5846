import Foundation
@testable import MaShangBan
import Testing

/// The working-day clocks of 码上问 on the State Council's 2026 arrangement (国办发明电
/// 〔2025〕7号): weekends, holidays, 调休 working days, arrival after hours, year boundaries,
/// and a year nobody uploaded.
@Suite("Working-day calendar")
struct WorkingCalendarTests {
    static func day(_ text: String) -> CalendarDate { CalendarDate(text)! }
    static func days(_ texts: [String]) -> Set<CalendarDate> { Set(texts.map(day)) }
    /// China time: `2026-02-13 18:30` is 10:30 UTC.
    static func at(_ text: String) -> Date { Timestamp.date(text.replacingOccurrences(of: " ", with: "T") + ":00+08:00")! }

    static let y2026 = WorkingCalendar.Year(
        year: 2026,
        holidays: days(["2026-01-01", "2026-01-02", "2026-01-03", "2026-02-15", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19",
                        "2026-02-20", "2026-02-21", "2026-02-22", "2026-02-23", "2026-04-04", "2026-04-05", "2026-04-06", "2026-05-01",
                        "2026-05-02", "2026-05-03", "2026-05-04", "2026-05-05", "2026-06-19", "2026-06-20", "2026-06-21", "2026-09-25",
                        "2026-09-26", "2026-09-27", "2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05", "2026-10-06",
                        "2026-10-07"]),
        workdays: days(["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"]))
    static let calendar = WorkingCalendar([y2026])

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let arrival: String
        let workingDays: Int
        /// 24:00 China time of this day.
        let dueAtEndOf: String
        var calendar = WorkingCalendarTests.calendar
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "Tuesday → Wednesday", arrival: "2026-03-03 10:00", workingDays: 1, dueAtEndOf: "2026-03-04"),
        Case(name: "Friday → Monday over the weekend", arrival: "2026-03-06 10:00", workingDays: 1, dueAtEndOf: "2026-03-09"),
        Case(name: "Saturday → Monday", arrival: "2026-03-07 10:00", workingDays: 1, dueAtEndOf: "2026-03-09"),
        Case(name: "two working days from Thursday", arrival: "2026-03-05 09:00", workingDays: 2, dueAtEndOf: "2026-03-09"),
        Case(name: "Thursday before 中秋 → the Monday after", arrival: "2026-09-24 16:00", workingDays: 1, dueAtEndOf: "2026-09-28"),
        Case(name: "Friday evening before 春节: the 调休 Saturday works", arrival: "2026-02-13 18:30", workingDays: 1,
             dueAtEndOf: "2026-02-14"),
        Case(name: "… and the second working day is after the holiday week", arrival: "2026-02-13 18:30", workingDays: 2,
             dueAtEndOf: "2026-02-24"),
        Case(name: "during 国庆 → the first day back", arrival: "2026-10-03 11:00", workingDays: 1, dueAtEndOf: "2026-10-08"),
        Case(name: "the 调休 Saturday after 国庆", arrival: "2026-10-09 10:00", workingDays: 1, dueAtEndOf: "2026-10-10"),
        Case(name: "a 调休 Sunday counts: 2025-12-31 → 2026-01-04", arrival: "2025-12-31 10:00", workingDays: 1, dueAtEndOf: "2026-01-04"),
        Case(name: "after hours, Thursday 23:30 → Friday", arrival: "2026-03-05 23:30", workingDays: 1, dueAtEndOf: "2026-03-06"),
        Case(name: "after midnight it is Friday's question → Monday", arrival: "2026-03-06 00:30", workingDays: 1, dueAtEndOf: "2026-03-09"),
        Case(name: "five working days over 清明", arrival: "2026-04-01 10:00", workingDays: 5, dueAtEndOf: "2026-04-09"),
        Case(name: "into a year nobody uploaded: weekends only", arrival: "2026-12-31 10:00", workingDays: 1, dueAtEndOf: "2027-01-01"),
        Case(name: "into an uploaded next year: its 元旦 rests", arrival: "2026-12-31 10:00", workingDays: 1, dueAtEndOf: "2027-01-04",
             calendar: WorkingCalendar([y2026, .init(year: 2027, holidays: days(["2027-01-01", "2027-01-02", "2027-01-03"]), workdays: [])])),
        Case(name: "no calendar at all: Friday → Monday", arrival: "2026-10-02 10:00", workingDays: 1, dueAtEndOf: "2026-10-05",
             calendar: WorkingCalendar()),
    ]

    @Test(arguments: cases)
    func deadlines(_ c: Case) {
        let due = c.calendar.deadline(workingDays: c.workingDays, after: Self.at(c.arrival))
        #expect(Timestamp(due) == Timestamp(Self.day(c.dueAtEndOf).adding(days: 1).startInChina))
        #expect(CalendarDate(due.addingTimeInterval(-1)) == Self.day(c.dueAtEndOf), "24:00 of that day, China time")
    }

    @Test func whichDaysWork() {
        #expect(Self.calendar.isWorkingDay(Self.day("2026-02-14")), "调休 Saturday")
        #expect(Self.calendar.isWorkingDay(Self.day("2026-01-04")), "调休 Sunday")
        #expect(!Self.calendar.isWorkingDay(Self.day("2026-02-16")), "春节 Monday")
        #expect(!Self.calendar.isWorkingDay(Self.day("2026-03-07")), "a plain Saturday")
        #expect(Self.calendar.isWorkingDay(Self.day("2026-03-09")), "a plain Monday")
        #expect(!WorkingCalendar().isWorkingDay(Self.day("2027-01-03")), "a Sunday in a year nobody uploaded")
        #expect(Self.calendar.missing([2026, 2027]) == [2027])
    }

    @Test func workingHoursSkipRestDays() {
        #expect(Self.calendar.workingHours(from: Self.at("2026-03-06 12:00"), to: Self.at("2026-03-09 12:00")) == 24)
        #expect(Self.calendar.workingHours(from: Self.at("2026-02-13 18:00"), to: Self.at("2026-02-24 09:00")) == 6 + 24 + 9)
        #expect(Self.calendar.workingHours(from: Self.at("2026-03-09 12:00"), to: Self.at("2026-03-09 11:00")) == 0)
    }
}

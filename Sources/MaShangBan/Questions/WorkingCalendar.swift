import Foundation

/// The working-day calendar (工作日历) the clocks of 码上问 run on, in China Standard Time.
/// Saturdays and Sundays are rest days; each year's public holidays (法定节假日) rest too,
/// and its adjusted working days (调休, a weekend day worked) work. A year nobody uploaded
/// counts weekends only.
public struct WorkingCalendar: Sendable, Equatable {
    /// One year's published arrangement.
    public struct Year: Sendable, Equatable {
        public let year: Int
        public let holidays: Set<CalendarDate>
        public let workdays: Set<CalendarDate>

        public init(year: Int, holidays: Set<CalendarDate>, workdays: Set<CalendarDate>) {
            (self.year, self.holidays, self.workdays) = (year, holidays, workdays)
        }
    }

    public let years: [Int: Year]

    public init(_ years: [Year] = []) {
        self.years = Dictionary(years.map { ($0.year, $0) }, uniquingKeysWith: { $1 })
    }

    /// Whether people work on `day`.
    public func isWorkingDay(_ day: CalendarDate) -> Bool {
        if let year = years[day.year] {
            if year.workdays.contains(day) { return true }
            if year.holidays.contains(day) { return false }
        }
        return !day.isWeekend
    }

    /// The `count`-th working day after `day` (not counting `day` itself); `day` itself for 0.
    public func workingDay(_ count: Int, after day: CalendarDate) -> CalendarDate {
        var (current, remaining) = (day, max(0, count))
        // Bounded: a year has well over 200 working days whatever was uploaded.
        while remaining > 0 {
            current = current.adding(days: 1)
            if isWorkingDay(current) { remaining -= 1 }
        }
        return current
    }

    /// "Within `count` working days" of something that arrived at `arrival`: 24:00 (China
    /// time) of the `count`-th working day after the day it arrived, whatever the hour.
    public func deadline(workingDays count: Int, after arrival: Date) -> Date {
        workingDay(count, after: CalendarDate(arrival)).adding(days: 1).startInChina
    }

    /// Working hours from `start` to `end` (24 for each whole working day, rest days not
    /// counted): how long a unit took to accept or to answer.
    public func workingHours(from start: Date, to end: Date) -> Double {
        guard end > start else { return 0 }
        var (seconds, cursor) = (0.0, start)
        while cursor < end {
            let day = CalendarDate(cursor)
            let next = min(end, day.adding(days: 1).startInChina)
            if isWorkingDay(day) { seconds += next.timeIntervalSince(cursor) }
            cursor = next
        }
        return seconds / 3600
    }

    /// The years among `wanted` that have no uploaded arrangement.
    public func missing(_ wanted: [Int]) -> [Int] { wanted.filter { years[$0] == nil } }
}

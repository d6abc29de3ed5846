import Foundation
import GRDB

/// `calendar_years`: each year's holidays and adjusted working days.
enum CalendarStore {
    /// Inserts or replaces a year; true when it is new.
    static func put(_ year: WorkingCalendar.Year, at stamp: Timestamp, _ db: Database) throws -> Bool {
        let existed = try Int.fetchOne(db, sql: "SELECT 1 FROM calendar_years WHERE year = ?", arguments: [year.year]) != nil
        try db.execute(sql: """
            INSERT INTO calendar_years (year, holidays, workdays, updated_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (year) DO UPDATE SET holidays = excluded.holidays, workdays = excluded.workdays, updated_at = excluded.updated_at
            """, arguments: [year.year, ListColumn.text(year.holidays.sorted()), ListColumn.text(year.workdays.sorted()), stamp.text])
        return !existed
    }

    private static func year(_ row: Row) -> (year: WorkingCalendar.Year, updatedAt: Timestamp) {
        let days = { (column: String) in Set(ListColumn.days(row[column]) ?? []) }
        return (WorkingCalendar.Year(year: row["year"], holidays: days("holidays"), workdays: days("workdays")),
                Timestamp(stored: row["updated_at"]))
    }

    static func year(_ number: Int, _ db: Database) throws -> (year: WorkingCalendar.Year, updatedAt: Timestamp)? {
        try Row.fetchOne(db, sql: "SELECT * FROM calendar_years WHERE year = ?", arguments: [number]).map(year)
    }

    static func all(_ db: Database) throws -> [(year: WorkingCalendar.Year, updatedAt: Timestamp)] {
        try Row.fetchAll(db, sql: "SELECT * FROM calendar_years ORDER BY year").map(year)
    }
}

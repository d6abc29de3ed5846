import Foundation

/// A calendar date `YYYY-MM-DD` (licence validity). Dates compare as their text does.
public struct CalendarDate: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    public let text: String

    /// nil unless `text` is exactly `YYYY-MM-DD` and a real day.
    public init?(_ text: String) {
        // `YYYY-MM-DD` in ASCII digits, read byte by byte: licences' dates are read on every scan.
        guard text.utf8.count == 10 else { return nil }
        var numbers = (y: 0, m: 0, d: 0)
        for (position, byte) in text.utf8.enumerated() {
            if position == 4 || position == 7 {
                guard byte == UInt8(ascii: "-") else { return nil }
                continue
            }
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            let digit = Int(byte - UInt8(ascii: "0"))
            switch position {
            case ..<4: numbers.y = numbers.y * 10 + digit
            case ..<7: numbers.m = numbers.m * 10 + digit
            default: numbers.d = numbers.d * 10 + digit
            }
        }
        let (y, m, d) = numbers
        guard y >= 1800, (1...12).contains(m), d >= 1, d <= Self.daysIn(month: m, year: y) else { return nil }
        self.text = text
    }

    /// The date of `instant` in China Standard Time (UTC+8, no daylight saving).
    public init(_ instant: Date) {
        let (year, month, day) = Self.civil(secondsSince1970: instant.timeIntervalSince1970 + 8 * 3600).date
        text = Self.format(year: year, month: month, day: day)
    }

    /// 00:00 of this day in China Standard Time (UTC+8).
    public var startInChina: Date { Date(timeIntervalSince1970: Double(daysSince1970) * 86_400 - 8 * 3600) }

    /// The year, as a number.
    public var year: Int { Int(text.prefix(4)) ?? 0 }

    /// Saturday or Sunday (1970-01-01 was a Thursday).
    public var isWeekend: Bool {
        let weekday = ((daysSince1970 + 4) % 7 + 7) % 7  // 0 Sunday … 6 Saturday
        return weekday == 0 || weekday == 6
    }

    /// Days from 1970-01-01 to this date.
    var daysSince1970: Int {
        let parts = text.split(separator: "-").compactMap { Int($0) }
        return Self.days(year: parts[0], month: parts[1], day: parts[2])
    }

    /// The date `count` days after this one.
    public func adding(days count: Int) -> CalendarDate {
        let parts = text.split(separator: "-").compactMap { Int($0) }
        let days = Self.days(year: parts[0], month: parts[1], day: parts[2]) + count
        let (year, month, day) = Self.civil(secondsSince1970: Double(days) * 86_400).date
        return CalendarDate(text: Self.format(year: year, month: month, day: day))
    }

    private init(text: String) { self.text = text }

    /// The Gregorian date and the seconds into that day of a count of seconds since
    /// 1970-01-01T00:00 (H. Hinnant's civil-from-days algorithm).
    static func civil(secondsSince1970: Double) -> (date: (Int, Int, Int), secondOfDay: Double) {
        let whole = secondsSince1970.rounded(.down)
        let seconds = Int(whole)
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return ((year, month, day), Double(seconds - days * 86_400) + (secondsSince1970 - whole))
    }

    /// Days from 1970-01-01 to a Gregorian date (H. Hinnant's days-from-civil, the inverse of `civil`).
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// `YYYY-MM-DD` without `String(format:)`, which is slow on Linux.
    static func format(year: Int, month: Int, day: Int) -> String {
        guard (0...9999).contains(year) else { return pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2) }
        return digits([(year, 4, "-"), (month, 2, "-"), (day, 2, nil)])
    }

    /// Zero-padded numbers (each of exactly its width; the caller keeps them in range), each
    /// followed by its separator, written in one allocation: timestamps are made per row.
    static func digits(_ parts: [(value: Int, width: Int, separator: Character?)]) -> String {
        let length = parts.reduce(0) { $0 + $1.width + ($1.separator == nil ? 0 : 1) }
        return String(unsafeUninitializedCapacity: length) { buffer in
            var index = 0
            for part in parts {
                var value = part.value
                for offset in stride(from: part.width - 1, through: 0, by: -1) {
                    buffer[index + offset] = UInt8(ascii: "0") + UInt8(value % 10)
                    value /= 10
                }
                index += part.width
                if let separator = part.separator?.asciiValue {
                    buffer[index] = separator
                    index += 1
                }
            }
            return index
        }
    }

    static func pad(_ n: Int, _ width: Int) -> String {
        let digits = String(n)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// Days in a month of the Gregorian calendar.
    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    public var description: String { text }
    public static func < (a: CalendarDate, b: CalendarDate) -> Bool { a.text < b.text }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let date = CalendarDate(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a YYYY-MM-DD date"))
        }
        self = date
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(text)
    }
}

import Foundation

/// A calendar date `YYYY-MM-DD` (licence validity). Dates compare as their text does.
public struct CalendarDate: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    public let text: String

    /// Licences are issued in China Standard Time: "today" is the date in Asia/Shanghai.
    static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        return calendar
    }()

    /// nil unless `text` is exactly `YYYY-MM-DD` and a real day.
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard text.utf8.count == 10, parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]), y >= 1800,
              let date = Self.calendar.date(from: DateComponents(year: y, month: m, day: d)),
              Self.calendar.component(.month, from: date) == m, Self.calendar.component(.day, from: date) == d
        else { return nil }
        self.text = text
    }

    /// The date of `instant` in China Standard Time.
    public init(_ instant: Date) {
        let c = Self.calendar.dateComponents([.year, .month, .day], from: instant)
        text = String(format: "%04d-%02d-%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0)
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

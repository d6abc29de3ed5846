import Foundation

/// The current time, injected so expiry and replay tests set the clock instead of sleeping.
public typealias Now = @Sendable () -> Date

/// A clock that stands still until moved: tests (and the bench) give its `now` to a
/// backend to step past expiries without sleeping.
public final class ManualClock: Sendable {
    private let current: Locked<Date>
    public init(_ start: Date = Date()) { current = Locked(start) }
    public var now: Now { { [self] in current.withLock { $0 } } }
    public func advance(_ seconds: TimeInterval) { current.withLock { $0 += seconds } }
}

/// An instant as an RFC 3339 UTC timestamp with milliseconds, the form every stored and
/// returned time uses. Rows carry it as read, so an answer shows exactly what was stored;
/// `date` is the instant. Ordered as instants (the fixed-width text orders the same way).
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    /// The RFC 3339 text, as stored and shown.
    public let text: String

    public init(_ date: Date) { text = Self.string(date) }

    /// A stored value, taken as it is.
    init(stored text: String) { self.text = text }

    /// The instant, or nil for text that is no timestamp.
    public var date: Date? { Self.date(text) }

    public var description: String { text }

    public static func < (a: Timestamp, b: Timestamp) -> Bool {
        if let x = a.date, let y = b.date { return x < y }
        return a.text < b.text
    }

    public init(from decoder: any Decoder) throws { text = try decoder.singleValueContainer().decode(String.self) }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }

    private static let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: TimeZone(identifier: "UTC")!)

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`, by arithmetic: Foundation's formatter is slow on Linux
    /// and this runs for every stored row and audit record.
    public static func string(_ date: Date) -> String {
        let (civil, secondOfDay) = CalendarDate.civil(secondsSince1970: date.timeIntervalSince1970)
        let millis = Int((secondOfDay * 1000).rounded(.down))
        let (h, rest) = (millis / 3_600_000, millis % 3_600_000)
        let (m, rest2) = (rest / 60_000, rest % 60_000)
        let (s, ms) = (rest2 / 1000, rest2 % 1000)
        guard (0...9999).contains(civil.0) else {
            return CalendarDate.format(year: civil.0, month: civil.1, day: civil.2) + "T" + CalendarDate.pad(h, 2) + ":"
                + CalendarDate.pad(m, 2) + ":" + CalendarDate.pad(s, 2) + "." + CalendarDate.pad(ms, 3) + "Z"
        }
        return CalendarDate.digits([(civil.0, 4, "-"), (civil.1, 2, "-"), (civil.2, 2, "T"), (h, 2, ":"), (m, 2, ":"),
                                    (s, 2, "."), (ms, 3, "Z")])
    }
    /// The instant of an RFC 3339 timestamp. Our own form (`string`'s) is read by arithmetic
    /// (consents' ends are read for every code and scan); any other goes to Foundation.
    public static func date(_ string: String) -> Date? {
        if let millis = millisecondsSince1970(ours: string) { return Date(timeIntervalSince1970: Double(millis) / 1000) }
        return (try? style.parse(string)) ?? (try? Date.ISO8601FormatStyle().parse(string))
    }

    /// Milliseconds since 1970 of exactly `YYYY-MM-DDTHH:MM:SS.mmmZ` naming a real instant, else nil.
    static func millisecondsSince1970(ours string: String) -> Int64? {
        string.utf8.withContiguousStorageIfAvailable { bytes -> Int64? in
            guard bytes.count == 24, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
                  bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"), bytes[19] == UInt8(ascii: "."),
                  bytes[23] == UInt8(ascii: "Z")
            else { return nil }
            func number(_ start: Int, _ width: Int) -> Int? {
                var value = 0
                for index in start..<(start + width) {
                    let digit = Int(bytes[index]) - Int(UInt8(ascii: "0"))
                    guard (0...9).contains(digit) else { return nil }
                    value = value * 10 + digit
                }
                return value
            }
            guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2), let hour = number(11, 2),
                  let minute = number(14, 2), let second = number(17, 2), let milli = number(20, 3),
                  (1...12).contains(month), day >= 1, day <= CalendarDate.daysIn(month: month, year: year),
                  hour < 24, minute < 60, second < 60
            else { return nil }
            let days = CalendarDate.days(year: year, month: month, day: day)
            return (Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second)) * 1000 + Int64(milli)
        } ?? nil
    }
}

extension Duration {
    /// The duration in seconds, as a `Double` (for metrics and the bench's figures).
    public var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

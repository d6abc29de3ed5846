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

/// RFC 3339 UTC timestamps with milliseconds, the form every stored and returned time uses.
public enum Timestamp {
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
    public static func date(_ string: String) -> Date? {
        (try? style.parse(string)) ?? (try? Date.ISO8601FormatStyle().parse(string))
    }
}

import Foundation

/// The current time, injected so expiry and replay tests set the clock instead of sleeping.
public typealias Now = @Sendable () -> Date

/// RFC 3339 UTC timestamps with milliseconds, the form every stored and returned time uses.
public enum Timestamp {
    private static let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: TimeZone(identifier: "UTC")!)

    public static func string(_ date: Date) -> String { style.format(date) }
    public static func date(_ string: String) -> Date? {
        (try? style.parse(string)) ?? (try? Date.ISO8601FormatStyle().parse(string))
    }
}

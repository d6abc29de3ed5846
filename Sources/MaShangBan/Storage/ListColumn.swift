import Foundation

/// A column holding a list as JSON text (`["C","C13"]`): a policy's industries, regions and
/// scales, a client's licence types, a door event's reasons; of days (`["2027-01-22",…]`), a
/// visit's proposed days, an appointment's preferred ones, a calendar year's holidays and
/// working days.
enum ListColumn {
    /// One decoder for every read (a search decodes three lists for each of its rows).
    private static let decoder = JSONDecoder()

    static func text(_ strings: [String]) -> String { JSONValue.array(strings.map(JSONValue.string)).canonicalString }

    /// The strings, or nil for NULL or text that is not such a list.
    static func strings(_ text: String?) -> [String]? {
        guard let text else { return nil }
        return try? decoder.decode([String].self, from: Data(text.utf8))
    }

    static func text(_ days: [CalendarDate]) -> String { text(days.map(\.text)) }

    /// The days, or nil for NULL or text that is not such a list.
    static func days(_ text: String?) -> [CalendarDate]? { strings(text)?.compactMap(CalendarDate.init) }
}

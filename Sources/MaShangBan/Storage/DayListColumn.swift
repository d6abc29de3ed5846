import Foundation

/// A column holding a list of days as JSON text (`["2027-01-22",…]`): a visit's proposed
/// days, an appointment's preferred ones, a calendar year's holidays and working days.
enum DayListColumn {
    static func text(_ days: [CalendarDate]) -> String { JSONValue.array(days.map { .string($0.text) }).canonicalString }

    /// The days, or nil for NULL or text that is not such a list.
    static func days(_ text: String?) -> [CalendarDate]? {
        guard let text, let list = try? JSONDecoder().decode([String].self, from: Data(text.utf8)) else { return nil }
        return list.compactMap(CalendarDate.init)
    }
}

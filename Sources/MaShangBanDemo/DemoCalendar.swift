import Foundation
import MaShangBan

/// `serve --demo`: the State Council's 2026 arrangement of public holidays and 调休 working
/// days (国务院办公厅关于2026年部分节假日安排的通知), uploaded once like an admin would.
extension Demo {
    static let holidays2026 = [
        "2026-01-01", "2026-01-02", "2026-01-03",  // 元旦
        "2026-02-15", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20", "2026-02-21", "2026-02-22", "2026-02-23",  // 春节
        "2026-04-04", "2026-04-05", "2026-04-06",  // 清明节
        "2026-05-01", "2026-05-02", "2026-05-03", "2026-05-04", "2026-05-05",  // 劳动节
        "2026-06-19", "2026-06-20", "2026-06-21",  // 端午节
        "2026-09-25", "2026-09-26", "2026-09-27",  // 中秋节
        "2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05", "2026-10-06", "2026-10-07",  // 国庆节
    ]
    static let workdays2026 = ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"]

    /// Uploads the 2026 calendar unless this data directory has one.
    static func loadCalendar(_ backend: Backend) async throws {
        guard try await backend.services.meta.value(of: "demo_calendar_loaded") == nil else { return }
        _ = try await backend.services.calendars.put(year: 2026, holidays: holidays2026, workdays: workdays2026, by: .system)
        try await backend.services.meta.insert("demo_calendar_loaded", Timestamp.string(backend.services.now()))
    }
}

import Hummingbird
import MaShangBan

/// The working-day calendar: `PUT /v1/calendar/{year}` (admin), `GET /v1/calendar/{year}` (any role).
struct CalendarRoutes {
    let auth: Authenticator
    let calendars: WorkingCalendars

    struct Arrangement: Decodable {
        let holidays: [String]
        let workdays: [String]
    }

    func register(on router: Router<AppRequestContext>) {
        router.group("v1/calendar").add(middleware: Authorize(.admin, auth: auth)).put("{year}") { request, context in
            let year = try Self.year(context)
            let body = try await request.decodeJSON(Arrangement.self)
            let stored = try await calendars.put(year: year, holidays: body.holidays, workdays: body.workdays, by: context.actor)
            return JSONResponse.make(CalendarYearBody(year: stored.year, updatedAt: stored.updatedAt), status: stored.created ? .created : .ok)
        }
        router.group("v1/calendar").add(middleware: Authorize.anyRole(auth)).get("{year}") { _, context in
            let stored = try await calendars.year(try Self.year(context))
            return JSONResponse.make(CalendarYearBody(year: stored.year, updatedAt: stored.updatedAt))
        }
    }

    /// The year in the path: 404 `not_found` for anything but a year we keep.
    static func year(_ context: AppRequestContext) throws -> Int {
        guard let year = Int(try context.parameters.require("year")), WorkingCalendars.years.contains(year) else {
            throw MSBError.notFound("no such calendar year (\(WorkingCalendars.years.lowerBound)–\(WorkingCalendars.years.upperBound))")
        }
        return year
    }
}

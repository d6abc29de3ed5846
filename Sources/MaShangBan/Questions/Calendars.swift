import Foundation
import GRDB

/// Each year's working-day arrangement as the admin uploaded it (`PUT /v1/calendar/{year}`),
/// and the calendar they make together, kept in memory between uploads.
public struct WorkingCalendars: Sendable {
    let transactions: Transactions
    let audit: AuditLog
    let now: Now
    private let cache = CalendarCache()

    public static let years = 2000...2100

    /// Uploads (or replaces) a year. 422 `validation_failed`: a date that is not in the
    /// year, a day in both lists, or a working day that is not a Saturday or Sunday.
    public func put(year: Int, holidays: [String], workdays: [String], by actor: AuditActor) async throws
        -> (year: WorkingCalendar.Year, updatedAt: Timestamp, created: Bool)
    {
        guard Self.years.contains(year) else { throw MSBError.validationFailed("year must be \(Self.years.lowerBound) to \(Self.years.upperBound)") }
        let read = { (texts: [String], field: String) throws -> Set<CalendarDate> in
            guard texts.count <= 366 else { throw MSBError.validationFailed("\(field) lists more days than a year has") }
            return Set(try texts.map { text in
                guard let day = CalendarDate(text), day.year == year else {
                    throw MSBError.validationFailed("\(field) must hold dates YYYY-MM-DD of \(year)")
                }
                return day
            })
        }
        let (rest, work) = (try read(holidays, "holidays"), try read(workdays, "workdays"))
        guard rest.isDisjoint(with: work) else { throw MSBError.validationFailed("a day cannot be both a holiday and a working day") }
        guard work.allSatisfy(\.isWeekend) else { throw MSBError.validationFailed("workdays (调休) must be Saturdays or Sundays") }
        let arrangement = WorkingCalendar.Year(year: year, holidays: rest, workdays: work)
        let (audit, stamp, cache) = (self.audit, Timestamp(now()), self.cache)
        let created = try await transactions.write { db in
            let created = try CalendarStore.put(arrangement, at: stamp, db)
            try audit.append(db, actor: actor, action: "calendar.uploaded", object: "calendar:\(year)",
                             detail: ["holidays": .int(Int64(rest.count)), "workdays": .int(Int64(work.count))])
            cache.forget()
            return created
        }
        return (arrangement, stamp, created)
    }

    /// One uploaded year; 404 `not_found` for a year nobody uploaded.
    public func year(_ year: Int) async throws -> (year: WorkingCalendar.Year, updatedAt: Timestamp) {
        guard let stored = try await transactions.read({ db in try CalendarStore.year(year, db) }) else {
            throw MSBError.notFound("no calendar uploaded for \(year); weekends alone count as rest days")
        }
        return stored
    }

    /// Every uploaded year as one calendar.
    public func calendar() async throws -> WorkingCalendar {
        if let known = cache.calendar { return known }
        let generation = cache.generation
        let calendar = try await transactions.read { db in try Self.load(db) }
        cache.store(calendar, readAt: generation)
        return calendar
    }

    static func load(_ db: Database) throws -> WorkingCalendar { WorkingCalendar(try CalendarStore.all(db).map(\.year)) }

    /// What `/readyz` warns of: this year without a calendar, and from December on, next year.
    public func warnings() async throws -> [String] {
        let today = CalendarDate(now())
        let wanted = today.text.dropFirst(5).hasPrefix("12") ? [today.year, today.year + 1] : [today.year]
        return try await calendar().missing(wanted).map { "no working-day calendar uploaded for \($0): weekends alone count as rest days" }
    }
}

/// The calendar read last, until an upload commits (a read that began before it cannot
/// store its older answer after it).
final class CalendarCache: Sendable {
    private let state = Locked<(generation: Int, calendar: WorkingCalendar?)>((0, nil))

    var calendar: WorkingCalendar? { state.withLock { $0.calendar } }
    var generation: Int { state.withLock { $0.generation } }

    func store(_ calendar: WorkingCalendar, readAt generation: Int) {
        state.withLock { if $0.generation == generation { $0.calendar = calendar } }
    }

    func forget() {
        state.withLock {
            $0.generation += 1
            $0.calendar = nil
        }
    }
}

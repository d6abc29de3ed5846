import Foundation
import HummingbirdTesting
@testable import MaShangBan
import MaShangBanTestSupport
import Testing
@testable import MaShangBanServer

/// The working-day calendar over HTTP, and `/readyz`'s warning for a year nobody uploaded.
@Suite("Working-day calendar routes")
struct CalendarRoutesTests {
    static let y2026 = #"{"holidays":["2026-10-01","2026-01-01","2026-10-02"],"workdays":["2026-10-10"]}"#

    @Test func anAdminUploadsAYearAndEveryoneReadsIt() async throws {
        try await TestServer().test { client in
            let created = try await client.call(.put, "/v1/calendar/2026", json: Self.y2026)
            #expect(created.status == .created, "\(created.text)")
            let again = try await client.call(.put, "/v1/calendar/2026", json: Self.y2026)
            #expect(again.status == .ok, "uploading a year again replaces it")
            let app = try await client.createClient(role: "app").token
            let read = try await client.call(.get, "/v1/calendar/2026", token: app).json()
            #expect(read["holidays"] as? [String] == ["2026-01-01", "2026-10-01", "2026-10-02"])
            #expect(read["workdays"] as? [String] == ["2026-10-10"])
            try await client.call(.get, "/v1/calendar/2027", token: app).expectProblem(404, "not_found")
            try await client.call(.get, "/v1/calendar/1999").expectProblem(404, "not_found")
            try await client.call(.put, "/v1/calendar/2026", token: app, json: Self.y2026).expectProblem(403, "forbidden")
            for bad in [#"{"holidays":["2027-01-01"],"workdays":[]}"#, #"{"holidays":["2026-10-12"],"workdays":["2026-10-12"]}"#,
                        #"{"holidays":[],"workdays":["2026-10-12"]}"#, #"{"holidays":["2026-13-01"],"workdays":[]}"#] {
                try await client.call(.put, "/v1/calendar/2026", json: bad).expectProblem(422, "validation_failed")
            }
            try await client.call(.put, "/v1/calendar/2026", json: #"{"holidays":[]}"#).expectProblem(400, "bad_request")
        }
    }

    @Test func readyzWarnsOfAMissingYear() async throws {
        let clock = TestClock()  // 2027-01-15
        try await TestServer(now: clock.now).test { client in
            let warned = try await client.call(.get, "/readyz", token: nil)
            #expect(warned.status == .ok)
            #expect((try warned.json()["warnings"] as? [String])?.first?.contains("2027") == true)
            #expect(try await client.call(.put, "/v1/calendar/2027", json: #"{"holidays":["2027-01-01"],"workdays":[]}"#).status == .created)
            #expect(try await client.call(.get, "/readyz", token: nil).json()["warnings"] as? [String] == [])
            clock.advance(330 * 86_400)  // December: next year's calendar is due
            let december = try await client.call(.get, "/readyz", token: nil).json()["warnings"] as? [String]
            #expect(december?.count == 1 && december?.first?.contains("2028") == true)
        }
    }
}

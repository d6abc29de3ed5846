import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
@testable import MaShangBan
import MaShangBanTestSupport
import Testing
@testable import MaShangBanServer

/// 赋码入企 through HTTP: apply → approve → code → enter → exit, every red reason and
/// warning with its code, joint inspections, and each party kept to its own visits.
@Suite("Visit codes (赋码入企)")
struct VisitRoutesTests {
    static func server(_ clock: TestClock, crypto: CryptoProfile = .intl, configure: (inout ServeConfiguration) -> Void = { _ in })
        throws -> TestServer
    {
        try TestServer(configure: {
            $0.crypto = crypto
            $0.backend.rateLimits = .unlimited
            configure(&$0)
        }, now: clock.now)
    }

    static let day = 86_400.0

    @Test(arguments: CryptoProfile.allCases)
    func theGreenPathFromApplicationToExit(crypto: CryptoProfile) async throws {
        let clock = TestClock()
        let server = try Self.server(clock, crypto: crypto)
        try await server.test { client in
            let world = try await Visiting.open(client, now: clock.now)
            let applied = try await world.apply()
            #expect(applied.status == .created, "\(applied.text)")
            let visit = try applied.json()
            let id = try #require(visit["id"] as? String)
            #expect(visit["status"] as? String == "applied")
            let checks = try #require(visit["checks"] as? [String: Any])
            #expect(checks["colour"] as? String == "red")
            #expect(checks["reasons"] as? [String] == ["head_not_approved"])

            // The enterprise sees it in advance: officials' names masked, credential numbers shown.
            let planned = try await client.call(.get, "/v1/enterprise/visits", token: world.door).json()
            let seen = try #require((planned["visits"] as? [[String: Any]])?.first)
            #expect(seen["id"] as? String == id && seen["legal_basis"] as? String == "《安全生产法》第六十五条")
            let officials = try #require(seen["officials"] as? [[String: Any]])
            #expect(officials.map { $0["name"] as? String } == ["李*法", "王*查"])
            #expect(officials.map { $0["credential_no"] as? String } == ["43040001", "43040002"])

            #expect(try await world.book(id, date: "2027-01-22").status == .ok)
            let approved = try await world.approve(id)
            #expect(approved.status == .ok, "\(approved.text)")
            #expect(try approved.json()["status"] as? String == "approved")

            let code = try await world.code(id)
            #expect(code["colour"] as? String == "green")
            #expect(code["reasons"] as? [String] == [])
            #expect(code["expires_at"] as? String == "2027-01-29T16:00:00.000Z", "the end of the last day, China time")
            let token = try #require(code["token"] as? String)
            #expect(token.utf8.count <= 300)
            let claims = try QRToken.verify(token, kind: .visit, region: "430400", keyring: server.backend.keyring, now: clock.now())
            #expect(claims.typ == .visit)
            for person in [Sample.person, "李执法", "43040001"] { #expect(!token.contains(person)) }
            let png = try await client.call(.get, "/v1/visits/\(id)/qr.png", token: world.token(Visiting.safety))
            #expect(png.status == .ok && png.headers[.contentType] == "image/png")

            clock.advance(7 * Self.day)  // 2027-01-22, the booked day
            let entered = try await world.scan(token)
            #expect(entered.status == .ok, "\(entered.text)")
            let entry = try entered.json()
            #expect(entry["colour"] as? String == "green")
            #expect((entry["entry"] as? [String: Any])?["event"] as? String == "enter")
            #expect((entry["visit"] as? [String: Any])?["matter"] as? String == Visiting.matter)
            try await world.scan(token).expectProblem(409, "visit_event_out_of_order")
            clock.advance(3600)
            let left = try await world.scan(token, event: "exit")
            #expect((try left.json()["entry"] as? [String: Any])?["event"] as? String == "exit")
            try await world.scan(token, event: "exit").expectProblem(409, "visit_event_out_of_order")

            let timeline = try #require(try await world.visit(id)["timeline"] as? [[String: Any]])
            #expect(timeline.map { $0["event"] as? String } == ["enter", "exit"])
            #expect(timeline.map { $0["at"] as? String } == ["2027-01-22T08:00:00.000Z", "2027-01-22T09:00:00.000Z"])
            #expect(timeline.map { $0["door"] as? String } == ["test", "test"], "the door that scanned")
            // 码上评, once the officials have left.
            let rated = try await client.call(.post, "/v1/visits/\(id)/rating", token: world.door, json: #"{"score":5,"comment":"规范"}"#)
            #expect(rated.status == .created, "\(rated.text)")
            #expect(try rated.json()["level"] as? String == "非常满意")
        }
        let actions = try await server.backend.transactions.pool.read { db in
            try String.fetchAll(db, sql: "SELECT action FROM audit_records WHERE action LIKE 'visit.%' ORDER BY seq")
        }
        #expect(actions == ["visit.applied", "visit.booked", "visit.approved", "visit.coded", "visit.coded", "visit.entered", "visit.exited",
                            "visit.rated"])
    }

    @Test func applicationsAreChecked() async throws {
        let clock = TestClock()
        try await Self.server(clock).test { client in
            let world = try await Visiting.open(client, now: clock.now)
            try await world.apply(officials: ["s1", "s3"]).expectProblem(422, "officials_insufficient")
            try await world.apply(officials: ["s1"]).expectProblem(422, "officials_insufficient")
            try await world.apply(officials: ["s1", "f1"]).expectProblem(422, "official_unknown")
            try await world.apply(enterprise: "91350100M000100Y44").expectProblem(422, "invalid_credit_code")
            try await world.apply(enterprise: "91350100M000100Y43").expectProblem(422, "enterprise_not_protected")
            try await world.apply(type: "raid").expectProblem(422, "validation_failed")
            try await world.apply(from: "2027-01-10").expectProblem(422, "validation_failed")
            try await world.apply(from: "2027-01-20", until: "2027-06-20").expectProblem(422, "validation_failed")
            try await world.apply(dates: ["2027-02-22"]).expectProblem(422, "validation_failed")
            #expect(try await world.apply(type: "survey", officials: ["s3"]).status == .created, "a survey needs no credentials")
            #expect(try await world.apply(type: "inspection", dates: nil).status == .created, "days may be proposed later")
        }
    }

    @Test func theRegistryIsAdmins() async throws {
        let clock = TestClock()
        try await Self.server(clock).test { client in
            let world = try await Visiting.open(client, now: clock.now)
            let renamed = try await client.call(.post, "/v1/protected-enterprises", json: #"{"credit_code":"\#(Visiting.enterprise)","name":"改名"}"#)
            #expect(renamed.status == .ok, "registering again renames")
            let added = try await client.call(.post, "/v1/protected-enterprises", json: #"{"credit_code":"91430405MA4PQ1234T","name":"新企业"}"#)
            #expect(added.status == .created)
            let batch = "{\"credit_code\":\"bad\",\"name\":\"x\"}\nnot json\n\n{\"credit_code\":\"914304007072084114\",\"name\":\"y\"}\n"
            let result = try await client.call(.post, "/v1/protected-enterprises/batch", json: batch).json()
            #expect(result["accepted"] as? Int == 1)
            #expect((result["rejected"] as? [[String: Any]])?.map { $0["line"] as? Int } == [1, 2])
            #expect((result["rejected"] as? [[String: Any]])?.map { $0["code"] as? String } == ["invalid_credit_code", "bad_request"])
            let listed = try await client.call(.get, "/v1/protected-enterprises", token: world.token(Visiting.safety)).json()
            #expect((listed["enterprises"] as? [[String: Any]])?.count == 5)
            try await client.call(.post, "/v1/units", json: #"""
                {"code":"hy-safety","name":"x","head":"\#(Sample.person)","supervisor_webhook":"http://127.0.0.1:9/"}
                """#).expectProblem(422, "unit_exists")
            try await client.call(.post, "/v1/units", json: #"""
                {"code":"hy-x","name":"x","head":"430405198501011234","supervisor_webhook":"http://127.0.0.1:9/"}
                """#).expectProblem(422, "invalid_citizen_id")
            try await client.call(.post, "/v1/units", json: #"""
                {"code":"hy-x","name":"x","head":"\#(Sample.person)","supervisor_webhook":"ftp://x/"}
                """#).expectProblem(422, "validation_failed")
            try await client.call(.post, "/v1/units/hy-safety/officials", json: #"{"id":"s1","name":"重名"}"#).expectProblem(422, "official_exists")
            try await client.call(.post, "/v1/units/nope/officials", json: #"{"id":"n1","name":"某"}"#).expectProblem(404, "not_found")
            try await client.call(.post, "/v1/units/hy-fire/filings", json: #"{"year":2027,"enterprise":"91350100M000100Y43","type":"inspection","count":1}"#)
                .expectProblem(422, "enterprise_not_protected")
            try await client.call(.post, "/v1/clients", json: #"{"role":"unit","name":"x","unit":"nope"}"#).expectProblem(422, "unit_unknown")
            try await client.call(.post, "/v1/clients", json: #"{"role":"enterprise","name":"x"}"#).expectProblem(422, "validation_failed")
            try await client.call(.post, "/v1/clients", json: #"{"role":"app","name":"x","unit":"hy-safety"}"#).expectProblem(422, "validation_failed")
            // Officials: names masked, credential numbers as registered; a unit reads only its own.
            let officials = try await client.call(.get, "/v1/units/hy-safety/officials", token: world.token(Visiting.safety)).json()
            #expect((officials["officials"] as? [[String: Any]])?.map { $0["name"] as? String } == ["李*法", "王*查", "赵*员"])
            try await client.call(.get, "/v1/units/hy-safety/officials", token: world.token(Visiting.fire)).expectProblem(404, "not_found")
            try await client.call(.get, "/v1/units/hy-safety/filings", token: world.token(Visiting.fire)).expectProblem(404, "not_found")
            try await client.call(.post, "/v1/units/hy-fire/officials", token: world.token(Visiting.fire), json: #"{"id":"x","name":"x"}"#)
                .expectProblem(403, "forbidden")
            // Every registry change is the admin's: each other role is refused.
            let app = try await client.createClient(role: "app").token
            let changes: [(HTTPRequest.Method, String, String)] = [
                (.post, "/v1/units", "{}"), (.post, "/v1/units/hy-fire/officials", "{}"), (.delete, "/v1/units/hy-fire/officials/f1", ""),
                (.post, "/v1/units/hy-fire/filings", "{}"), (.put, "/v1/units/hy-fire/webhook", "{}"),
                (.post, "/v1/units/hy-fire/question-categories", "{}"), (.post, "/v1/protected-enterprises", "{}"),
                (.post, "/v1/protected-enterprises/batch", "{}"), (.put, "/v1/calendar/2027", "{}"),
            ]
            for token in [world.token(Visiting.fire), world.door, world.supervisor, app] {
                for (method, path, body) in changes {
                    try await client.call(method, path, token: token, json: body.isEmpty ? nil : body).expectProblem(403, "forbidden")
                }
            }
        }
    }
}

/// Each rule that turns a code red, and each warning, through the API.
@Suite("Visit codes: red reasons and warnings")
struct VisitReasonTests {
    @Test func headApprovalAndEnterpriseAgreement() async throws {
        let clock = TestClock()
        try await VisitRoutesTests.server(clock).test { client in
            let world = try await Visiting.open(client, now: clock.now)
            let survey = try await world.approvedVisit(type: "survey")
            #expect(try await world.checks(survey)["reasons"] as? [String] == ["enterprise_not_asked"])
            try await client.call(.post, "/v1/visits/\(survey)/enterprise-decision", token: world.door, json: #"{"decision":"refuse"}"#)
                .expectProblem(422, "validation_failed")
            let refused = try await client.call(.post, "/v1/visits/\(survey)/enterprise-decision", token: world.door,
                                                json: #"{"decision":"refuse","reason":"生产旺季，请改期"}"#)
            #expect(refused.status == .ok)
            #expect((try refused.json()["checks"] as? [String: Any])?["reasons"] as? [String] == ["enterprise_refused"])
            try await client.call(.post, "/v1/visits/\(survey)/enterprise-decision", token: world.door, json: #"{"decision":"agree"}"#)
                .expectProblem(409, "visit_state_conflict")
            let tour = try await world.approvedVisit(type: "tour")
            let agreed = try await client.call(.post, "/v1/visits/\(tour)/enterprise-decision", token: world.door, json: #"{"decision":"agree"}"#)
            #expect((try agreed.json()["checks"] as? [String: Any])?["colour"] as? String == "green")
            let inspection = try await world.approvedVisit()
            try await client.call(.post, "/v1/visits/\(inspection)/enterprise-decision", token: world.door, json: #"{"decision":"agree"}"#)
                .expectProblem(409, "visit_state_conflict")
            try await world.approve(inspection).expectProblem(409, "visit_state_conflict")
            // The face check must be the head's, asked for by this unit client for this purpose.
            let pending = try await world.applied()
            let stranger = try await client.attestation(Sample.otherPerson, app: world.token(Visiting.safety), provider: world.provider,
                                                        purpose: "visit_approval", now: clock.now())
            try await client.call(.post, "/v1/visits/\(pending)/approve", token: world.token(Visiting.safety),
                                  json: #"{"attestation":"\#(stranger)"}"#).expectProblem(422, "attestation_invalid")
            try await client.call(.post, "/v1/face-auth/challenges", token: world.token(Visiting.safety),
                                  json: #"{"subject":"\#(Sample.person)","purpose":"consent"}"#).expectProblem(403, "forbidden")
            try await client.call(.post, "/v1/visits/\(survey)/approve", token: world.token(Visiting.safety),
                                  json: #"{"attestation":"x","unannounced":true}"#).expectProblem(409, "visit_state_conflict")
        }
    }

    @Test func theAnnualFilingAndUnannouncedInspections() async throws {
        let clock = TestClock()
        try await VisitRoutesTests.server(clock).test { client in
            let world = try await Visiting.open(client, now: clock.now)
            let first = try await world.approvedVisit()
            let second = try await world.approvedVisit()
            let third = try await world.approvedVisit()
            #expect(try await world.checks(first)["colour"] as? String == "green")
            #expect(try await world.checks(second)["colour"] as? String == "green")
            #expect(try await world.checks(third)["reasons"] as? [String] == ["over_annual_filing"], "filed 2")
            // Withdrawing the second frees its place; the withdrawn one's code is dead.
            let second_ = try await client.call(.post, "/v1/visits/\(second)/withdraw", token: world.token(Visiting.safety))
            #expect(try second_.json()["status"] as? String == "withdrawn")
            #expect(try await world.checks(third)["colour"] as? String == "green")
            try await client.call(.post, "/v1/visits/\(second)/code", token: world.token(Visiting.safety)).expectProblem(409, "visit_state_conflict")
            // Another unit has filed nothing.
            let fire = try await world.approvedVisit(Visiting.fire, enterprise: Visiting.otherEnterprise)
            #expect(try await world.checks(fire, unit: Visiting.fire)["reasons"] as? [String] == ["over_annual_filing"])

            let surprise = try await world.applied(matter: "危险化学品专项检查", enterprise: Visiting.otherEnterprise, dates: nil)
            #expect(try await client.call(.post, "/v1/units/hy-safety/filings",
                                          json: #"{"year":2027,"enterprise":"\#(Visiting.otherEnterprise)","type":"inspection","count":5}"#)
                .status == .created)
            #expect(try await world.approve(surprise, unannounced: true).status == .ok)
            let code = try await world.code(surprise)
            #expect(code["colour"] as? String == "green")
            #expect(code["warnings"] as? [String] == ["unannounced"])
            try await client.call(.post, "/v1/visits/\(surprise)/booking", token: world.otherDoor, json: #"{"date":"2027-01-22"}"#)
                .expectProblem(409, "visit_state_conflict")
            clock.advance(10 * VisitRoutesTests.day)  // 2027-01-25: any day of the window
            let token = try #require(code["token"] as? String)
            #expect(try await world.scan(token, door: world.otherDoor).json()["colour"] as? String == "green")
        }
    }

    @Test func theDoorKeepsToTheBookedDayAndTheUnitsOfficials() async throws {
        let clock = TestClock()
        try await VisitRoutesTests.server(clock).test { client in
            let world = try await Visiting.open(client, now: clock.now)
            // Booking: the enterprise confirms one of the unit's days or proposes its own.
            let other = try await world.applied()
            try await world.book(other, date: "2027-01-25").expectProblem(422, "validation_failed")
            let proposed = try await client.call(.post, "/v1/visits/\(other)/booking", token: world.door, json: #"{"dates":["2027-01-26"]}"#)
            #expect(((try proposed.json()["booking"] as? [String: Any])?["enterprise_dates"] as? [String]) == ["2027-01-26"])
            let booked = try await world.book(other, date: "2027-01-26", by: world.token(Visiting.safety))
            #expect(((try booked.json()["booking"] as? [String: Any])?["date"] as? String) == "2027-01-26")
            try await world.book(other, date: "2027-01-26", by: world.token(Visiting.safety)).expectProblem(409, "visit_state_conflict")
            try await client.call(.post, "/v1/visits/\(other)/booking", token: world.door, json: #"{"date":"2027-01-22","dates":[]}"#)
                .expectProblem(422, "validation_failed")
            let id = try await world.approvedVisit()
            let token = try #require(try await world.code(id)["token"] as? String)
            clock.advance(8 * VisitRoutesTests.day)  // the 23rd: not the booked day
            let early = try await world.scan(token).json()
            #expect(early["colour"] as? String == "red")
            #expect(early["reasons"] as? [String] == ["outside_window"])
            #expect(early["entry"] is NSNull)
            clock.advance(-VisitRoutesTests.day)  // the 22nd
            #expect(try await client.call(.delete, "/v1/units/hy-safety/officials/s2").status == .noContent)
            let withdrawn = try await world.scan(token).json()
            #expect(withdrawn["reasons"] as? [String] == ["official_withdrawn"])
            try await world.scan(token, event: "exit").expectProblem(409, "visit_event_out_of_order")
            // A code drawn before its visit was withdrawn is dead at the door.
            #expect(try await client.call(.post, "/v1/visits/\(id)/withdraw", token: world.token(Visiting.safety)).status == .ok)
            let dead = try await world.scan(token).json()
            #expect(dead["reasons"] as? [String] == ["official_withdrawn", "visit_withdrawn"])
            let timeline = try #require(try await world.visit(id)["timeline"] as? [[String: Any]])
            #expect(timeline.map { $0["event"] as? String } == ["refused", "refused", "refused"])
            #expect(timeline.map { $0["reasons"] as? [String] } == [["outside_window"], ["official_withdrawn"], ["official_withdrawn", "visit_withdrawn"]])
        }
    }

    @Test func frequentVisitsWarnButKeepTheColour() async throws {
        let clock = TestClock()
        try await VisitRoutesTests.server(clock).test { client in
            let world = try await Visiting.open(client, now: clock.now)
            var visits: [String] = []
            for _ in 0..<3 { visits.append(try await world.applied(type: "service")) }
            #expect(try await world.checks(visits[2])["warnings"] as? [String] == [], "three in 30 days")
            visits.append(try await world.applied(type: "service"))
            for id in [visits[0], visits[3]] {
                let checks = try await world.checks(id)
                #expect(checks["warnings"] as? [String] == ["frequent_visits"], "four in 30 days")
                #expect(checks["reasons"] as? [String] == ["head_not_approved"], "a warning keeps the colour")
            }
            // Another enterprise's visits are not counted.
            #expect(try await world.checks(try await world.applied(type: "service", enterprise: Visiting.otherEnterprise))["warnings"]
                as? [String] == [])
        }
    }
}

/// 一次进门、多事联查: a second unit's inspection of the same matter is red until merged.
@Suite("Joint inspections")
struct JointInspectionTests {
    @Test func aDuplicateIsJoinedIntoOneVisitCountedOnce() async throws {
        let clock = TestClock()
        try await VisitRoutesTests.server(clock) { $0.backend.visits.frequentVisits = 2 }.test { client in
            let world = try await Visiting.open(client, now: clock.now)
            #expect(try await client.call(.post, "/v1/units/hy-fire/filings",
                                          json: #"{"year":2027,"enterprise":"\#(Visiting.enterprise)","type":"inspection","count":1}"#)
                .status == .created)
            let lead = try await world.approvedVisit()
            let second = try await world.approvedVisit(Visiting.fire)
            let checks = try await world.checks(second, unit: Visiting.fire)
            #expect(checks["reasons"] as? [String] == ["duplicate_inspection"])
            #expect(checks["joint_candidates"] as? [String] == [lead])
            #expect(try await world.checks(lead)["colour"] as? String == "green", "the first approved is not the duplicate")
            // Only the lead's unit accepts, and only a request made.
            let fire = world.token(Visiting.fire)
            try await client.call(.post, "/v1/visits/\(second)/join/accept", token: world.token(Visiting.safety)).expectProblem(404, "not_found")
            let asked = try await client.call(.post, "/v1/visits/\(second)/join", token: fire, json: #"{"visit":"\#(lead)"}"#)
            #expect(asked.status == .ok, "\(asked.text)")
            try await client.call(.post, "/v1/visits/\(second)/join/accept", token: fire).expectProblem(404, "not_found")
            #expect(try await world.visit(lead)["joint"].flatMap { ($0 as? [String: Any])?["requests"] as? [String] } == [second])
            let accepted = try await client.call(.post, "/v1/visits/\(second)/join/accept", token: world.token(Visiting.safety))
            #expect(accepted.status == .ok, "\(accepted.text)")
            let joint = try accepted.json()
            #expect((joint["officials"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["s1", "s2", "f1", "f2"])
            #expect((joint["joint"] as? [String: Any])?["members"] as? [String] == [second])
            #expect(try await world.visit(second, token: fire)["status"] as? String == "joined")
            // One code, green for both units; the second unit draws the same visit's code.
            let code = try await world.code(lead)
            #expect(code["colour"] as? String == "green")
            #expect(try await world.code(second, unit: Visiting.fire)["visit"] as? String == lead)
            // Counted once: with at most two visits in 30 days allowed, a third visit sees one
            // before it (the joint visit), not two, so no warning.
            let service = try await world.apply(type: "service", from: "2027-01-22", dates: ["2027-01-22"])
            #expect((try service.json()["checks"] as? [String: Any])?["warnings"] as? [String] == [])
            let another = try await world.apply(type: "service", from: "2027-01-22", dates: ["2027-01-22"])
            #expect((try another.json()["checks"] as? [String: Any])?["warnings"] as? [String] == ["frequent_visits"])
        }
    }
}

/// Every party keeps to its own: another unit, another enterprise and every other role are
/// refused on each visit route; the audit log names nobody.
@Suite("Visit codes: parties")
struct VisitPartyTests {
    @Test func eachPartyTouchesOnlyItsOwnVisits() async throws {
        let clock = TestClock()
        let server = try VisitRoutesTests.server(clock)
        try await server.test { client in
            let world = try await Visiting.open(client, now: clock.now)
            let id = try await world.approvedVisit()
            let fire = world.token(Visiting.fire)
            // Another unit: not found, whatever it tries.
            for (method, path) in [(HTTPRequest.Method.get, ""), (.post, "/withdraw"), (.post, "/code"), (.post, "/join/accept"),
                                   (.get, "/qr.png")] {
                try await client.call(method, "/v1/visits/\(id)\(path)", token: fire).expectProblem(404, "not_found")
            }
            try await client.call(.post, "/v1/visits/\(id)/approve", token: fire, json: #"{"attestation":"x"}"#).expectProblem(404, "not_found")
            try await client.call(.post, "/v1/visits/\(id)/booking", token: fire, json: #"{"dates":["2027-01-25"]}"#)
                .expectProblem(404, "not_found")
            let fireList = try await client.call(.get, "/v1/visits", token: fire).json()
            #expect((fireList["visits"] as? [[String: Any]])?.isEmpty == true)
            // Another enterprise: not found, and its door refuses the code without learning anything of it.
            try await client.call(.post, "/v1/visits/\(id)/booking", token: world.otherDoor, json: #"{"dates":["2027-01-25"]}"#)
                .expectProblem(404, "not_found")
            try await client.call(.post, "/v1/visits/\(id)/enterprise-decision", token: world.otherDoor, json: #"{"decision":"agree"}"#)
                .expectProblem(404, "not_found")
            let otherList = try await client.call(.get, "/v1/enterprise/visits", token: world.otherDoor).json()
            #expect((otherList["visits"] as? [[String: Any]])?.isEmpty == true)
            let token = try #require(try await world.code(id)["token"] as? String)
            clock.advance(7 * VisitRoutesTests.day)
            let wrongDoor = try await world.scan(token, door: world.otherDoor)
            try wrongDoor.expectProblem(422, "token_invalid")
            #expect(!wrongDoor.text.contains(Visiting.matter))
            try await world.scan("not-a-token").expectProblem(422, "token_invalid")
            // The unit's own routes are for units; the door's for enterprises; reading for the supervisor too.
            let app = try await client.createClient(role: "app").token
            let terminal = try await client.createClient(role: "terminal", hall: "HY-ZX-01").token
            for token in [app, terminal, world.door, world.supervisor] {
                try await world.client.call(.post, "/v1/visits", token: token, json: "{}").expectProblem(403, "forbidden")
                try await client.call(.post, "/v1/visits/\(id)/code", token: token).expectProblem(403, "forbidden")
            }
            for token in [app, terminal, world.token(Visiting.safety), world.supervisor, adminToken] {
                try await client.call(.post, "/v1/visit-scans", token: token, json: #"{"token":"\#(token)","event":"enter"}"#)
                    .expectProblem(403, "forbidden")
                try await client.call(.get, "/v1/enterprise/visits", token: token).expectProblem(403, "forbidden")
            }
            for token in [world.supervisor, adminToken] {
                #expect(try await client.call(.get, "/v1/visits/\(id)", token: token).status == .ok)
            }
            try await client.call(.post, "/v1/units", token: world.supervisor, json: "{}").expectProblem(403, "forbidden")
        }
        let refusals = try await server.backend.transactions.pool.read { db in
            try String.fetchAll(db, sql: "SELECT reasons FROM visit_events WHERE event = 'refused' ORDER BY id")
        }
        #expect(refusals == [#"["wrong_enterprise"]"#, #"["token_invalid"]"#])
        let notices = try await server.backend.transactions.pool.read { db in
            try String.fetchAll(db, sql: "SELECT body FROM notices")
        }
        #expect(notices.count == 1, "a known visit's refusal goes to its unit's supervisor")
        #expect(notices.first?.contains(#""reasons":["wrong_enterprise"]"#) == true)
        let audit = try await server.backend.transactions.pool.read { db in
            try String.fetchAll(db, sql: "SELECT actor || object || detail FROM audit_records").joined()
        }
        for personal in [Sample.person, Sample.otherPerson, "李执法", "43040001", Visiting.enterprise, Visiting.otherEnterprise] {
            #expect(!audit.contains(personal), "the audit log names \(personal)")
        }
    }
}

/// A red code at the door reaches the unit's supervisor: signed with the secret the unit
/// was registered with, through the delivery worker and a real receiver.
@Suite("Visit codes: supervisor webhook", .serialized)
struct VisitSupervisorTests {
    @Test func aRedScanIsDeliveredToTheSupervisor() async throws {
        let stub = try Stub.reserve()
        let server = try TestServer { $0.backend.rateLimits = .unlimited }
        try await server.test { client in
            let world = try await Visiting.open(client, now: { Date() }, supervisorWebhook: stub.url)
            let receiver = try stub.start(secret: try #require(world.secrets[Visiting.safety]))
            let today = CalendarDate(Date())
            let applied = try await world.apply(from: today.text, until: today.adding(days: 3).text, dates: [today.text])
            let id = try #require(try applied.json()["id"] as? String)
            let token = try #require(try await world.code(id)["token"] as? String)
            let scanned = try await world.scan(token).json()
            #expect(scanned["colour"] as? String == "red")
            #expect(scanned["reasons"] as? [String] == ["head_not_approved", "over_annual_filing", "outside_window"], "approved, filed, booked: none")
            #expect(try await eventually(10) { try stub.received().count == 1 })
            let notice = try await server.backend.transactions.pool.read { db in try String.fetchOne(db, sql: "SELECT id FROM notices") }
            #expect(try stub.received().keys == [try #require(notice)])
            #expect(try await eventually(5) {
                try await server.backend.transactions.pool.read { db in
                    try String.fetchOne(db, sql: "SELECT status FROM notices") == "delivered"
                }
            })
            _ = receiver.stop()
        }
        let delivered = try await server.backend.transactions.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_records WHERE action = 'notice.delivered'")
        }
        #expect(delivered == 1)
    }
}

/// 码上约 (an enterprise asks for a visit) and 码上评 (it rates one), and what the
/// supervisor and the rated unit each see of the ratings.
@Suite("Visit codes: appointments, ratings and figures")
struct VisitRatingTests {
    @Test func anEnterpriseAsksForAServiceVisit() async throws {
        let clock = TestClock()
        try await VisitRoutesTests.server(clock).test { client in
            let world = try await Visiting.open(client, now: clock.now)
            let ask = { (unit: String, door: String) in
                try await client.call(.post, "/v1/appointments", token: door,
                                      json: #"{"unit":"\#(unit)","topic":"咨询安全生产标准化建设","preferred_dates":["2027-01-21","2027-01-22"]}"#)
            }
            try await ask("nope", world.door).expectProblem(422, "unit_unknown")
            let unprotected = try await client.createClient(role: "enterprise", party: "91350100M000100Y43").token
            try await ask(Visiting.safety, unprotected).expectProblem(422, "enterprise_not_protected")
            let asked = try await ask(Visiting.safety, world.door)
            #expect(asked.status == .created, "\(asked.text)")
            let id = try #require(try asked.json()["id"] as? String)
            let second = try #require(try await ask(Visiting.safety, world.door).json()["id"] as? String)
            // The unit it was asked of sees it; the other unit and the other enterprise do not.
            let safety = world.token(Visiting.safety)
            #expect((try await client.call(.get, "/v1/appointments", token: safety).json()["appointments"] as? [Any])?.count == 2)
            #expect((try await client.call(.get, "/v1/appointments", token: world.otherDoor).json()["appointments"] as? [Any])?.count == 0)
            #expect((try await client.call(.get, "/v1/appointments", token: world.token(Visiting.fire)).json()["appointments"] as? [Any])?
                .count == 0)
            let accept = #"{"date":"2027-01-21","officials":["s3"]}"#
            try await client.call(.post, "/v1/appointments/\(id)/accept", token: world.token(Visiting.fire), json: accept)
                .expectProblem(404, "not_found")
            try await client.call(.post, "/v1/appointments/\(id)/accept", token: safety, json: #"{"date":"2027-01-25","officials":["s3"]}"#)
                .expectProblem(422, "validation_failed")
            let acceptance = try await client.call(.post, "/v1/appointments/\(id)/accept", token: safety, json: accept)
            #expect(acceptance.status == .ok, "\(acceptance.text)")
            let accepted = try acceptance.json()
            #expect(accepted["status"] as? String == "accepted")
            let visit = try #require(accepted["visit"] as? String)
            let view = try await world.visit(visit)
            #expect(view["type"] as? String == "service")
            #expect((view["booking"] as? [String: Any])?["date"] as? String == "2027-01-21")
            #expect((view["decision"] as? [String: Any])?["decision"] as? String == "agree")
            #expect((view["checks"] as? [String: Any])?["reasons"] as? [String] == ["head_not_approved"], "only the head's approval missing")
            #expect(try await world.approve(visit).status == .ok)
            #expect(try await world.checks(visit)["colour"] as? String == "green")
            try await client.call(.post, "/v1/appointments/\(id)/decline", token: safety, json: #"{"reason":"x"}"#)
                .expectProblem(409, "visit_state_conflict")
            try await client.call(.post, "/v1/appointments/\(second)/decline", token: safety, json: #"{"reason":" "}"#)
                .expectProblem(422, "validation_failed")
            let declined = try await client.call(.post, "/v1/appointments/\(second)/decline", token: safety, json: #"{"reason":"本周无空余人员"}"#)
            #expect(try declined.json()["status"] as? String == "declined")
            let mine = try await client.call(.get, "/v1/appointments", token: world.door).json()["appointments"] as? [[String: Any]]
            #expect(Set(mine?.compactMap { $0["status"] as? String } ?? []) == ["accepted", "declined"])
        }
    }

    /// A served visit on the 22nd: booked, approved, coded, entered and left.
    static func servedVisit(_ world: Visiting, _ clock: TestClock, unit: String = Visiting.safety) async throws -> String {
        let id = try await world.approvedVisit(unit, type: "service")
        let token = try #require(try await world.code(id, unit: unit)["token"] as? String)
        clock.advance(7 * VisitRoutesTests.day)
        #expect(try await world.scan(token).status == .ok)
        #expect(try await world.scan(token, event: "exit").status == .ok)
        clock.advance(-7 * VisitRoutesTests.day)
        return id
    }

    @Test func ratingsAreAnonymousToTheRatedUnit() async throws {
        let clock = TestClock()
        let server = try VisitRoutesTests.server(clock)
        try await server.test { client in
            let world = try await Visiting.open(client, now: clock.now)
            let rate = { (id: String, score: Int, door: String) in
                try await client.call(.post, "/v1/visits/\(id)/rating", token: door, json: #"{"score":\#(score),"comment":"检查规范，没有打扰生产"}"#)
            }
            let unserved = try await world.approvedVisit(type: "service")
            try await rate(unserved, 5, world.door).expectProblem(409, "visit_state_conflict")
            var visits: [String] = []
            for _ in 0..<5 { visits.append(try await Self.servedVisit(world, clock)) }
            try await rate(visits[0], 6, world.door).expectProblem(422, "validation_failed")
            try await rate(visits[0], 5, world.otherDoor).expectProblem(404, "not_found")
            try await client.call(.post, "/v1/visits/\(visits[0])/rating", token: world.token(Visiting.safety), json: #"{"score":1}"#)
                .expectProblem(403, "forbidden")
            let first = try await rate(visits[0], 4, world.door)
            #expect(first.status == .created)
            #expect(try first.json()["level"] as? String == "满意")
            try await rate(visits[0], 5, world.door).expectProblem(409, "visit_already_rated")
            // The unit: no rating in its visit, only a count and, under five ratings, no average.
            let safety = world.token(Visiting.safety)
            let seen = try await client.call(.get, "/v1/visits/\(visits[0])", token: safety).text
            #expect(!seen.contains("检查规范") && !seen.contains("score") && !seen.contains("满意"))
            var own = try await client.call(.get, "/v1/visit-stats", token: safety).json()
            var rows = try #require(own["units"] as? [[String: Any]])
            #expect(rows.count == 1 && rows[0]["unit"] as? String == Visiting.safety)
            #expect(rows[0]["ratings"] as? Int == 1 && rows[0]["average_score"] is NSNull)
            #expect((own["ratings"] as? [Any])?.isEmpty == true)
            for (id, score) in zip(visits.dropFirst(), [5, 3, 4, 1]) { #expect(try await rate(id, score, world.door).status == .created) }
            own = try await client.call(.get, "/v1/visit-stats", token: safety).json()
            rows = try #require(own["units"] as? [[String: Any]])
            #expect(rows[0]["ratings"] as? Int == 5 && rows[0]["average_score"] as? String == "3.40", "an average over five ratings")
            #expect(!(try await client.call(.get, "/v1/visit-stats", token: safety).text).contains(Visiting.enterprise))
            // The supervisor sees each rating, with the enterprise, and every unit's row.
            let all = try await client.call(.get, "/v1/visit-stats", token: world.supervisor).json()
            let ratings = try #require(all["ratings"] as? [[String: Any]])
            #expect(ratings.count == 5)
            #expect(ratings.allSatisfy { $0["enterprise"] as? String == Visiting.enterprise && $0["comment"] as? String == "检查规范，没有打扰生产" })
            #expect((all["units"] as? [[String: Any]])?.compactMap { $0["unit"] as? String } == [Visiting.fire, Visiting.safety])
            #expect((all["frequent_visits"] as? [[String: Any]])?.isEmpty == false, "six visits on one day")
            try await client.call(.get, "/v1/visit-stats", token: world.door).expectProblem(403, "forbidden")
        }
        let comments = try await server.backend.transactions.pool.read { db in try Data.fetchAll(db, sql: "SELECT comment_box FROM visit_ratings") }
        #expect(comments.count == 5 && comments.allSatisfy { !String(decoding: $0, as: UTF8.self).contains("检查规范") }, "sealed at rest")
    }

    @Test func theLeagueTableCountsRedScansJointAndUnannouncedVisits() async throws {
        let clock = TestClock()
        try await VisitRoutesTests.server(clock).test { client in
            let world = try await Visiting.open(client, now: clock.now)
            let id = try await world.approvedVisit()
            let token = try #require(try await world.code(id)["token"] as? String)
            // Revoking the approval turns the code red until the head approves again.
            let revoked = try await client.call(.delete, "/v1/visits/\(id)/approval", token: world.token(Visiting.safety))
            #expect((try revoked.json()["checks"] as? [String: Any])?["reasons"] as? [String] == ["head_not_approved"])
            try await client.call(.delete, "/v1/visits/\(id)/approval", token: world.token(Visiting.safety)).expectProblem(409, "visit_state_conflict")
            clock.advance(7 * VisitRoutesTests.day)
            #expect(try await world.scan(token).json()["reasons"] as? [String] == ["head_not_approved"])
            clock.advance(-7 * VisitRoutesTests.day)
            let surprise = try await world.applied(matter: "危险化学品专项检查", dates: nil)
            #expect(try await world.approve(surprise, unannounced: true).status == .ok)
            let stats = try await client.call(.get, "/v1/visit-stats").json()
            let safety = try #require((stats["units"] as? [[String: Any]])?.first { $0["unit"] as? String == Visiting.safety })
            #expect(safety["visits"] as? Int == 2 && safety["red_scans"] as? Int == 1 && safety["unannounced"] as? Int == 1)
            #expect(safety["joint_visits"] as? Int == 0)
            #expect((stats["unannounced"] as? [[String: Any]])?.compactMap { $0["visit"] as? String } == [surprise])
        }
    }
}

import Foundation
import GRDB
import HummingbirdTesting
@testable import MaShangBan
import Testing
@testable import MaShangBanServer
import MaShangBanTestSupport

/// Issue 8: token buckets per client, per address and per holder; 429 `rate_limited` with
/// `Retry-After`; trips audited once a minute per bucket without personal data.
@Suite struct RateLimitTests {
    @Test func aTerminalOverItsRateIsRefusedUntilItsBucketRefills() async throws {
        let clock = ManualClock()
        let server = try TestServer(configure: { $0.backend.rateLimits.perRole[.terminal] = RateLimit(perSecond: 2, burst: 3) }, now: clock.now)
        try await server.test { client in
            let hall = try await Hall.open(client, now: clock.now)
            for _ in 0..<3 { #expect(try await hall.scan("not-a-token").status == .unprocessableContent) }
            let refused = try await hall.scan("not-a-token")
            try refused.expectProblem(429, "rate_limited")
            #expect(refused.headers[.retryAfter] == "1")
            // Other clients are not affected.
            #expect(try await client.call(.get, "/v1/clients").status == .ok)
            clock.advance(0.5)  // one token back
            #expect(try await hall.scan("not-a-token").status == .unprocessableContent)
            try await hall.scan("not-a-token").expectProblem(429, "rate_limited")
        }
        let records = try await server.backend.transactions.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT object, detail FROM audit_records WHERE action = 'rate_limit.tripped'")
                .map { [$0["object"] as String, $0["detail"] as String] }
        }
        // Two trips within a minute: one record, naming the client, not a person.
        #expect(records.count == 1)
        #expect(records.first?[0].hasPrefix("client:cli_") == true)
        #expect(records.first?[1].contains(#""scope":"client""#) == true)
    }

    /// Per holder and per app client: one app asking too often cannot lock the citizen out of another.
    @Test func challengesPerHolderAreLimitedPerApp() async throws {
        let clock = ManualClock()
        let server = try TestServer(configure: { $0.backend.rateLimits.challengesPerHolder = .perMinute(2) }, now: clock.now)
        try await server.test { client in
            let first = try await client.createClient(role: "app").token
            let second = try await client.createClient(role: "app").token
            let body = #"{"subject":"\#(Sample.person)"}"#
            #expect(try await client.call(.post, "/v1/face-auth/challenges", token: first, json: body).status == .created)
            #expect(try await client.call(.post, "/v1/face-auth/challenges", token: first, json: body).status == .created)
            let refused = try await client.call(.post, "/v1/face-auth/challenges", token: first, json: body)
            try refused.expectProblem(429, "rate_limited")
            #expect(refused.headers[.retryAfter] == "30")
            #expect(try await client.call(.post, "/v1/face-auth/challenges", token: second, json: body).status == .created)
            clock.advance(30)
            #expect(try await client.call(.post, "/v1/face-auth/challenges", token: first, json: body).status == .created)
        }
        let objects = try await server.backend.transactions.pool.read { db in
            try String.fetchAll(db, sql: "SELECT object FROM audit_records WHERE action = 'rate_limit.tripped'")
        }
        #expect(objects.count == 1)
        #expect(objects.allSatisfy { $0.hasPrefix("challenge:") && !$0.contains(Sample.person) })
    }

    /// Consents per holder are counted once the face check has passed: failed attempts use up nothing.
    @Test func consentsPerHolderCountOnlyVerifiedAttestations() async throws {
        let server = try TestServer { $0.backend.rateLimits.consentsPerHolder = .perMinute(1) }
        try await server.test { client in
            let hall = try await Hall.open(client)
            for _ in 0..<3 {
                try await hall.consentResponse(attestation: try await hall.attest(score: 0.1)).expectProblem(403, "face_auth_failed")
            }
            #expect(try await hall.consentResponse(attestation: try await hall.attest()).status == .created)
            try await hall.consentResponse(attestation: try await hall.attest()).expectProblem(429, "rate_limited")
        }
    }

    @Test func codesPerHolderAreLimited() async throws {
        let server = try TestServer { $0.backend.rateLimits.codesPerHolder = .perMinute(2) }
        try await server.test { client in
            let hall = try await Hall.open(client)
            let consent = try await hall.consent()
            #expect(try await hall.presentResponse(consent).status == .created)
            #expect(try await hall.presentResponse(consent).status == .created)
            try await hall.presentResponse(consent).expectProblem(429, "rate_limited")
        }
    }

    @Test func addressesAreLimitedBeforeAuthentication() async throws {
        let server = try TestServer { $0.backend.rateLimits.perAddress = RateLimit(perSecond: 0.01, burst: 3) }
        try await server.test(.live) { client in
            for _ in 0..<3 { try await client.call(.get, "/v1/clients", token: "msb_guess").expectProblem(401, "unauthorized") }
            try await client.call(.get, "/v1/clients", token: "msb_guess").expectProblem(429, "rate_limited")
            try await client.call(.get, "/v1/clients").expectProblem(429, "rate_limited")
        }
        let object = try await server.backend.transactions.pool.read { db in
            try String.fetchOne(db, sql: "SELECT object FROM audit_records WHERE action = 'rate_limit.tripped'")
        }
        #expect(object?.hasPrefix("address:") == true)
        #expect(object?.contains("127.0.0.1") == false)
    }

    @Test func limitsAreConfigured() throws {
        let resolve = { (flags: [String], env: [String: String]) throws -> RateLimits in
            let f = try ServeConfiguration.Flags.parse(flags.flatMap { ["--rate-limit", $0] })
            return try ServeConfiguration.resolve(flags: f, environment: env).backend.rateLimits
        }
        #expect(try resolve([], [:]) == .standard)
        #expect(try resolve(["terminal=5/s,8", "codes=off"], [:]).perRole[.terminal] == RateLimit(perSecond: 5, burst: 8))
        #expect(try resolve(["terminal=5/s,8", "codes=off"], [:]).codesPerHolder == nil)
        #expect(try resolve([], ["MSB_RATE_LIMITS": "challenges=6/min; address=off"]).challengesPerHolder == .perMinute(6))
        #expect(try resolve(["all=off"], [:]) == .unlimited)
        for bad in ["terminal=5", "scanner=5/s", "codes=0/s", "codes=5/day", "all=5/s", "codes=5/s,0"] {
            #expect(throws: ServeConfiguration.Invalid.self) { try resolve([bad], [:]) }
        }
    }
}

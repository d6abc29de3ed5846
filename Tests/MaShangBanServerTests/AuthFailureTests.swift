import Foundation
import GRDB
import HummingbirdTesting
@testable import MaShangBan
import Testing
@testable import MaShangBanServer
import MaShangBanTestSupport

/// Failed authentication cannot flood the audit log or starve the writer.
@Suite("Failed authentication and client addresses")
struct AuthFailureTests {
    static func authFailures(_ server: TestServer) async throws -> [AuditRecord] {
        try await server.backend.transactions.pool.read { db in try AuditStore.records(after: 0, limit: 1000, db) }.filter { $0.action == "auth.failed" }
    }

    /// 100,000 bad tokens over ten minutes from one address: one record a minute with the
    /// count, and a good client answered all along.
    @Test func aFloodOfBadTokensWritesARecordAMinute() async throws {
        let clock = ManualClock()
        let server = try TestServer(configure: { $0.backend.rateLimits = .unlimited }, now: clock.now)
        let total = 100_000
        let answered = try await server.test { client in
            var good = 0
            for batch in 0..<(total / 500) {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<500 {
                        group.addTask {
                            let response = try await client.call(.get, "/v1/clients", token: "msb_guess")
                            guard response.status == .unauthorized else { throw MSBError.badRequest("a bad token got \(response.status)") }
                        }
                    }
                    try await group.waitForAll()
                }
                if try await client.call(.get, "/v1/clients").status == .ok { good += 1 }
                if batch % 17 == 16 { clock.advance(7) }  // the flood lasts about ten minutes
            }
            return good
        }
        #expect(answered == total / 500)
        try await server.backend.services.authFailures.flush(everything: true)
        let records = try await Self.authFailures(server)
        #expect(records.count <= 15, "\(records.count) records")
        #expect(records.compactMap { $0.detail["count"]?.intValue }.reduce(0, +) == Int64(total))
        #expect(records.allSatisfy { $0.object == "address:unknown" && $0.detail["reasons"]?["unknown_token"] != nil })
    }

    /// Many addresses at once: at most 100 get a record of their own in a minute; the rest are counted together.
    @Test func manyAddressesAreCountedTogetherPastAHundredAMinute() async throws {
        let server = try TestServer()
        for i in 0..<1000 {
            try await server.backend.services.authFailures.record(address: "10.0.\(i / 256).\(i % 256)", reason: "unknown_token")
        }
        try await server.backend.services.authFailures.flush(everything: true)
        let records = try await Self.authFailures(server)
        // 100 addresses' records, and the others' first failure at once and the rest at the flush.
        #expect(records.count == 102)
        #expect(records.compactMap { $0.detail["count"]?.intValue }.reduce(0, +) == 1000)
        #expect(records.filter { $0.object == "address:other" }.compactMap { $0.detail["count"]?.intValue } == [1, 899])
        #expect(!records.contains { $0.object.contains("10.0.") }, "no address in the audit log")
    }

    @Test func addressesAreCountedPerHostOrPer64() {
        #expect(ClientAddress.key("192.0.2.7") == "192.0.2.7")
        #expect(ClientAddress.key("::ffff:192.0.2.7") == "192.0.2.7")
        #expect(ClientAddress.key("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64")
        #expect(ClientAddress.key("2001:db8:1:2:ffff:ffff:ffff:ffff") == "2001:db8:1:2::/64")
        #expect(ClientAddress.key("2001:db8:1:3::1") == "2001:db8:1:3::/64")
        #expect(ClientAddress.key("not an address") == nil)
    }

    @Test func forwardedForCountsOnlyFromATrustedProxy() {
        var trusted = TrustedProxies()
        let added = [trusted.add("10.1.0.0/16"), trusted.add("fd00::/8"), trusted.add("10.1.0.0/33"), trusted.add("proxy.example")]
        #expect(added == [true, true, false, false])
        // No trusted proxy, or an untrusted peer: X-Forwarded-For is ignored.
        #expect(ClientAddress.resolve(peer: "198.51.100.9", forwardedFor: "203.0.113.5", trusted: TrustedProxies()) == "198.51.100.9")
        #expect(ClientAddress.resolve(peer: "198.51.100.9", forwardedFor: "203.0.113.5", trusted: trusted) == "198.51.100.9")
        // A trusted peer: the right-most hop that is not a trusted proxy.
        #expect(ClientAddress.resolve(peer: "10.1.2.3", forwardedFor: "1.1.1.1, 203.0.113.5, 10.1.9.9", trusted: trusted) == "203.0.113.5")
        #expect(ClientAddress.resolve(peer: "fd00::1", forwardedFor: "2001:db8::5", trusted: trusted) == "2001:db8::5")
        // A malformed list from a trusted peer: the peer.
        #expect(ClientAddress.resolve(peer: "10.1.2.3", forwardedFor: "bogus", trusted: trusted) == "10.1.2.3")
        #expect(ClientAddress.resolve(peer: nil, forwardedFor: "203.0.113.5", trusted: trusted) == nil)
    }

    @Test func trustedProxiesAreConfigured() throws {
        let flags = try ServeConfiguration.Flags.parse(["--trusted-proxy", "10.0.0.0/8", "--trusted-proxy", "::1"])
        let configuration = try ServeConfiguration.resolve(flags: flags, environment: [:])
        #expect(configuration.trustedProxies.contains("10.9.9.9") && configuration.trustedProxies.contains("::1"))
        let fromEnvironment = try ServeConfiguration.resolve(flags: .parse([]), environment: ["MSB_TRUSTED_PROXIES": "127.0.0.1,192.168.0.0/16"])
        #expect(fromEnvironment.trustedProxies.contains("192.168.4.4"))
        #expect(throws: ServeConfiguration.Invalid.self) {
            try ServeConfiguration.resolve(flags: .parse(["--trusted-proxy", "nope"]), environment: [:])
        }
    }
}

import Foundation
#if canImport(Glibc)
import Glibc
#endif
import HummingbirdTesting
@testable import MaShangBan
import Testing
@testable import MaShangBanServer
import MaShangBanTestSupport

/// A plain TCP connection to the test server, to misbehave with.
final class RawConnection {
    let fd: Int32

    init(port: Int) throws { fd = try openSocket(port: port) }

    deinit { close(fd) }

    func send(_ text: String) {
        _ = text.utf8CString.withUnsafeBufferPointer { Glibc.send(fd, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL)) }
    }

    /// Whether the server has closed the connection (reads what is waiting, without blocking).
    var closedByServer: Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
    }

    /// Sends `byte` every `interval` until the server closes the connection; how long that took.
    /// Each byte resets the server's idle timeout (60 s), so a close before `limit` is a deadline's
    /// doing; callers set no tighter upper bound, as a loaded machine (the thread sanitizer) answers late.
    func trickle(_ byte: String, every interval: Duration, giveUpAfter limit: Duration,
                 meanwhile: () async throws -> Void = {}) async throws -> Duration? {
        let start = ContinuousClock.now
        var askedOthers = false
        while ContinuousClock.now - start < limit {
            try await Task.sleep(for: interval)
            if closedByServer { return ContinuousClock.now - start }
            send(byte)
            if !askedOthers {
                askedOthers = true
                try await meanwhile()
            }
        }
        return nil
    }
}

/// Issue 8: deadlines for slow clients and a cap on connections per address.
@Suite struct SlowClientTests {
    @Test func aSlowlorisIsClosedAtTheHeadDeadlineWhileOthersAreServed() async throws {
        let server = try TestServer { $0.headerTimeout = 1 }
        try await server.test(.live) { client in
            let slow = try RawConnection(port: try #require(client.port))
            slow.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
            // Each byte would reset the idle timeout (60 s); the head deadline is not reset.
            let closedAfter = try await slow.trickle("a", every: .milliseconds(200), giveUpAfter: .seconds(30)) {
                let status = try await client.call(.get, "/healthz", token: nil).status
                #expect(status == .ok)
            }
            let elapsed = try #require(closedAfter, "the slowloris connection was never closed")
            #expect(elapsed >= .milliseconds(800), "closed after \(elapsed)")
            #expect(try await client.call(.get, "/v1/clients").status == .ok)
        }
    }

    @Test func aTrickledBodyIsClosedAtTheBodyDeadline() async throws {
        let server = try TestServer { $0.bodyTimeout = 1 }
        try await server.test(.live) { client in
            let slow = try RawConnection(port: try #require(client.port))
            slow.send("POST /v1/clients HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(adminToken)\r\n"
                + "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
            let closedAfter = try await slow.trickle(" ", every: .milliseconds(200), giveUpAfter: .seconds(30)) {
                let status = try await client.call(.get, "/v1/clients").status
                #expect(status == .ok)
            }
            let elapsed = try #require(closedAfter, "the trickled body's connection was never closed")
            #expect(elapsed >= .milliseconds(800), "closed after \(elapsed)")
            // Nothing was created from the half body.
            let clients = try #require(try await client.call(.get, "/v1/clients").json()["clients"] as? [[String: Any]])
            #expect(clients.count == 1)
        }
    }

    @Test func anAddressHoldsAtMostItsShareOfConnections() async throws {
        let server = try TestServer { $0.maxConnectionsPerAddress = 3 }
        try await server.test(.live) { client in
            let port = try #require(client.port)
            #expect(try await client.call(.get, "/healthz", token: nil).status == .ok)  // the test client's own connection
            // Three more: one of them is over the share (which one depends on the event loops).
            var raw = try (0..<3).map { _ in try RawConnection(port: port) }
            try await Task.sleep(for: .milliseconds(300))
            let closed = raw.map(\.closedByServer)
            #expect(closed.filter { $0 }.count == 1, "\(closed)")
            raw.removeAll()  // closes them all, which frees their places
            try await Task.sleep(for: .milliseconds(300))
            let fourth = try RawConnection(port: port)
            fourth.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            try await Task.sleep(for: .milliseconds(300))
            #expect(!fourth.closedByServer)
        }
    }

    @Test func deeplyNestedJSONIsRefusedBeforeDecoding() async throws {
        let server = try TestServer()
        try await server.test { client in
            let deep = String(repeating: "[", count: 17) + String(repeating: "]", count: 17)
            let refused = try await client.call(.post, "/v1/clients", json: #"{"role":"admin","name":\#(deep)}"#)
            try refused.expectProblem(400, "bad_request")
            #expect(try refused.json()["detail"] as? String == "the JSON body is nested deeper than 16 levels")
            // Brackets inside strings do not count; 16 levels are read (and refused for their type).
            let quoted = #"{"role":"admin","name":"\#(deep)\"[{"}"#
            #expect(try await client.call(.post, "/v1/clients", json: quoted).status == .created)
            let sixteen = String(repeating: "[", count: 15) + String(repeating: "]", count: 15)
            try await client.call(.post, "/v1/clients", json: #"{"role":"admin","name":\#(sixteen)}"#).expectProblem(400, "bad_request")
            #expect(JSONDepth.within(Array(#"{"a":\#(sixteen)}"#.utf8), maximum: 16))
        }
    }
}

import Foundation
import HummingbirdTesting
import Logging
@testable import MaShangBan
import Testing
@testable import MaShangBanServer
import MaShangBanTestSupport

/// Everything the server logs, as text.
final class CapturedLog: Sendable {
    private let lines = Locked<[String]>([])
    var text: String { lines.withLock { $0.joined(separator: "\n") } }

    func handler(label: String) -> any LogHandler { Handler(log: self) }

    struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.MetadataValue? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            log.lines.withLock { $0.append("\(event.level) \(event.message) \(all)") }
        }
    }
}

/// Issue 8: logs never carry the Authorization header or a token, at any level.
@Suite struct LogRedactionTests {
    @Test func tokensNeverReachTheLogs() async throws {
        let server = try TestServer()
        let captured = CapturedLog()
        var logger = Logger(label: "test", factory: captured.handler)
        logger.logLevel = .trace
        let app = buildApplication(server.configuration, backend: server.backend, logger: logger)
        let guess = "msb_guessed-token-that-must-not-be-logged"
        let tokens = try await app.test(.router) { client in
            let hall = try await Hall.open(client)
            try await client.call(.get, "/v1/clients", token: guess).expectProblem(401, "unauthorized")
            try await client.call(.get, "/v1/clients", token: nil, headers: [.authorization: "Basic \(guess)"]).expectProblem(401, "unauthorized")
            let created = try await client.createClient(role: "terminal", hall: "HY-ZX-01").token
            try await client.call(.get, "/v1/clients", token: created).expectProblem(403, "forbidden")
            _ = try await hall.submit()
            return [created, hall.app, hall.terminal, hall.issuer]
        }
        let text = captured.text
        #expect(!text.isEmpty, "the server logged nothing at trace level")
        for secret in [guess, adminToken, Sample.person] + tokens {
            #expect(!text.contains(secret), "a token or an id reached the log")
        }
        #expect(!text.lowercased().contains("bearer "))
    }
}

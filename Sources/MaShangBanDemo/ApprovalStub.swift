import Foundation
import MaShangBan

/// The stand-in approval system behind `mashangban approval-stub`: checks each webhook's
/// signature with its secret (or one of its secrets: the demo's stand-in also receives the
/// units' supervisor notices), keeps one copy per `Idempotency-Key`, and can be told to
/// fail (`down` → 503, `reject` → 400, `slow` → answers after `slowDelay`) for fault drills.
public final class ApprovalStubInbox: Sendable {
    public enum Mode: String, Sendable, Codable, CaseIterable {
        case up, down, slow, reject
    }

    /// One submission as received.
    public struct Received: Sendable, Codable {
        public let key: String
        public let receivedAt: String
        public let body: String

        enum CodingKeys: String, CodingKey {
            case key, body
            case receivedAt = "received_at"
        }
    }

    let secrets: [String]
    let suite: CryptoSuite
    let file: URL?
    let now: Now
    public let slowDelay: Duration
    private let state = Locked<(mode: Mode, received: [Received], keys: Set<String>, duplicates: Int)>((.up, [], [], 0))

    /// `file`: where to keep what was received (JSON lines, read back at start); nil keeps it in memory.
    public init(secret: String, otherSecrets: [String] = [], suite: CryptoSuite, file: URL?, now: @escaping Now = { Date() },
                slowDelay: Duration = .seconds(30)) throws {
        (self.secrets, self.suite, self.file, self.now, self.slowDelay) = ([secret] + otherSecrets, suite, file, now, slowDelay)
        if let file, let text = try? String(contentsOf: file, encoding: .utf8) {
            let decoder = JSONDecoder()
            let stored = try text.split(separator: "\n").map { try decoder.decode(Received.self, from: Data($0.utf8)) }
            state.withLock { state in
                state.received = stored
                state.keys = Set(stored.map(\.key))
            }
        }
    }

    public var mode: Mode {
        get { state.withLock { $0.mode } }
        set { state.withLock { $0.mode = newValue } }
    }

    /// What was received, in order, and how many duplicates were turned away.
    public var received: (submissions: [Received], duplicates: Int) { state.withLock { ($0.received, $0.duplicates) } }

    /// Handles one webhook: the HTTP status to answer and a short JSON reason.
    public func receive(body: [UInt8], signature: String?, idempotencyKey: String?) throws -> (status: Int, reply: String) {
        switch mode {
        case .down: return (503, #"{"error":"down"}"#)
        case .reject: return (400, #"{"error":"rejected"}"#)
        case .up, .slow: break
        }
        let problems = secrets.map {
            WebhookSignature.problem(with: signature, body: body, secret: $0, now: Int64(now().timeIntervalSince1970), suite: suite)
        }
        if !problems.contains(where: { $0 == nil }), let problem = problems.first ?? nil {
            return (401, #"{"error":"\#(problem)"}"#)
        }
        guard let key = idempotencyKey, !key.isEmpty, key.utf8.count <= 200 else { return (400, #"{"error":"no Idempotency-Key"}"#) }
        guard let text = String(validating: body, as: UTF8.self) else { return (400, #"{"error":"the body is not UTF-8"}"#) }
        let entry = Received(key: key, receivedAt: Timestamp.string(now()), body: text)
        let fresh = state.withLock { state -> Bool in
            guard state.keys.insert(key).inserted else {
                state.duplicates += 1
                return false
            }
            state.received.append(entry)
            return true
        }
        guard fresh else { return (200, #"{"status":"duplicate"}"#) }
        if let file {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            try DataDirectory.appendSynced(String(decoding: try encoder.encode(entry), as: UTF8.self) + "\n", to: file)
        }
        return (200, #"{"status":"stored"}"#)
    }
}

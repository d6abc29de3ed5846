import ArgumentParser
import Foundation
import Hummingbird
import Logging
import MaShangBan
import NIOCore

/// `mashangban approval-stub`: a stand-in approval system (审批系统) for demos and fault
/// drills. `POST /webhook` (or `/`) receives submissions; `GET /received` lists them;
/// `POST /control {"mode":"up"|"down"|"slow"|"reject"}` makes it fail on purpose.
public struct ApprovalStubCommand: AsyncParsableCommand, Sendable {
    public static let configuration = CommandConfiguration(
        commandName: "approval-stub", abstract: "A stand-in approval system that verifies and stores our webhooks.")

    @Option(help: "Address to bind.") var host: String = "127.0.0.1"
    @Option(help: "Port; 0 picks a free one.") var port: Int = 9000
    @Option(help: "The webhook secret shown when the approval system was registered.") var secret: String
    @Option(help: "Keep what was received in DIR/received.jsonl (default: memory only).") var data: String?
    @Option(help: "intl (HMAC-SHA256) or gm (HMAC-SM3), as the server's profile.") var crypto: String = "intl"
    @Option(name: .customLong("slow-seconds"), help: "How long the slow mode waits before answering.") var slowSeconds: Int = 30

    struct Control: Decodable {
        let mode: ApprovalStubInbox.Mode
    }

    public init() {}

    public func run() async throws {
        guard let profile = CryptoProfile(rawValue: crypto) else { throw ValidationError("--crypto must be intl or gm") }
        var file: URL?
        if let data {
            let directory = URL(fileURLWithPath: data, isDirectory: true)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            file = directory.appendingPathComponent("received.jsonl")
        }
        let inbox = try ApprovalStubInbox(secret: secret, suite: CryptoSuite(profile: profile), file: file, slowDelay: .seconds(slowSeconds))
        let router = Router()
        ApprovalStubRoutes.register(on: router.group(""), inbox: inbox)
        var logger = Logger(label: "approval-stub")
        logger.logLevel = .warning
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port)),
                              onServerRunning: { channel in
                                  print("approval-stub listening on http://\(host):\(channel.localAddress?.port ?? port)")
                                  fflush(nil)
                              }, logger: logger)
        try await app.runService()
    }
}

/// The stand-in's routes: `POST webhook` (and `POST /` for the command), `GET received`,
/// `POST control`. The command serves them at the root; `serve --demo` under
/// `/demo/approval-system/`.
public enum ApprovalStubRoutes {
    /// The webhook on `group` (it checks each delivery's signature); what was received and the
    /// fault-drill control on `inspection` (default: `group`), which `serve --demo` guards
    /// with the admin token.
    public static func register<Context: RequestContext>(on group: RouterGroup<Context>, inspection: RouterGroup<Context>? = nil,
                                                  inbox: ApprovalStubInbox, atRootToo: Bool = true) {
        let receive: @Sendable (Request, Context) async throws -> Response = { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            if inbox.mode == .slow { try await Task.sleep(for: inbox.slowDelay) }
            let (status, reply) = try inbox.receive(body: Array(body.readableBytesView), signature: request.headers[.init("MSB-Signature")!],
                                                    idempotencyKey: request.headers[.init("Idempotency-Key")!])
            return Response(status: .init(code: status), headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: reply)))
        }
        group.post("webhook", use: receive)
        if atRootToo { group.post("/", use: receive) }
        let inspection = inspection ?? group
        inspection.get("received") { _, _ in
            let (submissions, duplicates) = inbox.received
            let bodies = submissions.map { entry -> [String: Any] in
                ["key": entry.key, "received_at": entry.receivedAt,
                 "body": (try? JSONSerialization.jsonObject(with: Data(entry.body.utf8))) ?? entry.body]
            }
            let json = try JSONSerialization.data(withJSONObject: ["received": bodies, "count": submissions.count, "duplicates": duplicates],
                                                  options: [.sortedKeys, .withoutEscapingSlashes])
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: json)))
        }
        inspection.post("control") { request, _ in
            let body = try await request.body.collect(upTo: 4096)
            guard let control = try? JSONDecoder().decode(ApprovalStubCommand.Control.self, from: Data(body.readableBytesView)) else {
                return Response(status: .badRequest, body: .init(byteBuffer: ByteBuffer(string: #"{"error":"mode must be up, down, slow or reject"}"#)))
            }
            inbox.mode = control.mode
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: #"{"mode":"\#(control.mode.rawValue)"}"#)))
        }
    }
}

import Foundation
import MaShangBan
import NIOCore
import NIOHTTP1
import NIOPosix

/// Whole 一码出示 flows (challenge → face check → consent → code → scan) sent by a lean
/// HTTP/1.1 client in a process of its own (`mashangban-bench --flow-client SPEC`), as wrk
/// sends the single requests: the load generator's CPU is neither the bench's nor the server's.
/// It costs 0.13–0.16 ms of CPU per flow, the attestation's signature included (0.035 ms a
/// request, where wrk spends 0.010–0.018), so its share of the two cores stays small.
/// (AsyncHTTPClient in the bench's own process cost 0.43 ms of CPU per flow, a third of what
/// the two cores spent on a flow; this client with a JSONEncoder per attestation and Foundation's
/// string search for each answer's member, 0.17–0.20 ms.) Each keep-alive connection runs its
/// share of the flows one after another; a flow's latency runs from its challenge being sent
/// to its scan's answer, and a flow counts as answered once its last request has its answer.
enum FlowClient {
    /// What the child process is told, in a file (it holds the stand-in provider's key: 0600).
    struct Spec: Codable, Sendable {
        var port: Int
        var appToken: String
        var terminalToken: String
        /// The bench's stand-in face-auth provider's key (PKCS#8 PEM), which signs each attestation.
        var providerPEM: String
        var holder: FlowBench.Holder
        var item: String
        var hall: String
        var count: Int
        var connections: Int
    }

    /// One flow: nanoseconds from its challenge to its last answer, and whether every answer
    /// was the expected one.
    struct Outcome: Sendable {
        let nanoseconds: Int64
        let ok: Bool
    }

    /// The bench's side: runs the flows in a child process and reads its summary; the child's
    /// CPU is the generator's.
    static func run(_ spec: Spec, server: ServerUnderTest, directory: URL) async throws -> FlowBench.Figures {
        let file = directory.appendingPathComponent("flows.json")
        guard FileManager.default.createFile(atPath: file.path, contents: try JSONEncoder().encode(spec), attributes: [.posixPermissions: 0o600])
        else { throw WrkLoad.WrkFailure(generator: "the flow client", printed: "cannot write \(file.path)") }
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let (serverBefore, before) = (server.cpuSeconds, WrkLoad.finishedChildrenCPUSeconds())
        let child = try BenchProcess(executable, ["--flow-client", file.path])
        let (status, text) = await child.finished(killAfter: Double(max(120, spec.count / 20)))
        try? FileManager.default.removeItem(at: file)
        guard status == 0, let line = text.split(separator: "\n").last(where: { $0.hasPrefix("MSB ") }),
              let figures = WrkLoad.figures(summary: line, sent: spec.count, serverCPU: server.cpuSeconds - serverBefore,
                                            generatorCPU: WrkLoad.finishedChildrenCPUSeconds() - before, generator: "client")
        else { throw WrkLoad.WrkFailure(generator: "the flow client", printed: "exit status \(status); it printed: " + text) }
        return figures
    }

    /// The child's side: every flow over `spec.connections` connections on one event loop, then
    /// the summary line wrk's script prints (`WrkLoad.figures`).
    static func main(specFile: String) async throws {
        let spec = try JSONDecoder().decode(Spec.self, from: Data(contentsOf: URL(fileURLWithPath: specFile)))
        let signer = try SignatureKeys.loadSigner(privateKeyPEM: spec.providerPEM)
        let kid = CryptoSuite.keyID(of: signer.verifier)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let start = NIODeadline.now()
        var connections: [EventLoopFuture<[Outcome]>] = []
        for connection in 0..<max(1, min(spec.connections, spec.count)) {
            let flows = stride(from: connection, to: spec.count, by: max(1, spec.connections)).underestimatedCount
            let done = group.next().makePromise(of: [Outcome].self)
            ClientBootstrap(group: group)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(FlowHandler(spec: spec, signer: signer, kid: kid, flows: flows, done: done))
                    }
                }
                .connect(host: "127.0.0.1", port: spec.port)
                .whenFailure { done.fail($0) }
            connections.append(done.futureResult)
        }
        var outcomes: [Outcome] = []
        for connection in connections { outcomes += try await connection.get() }
        let elapsed = NIODeadline.now() - start
        try await group.shutdownGracefully()
        let latencies = outcomes.map(\.nanoseconds).sorted()
        func percentile(_ p: Double) -> Int64 {
            latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] / 1000
        }
        print("MSB \(elapsed.nanoseconds / 1000) \(outcomes.count) \(outcomes.filter { !$0.ok }.count) "
              + "\(percentile(0.50)) \(percentile(0.99)) \(percentile(0.999))")
    }
}

/// One connection's flows, one step at a time: each answer's status is checked and the one
/// member the next request needs is read from it.
private final class FlowHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private enum Step { case challenge, consent, code, scan }

    private let spec: FlowClient.Spec
    private let signer: any SignatureSigner
    /// The provider's key id, worked out once.
    private let kid: String
    private var remaining: Int
    private let done: EventLoopPromise<[FlowClient.Outcome]>
    private var outcomes: [FlowClient.Outcome] = []
    private var step = Step.challenge
    private var inFlight = false
    private var started = NIODeadline.now()
    private var status: UInt = 0
    private var body = ByteBuffer()
    private var finished = false

    init(spec: FlowClient.Spec, signer: any SignatureSigner, kid: String, flows: Int, done: EventLoopPromise<[FlowClient.Outcome]>) {
        (self.spec, self.signer, self.kid, self.remaining, self.done) = (spec, signer, kid, flows, done)
    }

    func channelActive(context: ChannelHandlerContext) {
        nextFlow(context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = head.status.code
            body.clear()
        case .body(var part):
            body.writeBuffer(&part)
        case .end:
            answered(context)
        }
    }

    /// A connection lost ends its flows: the one in flight and those not started count as errors.
    func channelInactive(context: ChannelHandlerContext) {
        let lost = remaining + (inFlight ? 1 : 0)
        outcomes += Array(repeating: FlowClient.Outcome(nanoseconds: (NIODeadline.now() - started).nanoseconds, ok: false), count: lost)
        remaining = 0
        finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func nextFlow(_ context: ChannelHandlerContext) {
        guard remaining > 0 else {
            finish()
            context.close(promise: nil)
            return
        }
        remaining -= 1
        inFlight = true
        started = .now()
        step = .challenge
        send(context, "/v1/face-auth/challenges", token: spec.appToken, body: #"{"subject":"\#(spec.holder.person)"}"#)
    }

    private func answered(_ context: ChannelHandlerContext) {
        guard status == 201 else { return ended(context, ok: false) }
        switch step {
        case .challenge:
            // The claims as `FaceAuth.attestation` writes them (sorted keys; the nonce is
            // base64url and the person's id digits, neither needs escapes), without a
            // JSONEncoder per flow: the load generator should cost what a provider's would not.
            let iat = Int64(Date().timeIntervalSince1970)
            guard let nonce = member("nonce") else { return ended(context, ok: false) }
            let claims = #"{"iat":\#(iat),"nonce":"\#(nonce)","result":"pass","score":0.95,"sub":"\#(spec.holder.person)"}"#
            guard let attestation = try? JWS.sign(payloadJSON: Array(claims.utf8), kid: kid, signer: signer) else {
                return ended(context, ok: false)
            }
            step = .consent
            send(context, "/v1/consents", token: spec.appToken,
                 body: FlowBench.consentBody(spec.holder, attestation: attestation, item: spec.item, hall: spec.hall))
        case .consent:
            guard let consent = member("id") else { return ended(context, ok: false) }
            step = .code
            send(context, "/v1/presentations", token: spec.appToken, body: #"{"consent":"\#(consent)"}"#)
        case .code:
            guard let token = member("token") else { return ended(context, ok: false) }
            step = .scan
            send(context, "/v1/scans", token: spec.terminalToken, body: #"{"token":"\#(token)","item":"\#(spec.item)"}"#)
        case .scan:
            ended(context, ok: true)
        }
    }

    private func ended(_ context: ChannelHandlerContext, ok: Bool) {
        inFlight = false
        outcomes.append(FlowClient.Outcome(nanoseconds: (NIODeadline.now() - started).nanoseconds, ok: ok))
        nextFlow(context)
    }

    private func finish() {
        guard !finished else { return }
        finished = true
        done.succeed(outcomes)
    }

    private func send(_ context: ChannelHandlerContext, _ path: String, token: String, body text: String) {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: "127.0.0.1:\(spec.port)")
        headers.add(name: "Authorization", value: "Bearer \(token)")
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(text.utf8.count))
        context.write(wrapOutboundOut(.head(HTTPRequestHead(version: .http1_1, method: .POST, uri: path, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: text)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    /// The string member `name` of the answer, as our JSON answers write it (`"name":"value"`,
    /// values here are identifiers and tokens, which need no escapes); nil if there is none.
    /// A plain scan of the bytes: the standard library's `firstRange(of:)` on the view cost the
    /// client half as much again per flow (0.239 against 0.159 ms in back-to-back runs).
    private func member(_ name: String) -> String? {
        let bytes = body.readableBytesView
        let key = Array(#""\#(name)":""#.utf8)
        guard bytes.count >= key.count else { return nil }
        var index = bytes.startIndex
        while index <= bytes.endIndex - key.count {
            if bytes[index] == key[0], bytes[index..<index + key.count].elementsEqual(key) {
                let start = index + key.count
                guard let end = bytes[start...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
                return String(decoding: bytes[start..<end], as: UTF8.self)
            }
            index += 1
        }
        return nil
    }
}

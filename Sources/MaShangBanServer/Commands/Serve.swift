import ArgumentParser
import Foundation
import Hummingbird
import Logging
import MaShangBan
import MaShangBanDemo

/// `mashangban serve`: runs the HTTP API until SIGTERM/SIGINT, then shuts down gracefully
/// (in-flight requests finish).
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the HTTP API. Flags override MSB_* environment variables, which override defaults.")

    @Option(help: "Data directory (env MSB_DATA; default ./data).") var data: String?
    @Option(help: "Address to bind (env MSB_HOST; default 127.0.0.1).") var host: String?
    @Option(help: "Port; 0 picks a free one (env MSB_PORT; default 8080).") var port: Int?
    @Option(help: "Crypto profile, fixed at first start: intl or gm (env MSB_CRYPTO; default intl).") var crypto: String?
    @Option(help: "6-digit region code, the `iss` of QR tokens (env MSB_REGION; default 430400).") var region: String?
    @Option(name: .customLong("token-ttl"), help: "QR token lifetime in seconds, 30-600 (env MSB_TOKEN_TTL; default 120).")
    var tokenTTL: Int?
    @Option(name: .customLong("face-threshold"), help: "Lowest face-recognition score accepted, 0-1 (env MSB_FACE_THRESHOLD; default 0.80).")
    var faceThreshold: Double?
    @Option(name: .customLong("max-agent-days"), help: "Furthest an agent authorisation's valid_until may lie ahead, in days (env MSB_MAX_AGENT_DAYS; default 366).")
    var maxAgentDays: Int?
    @Option(name: .customLong("trusted-proxy"), help: "A proxy (IP or CIDR) whose X-Forwarded-For names the client; repeatable (env MSB_TRUSTED_PROXIES, ','-separated; default none).")
    var trustedProxy: [String] = []
    @Option(name: .customLong("delivery-attempts"), help: "Webhook attempts before a submission is dead (env MSB_DELIVERY_ATTEMPTS; default 20).")
    var deliveryAttempts: Int?
    @Option(name: .customLong("delivery-timeout"), help: "Seconds for one webhook request (env MSB_DELIVERY_TIMEOUT; default 10).")
    var deliveryTimeout: Int?
    @Option(name: .customLong("delivery-concurrency"), help: "Webhook requests in flight per approval system (env MSB_DELIVERY_CONCURRENCY; default 4).")
    var deliveryConcurrency: Int?
    @Option(name: .customLong("delivery-retry-max"), help: "Longest wait between webhook attempts, seconds (env MSB_DELIVERY_RETRY_MAX; default 600).")
    var deliveryRetryMax: Int?
    @Option(name: .customLong("idle-timeout"), help: "Seconds before an idle HTTP connection is closed (env MSB_IDLE_TIMEOUT; default 60).")
    var idleTimeout: Int?
    @Option(name: .customLong("header-timeout"), help: "Seconds from a request's first byte to the end of its headers (env MSB_HEADER_TIMEOUT; default 10).")
    var headerTimeout: Int?
    @Option(name: .customLong("body-timeout"), help: "Seconds for a request body, plus one per 64 KiB received (env MSB_BODY_TIMEOUT; default 30).")
    var bodyTimeout: Int?
    @Option(name: .customLong("max-connections-per-address"), help: "Open connections per source address (env MSB_MAX_CONNECTIONS_PER_ADDRESS; default 256).")
    var maxConnectionsPerAddress: Int?
    @Option(name: .customLong("max-connections"), help: "Maximum open connections (env MSB_MAX_CONNECTIONS; default 1024).")
    var maxConnections: Int?
    @Option(name: .customLong("max-header-bytes"), help: "Maximum size of request headers (env MSB_MAX_HEADER_BYTES; default 16384).")
    var maxHeaderBytes: Int?
    @Option(name: .customLong("rate-limit"), help: ArgumentHelp(
        "Rate limit SCOPE=N/s|N/min|N/h[,BURST] or SCOPE=off, repeatable. Scopes: admin, issuer, app, terminal (per client), address, challenges, consents, codes (per holder); all=off lifts them (env MSB_RATE_LIMITS, ';'-separated).",
        valueName: "scope=spec"))
    var rateLimit: [String] = []
    @Flag(help: "Load demo data (once) and serve a stand-in approval system; prints a walkthrough (env MSB_DEMO=1).")
    var demo = false
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (env MSB_LOG_LEVEL; default info).")
    var logLevel: String?

    func run() async throws {
        let flags = ServeConfiguration.Flags(
            data: data, host: host, port: port, crypto: crypto, region: region, tokenTTL: tokenTTL, faceThreshold: faceThreshold,
            maxAgentDays: maxAgentDays, trustedProxies: trustedProxy,
            deliveryAttempts: deliveryAttempts, deliveryTimeout: deliveryTimeout, deliveryConcurrency: deliveryConcurrency,
            deliveryRetryMax: deliveryRetryMax, rateLimits: rateLimit, idleTimeout: idleTimeout,
            headerTimeout: headerTimeout, bodyTimeout: bodyTimeout, maxConnections: maxConnections,
            maxConnectionsPerAddress: maxConnectionsPerAddress, maxHeaderBytes: maxHeaderBytes, logLevel: logLevel, demo: demo)
        let configuration: ServeConfiguration
        do {
            configuration = try ServeConfiguration.resolve(flags: flags, environment: ProcessInfo.processInfo.environment)
        } catch let error as ServeConfiguration.Invalid {
            throw ValidationError(error.description)
        }
        var logger = Logger(label: "mashangban")
        logger.logLevel = Logger.Level(rawValue: configuration.logLevel) ?? .info

        let backend: Backend
        do {
            backend = try Backend.open(configuration.backendOptions(logger: logger))
        } catch let error as StartupError {
            FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
            throw ExitCode(2)
        }
        if let token = backend.createdAdminToken {
            print("""
                New data directory \(backend.dataDirectory.url.path) (crypto profile \(backend.suite.profile.rawValue)).
                Admin token (shown once; also in \(backend.dataDirectory.adminToken.path), mode 0600):
                \(token)
                """)
        }
        let address = configuration.host == "0.0.0.0" || configuration.host == "::" ? "127.0.0.1" : configuration.host
        var demoSetup: Demo.Setup?
        var inbox: ApprovalStubInbox?
        if configuration.demo {
            let setup = try await Demo.load(backend, webhookBase: "http://\(address):\(configuration.port)")
            inbox = try ApprovalStubInbox(secret: setup.approvalSecret, suite: backend.suite,
                                          file: Demo.directory(backend.dataDirectory).appendingPathComponent("received.jsonl"))
            demoSetup = setup
        }
        let demo = demoSetup
        let log = logger
        let app = buildApplication(configuration, backend: backend, logger: logger, demo: inbox) { channel in
            let port = channel.localAddress?.port ?? configuration.port
            let base = "http://\(address):\(port)"
            if let demo {
                do { try await Demo.point(backend, at: base + Demo.webhookPath) } catch {
                    log.error("cannot point the demo approval system at this server", metadata: ["error": "\(error)"])
                }
                print(Self.demoWalkthrough(demo, base: base, data: backend.dataDirectory.url.path))
            }
            print("mashangban listening on \(base) (data \(backend.dataDirectory.url.path))")
            fflush(nil)
        }
        try await app.runService()
    }

    static func demoWalkthrough(_ demo: Demo.Setup, base: String, data: String) -> String {
        """
        码上办 demo — sample data is loaded (items sb-transfer and construction-permit, 王一静 \(Demo.person),
        李建国 \(Demo.representative), 衡阳市湘江建设有限公司 \(Demo.enterprise)); the approval system is a stand-in
        on this server (\(base)/demo/approval-system/received shows what it got, to the admin token).
          TERMINAL=\(demo.terminalToken)     # window W07, hall \(Demo.hall)
          APP=\(demo.appToken)
          ISSUER=\(demo.issuerToken)
          face-auth stand-in key: \(demo.providerKey.path)
        Try both modes (一码出示, 一码获取) in another terminal:
          MSB_URL=\(base) MSB_DATA=\(data) scripts/walkthrough.sh
        """
    }
}

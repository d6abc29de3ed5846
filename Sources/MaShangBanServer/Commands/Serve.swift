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

    @OptionGroup var flags: ServeConfiguration.Flags

    func run() async throws {
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
        var inboxes: [String: ApprovalStubInbox] = [:]
        if configuration.demo {
            let setup = try await Demo.load(backend, webhookBase: "http://\(address):\(configuration.port)")
            if !configuration.demoPeers.isEmpty {
                try await Demo.loadCrossRegionItems(backend, region: configuration.backend.region, peers: configuration.demoPeers)
            }
            let folder = Demo.directory(backend.dataDirectory)
            inboxes["approval-system"] = try ApprovalStubInbox(secret: setup.approvalSecret, suite: backend.suite,
                                                               file: folder.appendingPathComponent("received.jsonl"))
            if let first = setup.supervisorSecrets.first {
                inboxes["supervisor"] = try ApprovalStubInbox(secret: first, otherSecrets: Array(setup.supervisorSecrets.dropFirst()),
                                                              suite: backend.suite, file: folder.appendingPathComponent("supervisor.jsonl"))
            }
            demoSetup = setup
        }
        let demo = demoSetup
        let log = logger
        let app = buildApplication(configuration, backend: backend, logger: logger, demo: inboxes) { channel in
            let port = channel.localAddress?.port ?? configuration.port
            let base = "http://\(address):\(port)"
            if let demo {
                do { try await Demo.point(backend, at: base) } catch {
                    log.error("cannot point the demo approval system at this server", metadata: ["error": "\(error)"])
                }
                print(Self.demoWalkthrough(demo, base: base, data: backend.dataDirectory.url.path))
                if !configuration.demoPeers.isEmpty {
                    print(Self.federationNote(configuration))
                    // The demo's peers may start after this one: pinning waits for them, off the start path.
                    Task { await Demo.pinOnFirstSight(backend, peers: configuration.demoPeers, transport: AsyncHTTPClientTransport.peers, logger: log) }
                }
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
        on this server (\(base)/demo/approval-system/received shows what it got, to the admin token; the units' supervisor
        is one too, at \(base)/demo/supervisor/received).
          TERMINAL=\(demo.terminalToken)     # window W07, hall \(Demo.hall)
          APP=\(demo.appToken)
          ISSUER=\(demo.issuerToken)
          UNIT=\(demo.unitToken)     # 衡阳市应急管理局 (\(Demo.safetyUnit)); UNIT2: 消防救援支队 (\(Demo.fireUnit))
          ENTERPRISE=\(demo.enterpriseToken)     # 衡阳市湘江建设有限公司's door terminal
          SUPERVISOR=\(demo.supervisorToken)
          face-auth stand-in key: \(demo.providerKey.path)
        Try both modes (一码出示, 一码获取), then 赋码入企, in another terminal:
          MSB_URL=\(base) MSB_DATA=\(data) scripts/walkthrough.sh
          MSB_URL=\(base) MSB_DATA=\(data) scripts/visits-walkthrough.sh
        """
    }

    static func federationNote(_ configuration: ServeConfiguration) -> String {
        let region = configuration.backend.region
        let peers = configuration.demoPeers.map { "\($0.region) at \($0.url)" }.joined(separator: ", ")
        let taken = configuration.demoPeers.map { Demo.crossRegionItem($0.region).code }.joined(separator: ", ")
        return """
            跨域通办 demo: region \(region) with peer \(peers). Each peer's key is pinned as first seen (the demo's shortcut; a
            real deployment pins fingerprints it checked, with POST /v1/peers). Item \(Demo.crossRegionItem(region).code) is decided here;
            \(taken) there. scripts/federation-walkthrough.sh walks through both ways.
            """
    }
}

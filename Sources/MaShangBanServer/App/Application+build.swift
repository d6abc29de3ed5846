import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import MaShangBan
import MaShangBanDemo
import NIOCore

/// All wiring in one place: tests call this with a temporary data directory and port 0.
func buildApplication(_ configuration: ServeConfiguration, backend: Backend, logger: Logger, demo: [String: ApprovalStubInbox] = [:],
                      onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in })
    -> some ApplicationProtocol
{
    let router = buildRouter(configuration, backend: backend)
    // `serve --demo`: stand-ins on this server (the approval system, the units' supervisor) at
    // `/demo/<name>/`; reading them and their controls need the admin token.
    for (name, inbox) in demo {
        ApprovalStubRoutes.register(on: router.group("demo/\(name)"),
                                    inspection: router.group("demo/\(name)").add(middleware: Authorize(.admin, auth: .init(backend.services))),
                                    inbox: inbox, atRootToo: false)
    }
    let slowClients = SlowClientGuard(headerTimeout: .seconds(Int64(configuration.headerTimeout)),
                                      bodyTimeout: .seconds(Int64(configuration.bodyTimeout)),
                                      maximumPerAddress: configuration.maxConnectionsPerAddress)
    let http = HTTP1Channel.Configuration(
        additionalChannelHandlers: [slowClients.makeHandler()],
        idleTimeout: .seconds(Int64(configuration.idleTimeout)),
        httpDecoderConfiguration: .init(
            maxHeaderFieldSize: configuration.maxHeaderBytes,
            maxHeaderListSize: configuration.maxHeaderBytes,
            maxHeaderFieldCount: 100))
    var app = Application(
        router: router,
        server: .http1(configuration: http),
        configuration: .init(
            address: .hostname(configuration.host, port: configuration.port),
            serverName: nil,
            availableConnectionsDelegate: MaximumAvailableConnections(configuration.maxConnections, logger: logger)),
        onServerRunning: onServerRunning,
        logger: logger)
    let services = backend.services
    app.addServices(CheckpointService(auditTrail: services.auditTrail, authFailures: services.authFailures,
                                      interval: .seconds(configuration.checkpointSeconds), logger: logger),
                    DeliveryService(deliveries: services.deliveries, logger: logger),
                    QuestionSweepService(questions: services.questions, interval: .seconds(60), logger: logger),
                    PeerRefreshService(peers: services.peers, interval: .seconds(configuration.peerRefreshSeconds), timeout: configuration.peerTimeout,
                                       logger: logger))
    return app
}

/// The routes, each group given only the services it calls.
func buildRouter(_ configuration: ServeConfiguration, backend: Backend) -> Router<AppRequestContext> {
    let s = backend.services
    let auth = Authenticator(s)
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: RequestMetricsMiddleware())
    router.add(middleware: RequestLogMiddleware())
    router.add(middleware: ProblemMiddleware())
    router.add(middleware: AddressRateLimit(holderReference: s.holderReference, limiter: s.limiter,
                                            trustedProxies: configuration.trustedProxies))
    OpsRoutes(health: s.health, calendars: s.calendars, registry: MetricsBootstrap.registry).register(on: router)
    KeyRoutes(signingKeys: s.signingKeys).register(on: router)
    ClientRoutes(auth: auth, clients: s.clients).register(on: router)
    AuditRoutes(auth: auth, auditTrail: s.auditTrail, witnessing: s.witnessing, regionRequests: s.regionRequests).register(on: router)
    LicenceTypeRoutes(auth: auth, licenceTypes: s.licenceTypes).register(on: router)
    LicenceRoutes(auth: auth, library: s.library).register(on: router)
    HolderRoutes(auth: auth, holderSessions: s.holderSessions, library: s.library, now: s.now, wallet: s.wallet, disclosures: s.disclosures)
        .register(on: router)
    ItemRoutes(auth: auth, approvalSystems: s.approvalSystems, items: s.items).register(on: router)
    FaceAuthRoutes(auth: auth, faceAuth: s.faceAuth, now: s.now).register(on: router)
    ConsentRoutes(auth: auth, agents: s.agents, consents: s.consents, holderSessions: s.holderSessions, now: s.now,
                  presentations: s.presentations).register(on: router)
    ScanRoutes(auth: auth, deliveries: s.deliveries, scans: s.scans, stats: s.stats).register(on: router)
    WindowSessionRoutes(auth: auth, windowSessions: s.windowSessions).register(on: router)
    UnitRoutes(auth: auth, units: s.units).register(on: router)
    VisitRoutes(auth: auth, visits: s.visits).register(on: router)
    CalendarRoutes(auth: auth, calendars: s.calendars).register(on: router)
    QuestionRoutes(auth: auth, questions: s.questions).register(on: router)
    PolicyRoutes(auth: auth, policies: s.policies).register(on: router)
    PeerRoutes(auth: auth, peers: s.peers, timeout: configuration.peerTimeout).register(on: router)
    FederationRoutes(regionRequests: s.regionRequests, items: s.items, scans: s.scans, deliveries: s.deliveries, witnessing: s.witnessing,
                     region: configuration.backend.region)
        .register(on: router)
    return router
}

extension Authenticator {
    init(_ services: Services) {
        self.init(clients: services.clients, failures: services.authFailures, limiter: services.limiter)
    }
}

import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import MaShangBan
import MaShangBanDemo
import NIOCore

/// All wiring in one place: tests call this with a temporary data directory and port 0.
func buildApplication(_ configuration: ServeConfiguration, backend: Backend, logger: Logger, demo: ApprovalStubInbox? = nil,
                      onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in })
    -> some ApplicationProtocol
{
    let router = buildRouter(configuration, backend: backend)
    if let demo {  // `serve --demo`: the stand-in approval system, on this server; reading it and its controls need the admin token
        ApprovalStubRoutes.register(on: router.group("demo/approval-system"),
                                    inspection: router.group("demo/approval-system").add(middleware: Authorize(.admin, backend: backend)),
                                    inbox: demo, atRootToo: false)
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
    app.addServices(CheckpointService(backend: backend, interval: .seconds(configuration.checkpointSeconds), logger: logger),
                    DeliveryService(backend: backend, logger: logger))
    return app
}

func buildRouter(_ configuration: ServeConfiguration, backend: Backend) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: RequestMetricsMiddleware())
    router.add(middleware: RequestLogMiddleware())
    router.add(middleware: ProblemMiddleware())
    router.add(middleware: AddressRateLimit(backend: backend, trustedProxies: configuration.trustedProxies))
    OpsRoutes(backend: backend, registry: MetricsBootstrap.registry).register(on: router)
    KeyRoutes(backend: backend, region: configuration.backend.region).register(on: router)
    ClientRoutes(backend: backend).register(on: router)
    AuditRoutes(backend: backend).register(on: router)
    LicenceTypeRoutes(backend: backend).register(on: router)
    LicenceRoutes(backend: backend).register(on: router)
    HolderRoutes(backend: backend).register(on: router)
    ItemRoutes(backend: backend).register(on: router)
    FaceAuthRoutes(backend: backend).register(on: router)
    ConsentRoutes(backend: backend).register(on: router)
    ScanRoutes(backend: backend).register(on: router)
    WindowSessionRoutes(backend: backend).register(on: router)
    return router
}

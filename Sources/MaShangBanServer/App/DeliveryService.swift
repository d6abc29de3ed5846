import Logging
import MaShangBan
import ServiceLifecycle

/// Runs the webhook delivery worker for the life of the server. On graceful shutdown it
/// stops taking new work; attempts cut short are sent again after the next start.
struct DeliveryService: Service, CustomStringConvertible {
    /// ServiceLifecycle logs its services at start: the name only, never the backend's fields.
    var description: String { "DeliveryService" }

    let backend: Backend
    let logger: Logger

    func run() async throws {
        let transport = AsyncHTTPClientTransport(connectTimeout: backend.deliveries.settings.connectTimeout)
        await cancelWhenGracefulShutdown {
            await backend.deliveries.run(transport: transport, logger: logger)
        }
        try await transport.shutdown()
    }
}

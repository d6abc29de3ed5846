import Logging
import MaShangBan
import ServiceLifecycle

/// Runs the webhook delivery worker for the life of the server. On graceful shutdown it
/// stops taking new work; attempts cut short are sent again after the next start.
struct DeliveryService: Service, CustomStringConvertible {
    /// ServiceLifecycle logs its services at start: the name only, never its services' fields.
    var description: String { "DeliveryService" }

    let deliveries: Deliveries
    let logger: Logger

    func run() async throws {
        let transport = AsyncHTTPClientTransport(connectTimeout: deliveries.settings.connectTimeout)
        await cancelWhenGracefulShutdown {
            await deliveries.run(transport: transport, logger: logger)
        }
        try await transport.shutdown()
    }
}

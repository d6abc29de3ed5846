import Logging
import MaShangBan
import ServiceLifecycle

/// Writes a signed audit checkpoint every few seconds when the log has grown (the audit
/// log itself writes one every 100 records), and a last one on graceful shutdown.
struct CheckpointService: Service, CustomStringConvertible {
    /// ServiceLifecycle logs its services at start: the name only, never the backend's fields.
    var description: String { "CheckpointService" }

    let backend: Backend
    let interval: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                checkpoint()
            }
        }
        checkpoint()
    }

    /// Synchronous on purpose: the last checkpoint runs after cancellation, which GRDB's
    /// async write would refuse.
    private func checkpoint() {
        let audit = backend.audit
        do {
            _ = try backend.pool.write { db in try audit.checkpointIfNeeded(db) }
        } catch {
            logger.error("audit checkpoint failed", metadata: ["error": "\(error)"])
        }
    }
}

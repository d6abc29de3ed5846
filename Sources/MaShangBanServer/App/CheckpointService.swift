import Logging
import MaShangBan
import ServiceLifecycle

/// Writes a signed audit checkpoint every few seconds when the log has grown (the audit
/// log itself writes one every 100 records), and a last one on graceful shutdown; before
/// each, the failed-authentication counts whose minute has passed (all of them at shutdown).
struct CheckpointService: Service, CustomStringConvertible {
    /// ServiceLifecycle logs its services at start: the name only, never its services' fields.
    var description: String { "CheckpointService" }

    let auditTrail: AuditTrail
    let authFailures: AuthFailures
    let interval: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                await flushAuthFailures(everything: false)
                checkpoint()
            }
        }
        await flushAuthFailures(everything: true)
        checkpoint()
    }

    private func flushAuthFailures(everything: Bool) async {
        do {
            try await authFailures.flush(everything: everything)
        } catch {
            logger.error("writing failed authentications to the audit log failed", metadata: ["error": "\(error)"])
        }
    }

    /// Synchronous on purpose: the last checkpoint runs after cancellation, which GRDB's
    /// async write would refuse.
    private func checkpoint() {
        do {
            try auditTrail.checkpointIfNeeded()
        } catch {
            logger.error("audit checkpoint failed", metadata: ["error": "\(error)"])
        }
    }
}

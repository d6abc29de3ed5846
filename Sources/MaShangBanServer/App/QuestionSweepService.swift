import Logging
import MaShangBan
import ServiceLifecycle

/// 码上问's clocks: sweeps every `interval` (a minute), so a deadline is flagged and reported
/// when it passes, and each unit is reminded before its deadlines.
struct QuestionSweepService: Service, CustomStringConvertible {
    var description: String { "QuestionSweepService" }

    let questions: Questions
    let interval: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    _ = try await questions.sweep()
                } catch {
                    if Task.isCancelled { break }
                    logger.error("the question sweep failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}

import Logging
import MaShangBan
import ServiceLifecycle

/// 跨域通办: reads every peer region's keys at start and every `interval`, so a peer's key
/// rotation is followed without an admin (keys still need their fingerprints pinned).
struct PeerRefreshService: Service, CustomStringConvertible {
    var description: String { "PeerRefreshService" }

    let peers: PeerRegistry
    let interval: Duration
    let timeout: Duration
    let logger: Logger

    func run() async throws {
        let transport = AsyncHTTPClientTransport(connectTimeout: timeout)
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    for outcome in try await peers.refresh(over: transport, timeout: timeout) {
                        if let error = outcome.error {
                            logger.warning("a peer region's keys could not be read", metadata: ["region": "\(outcome.region)", "error": "\(error)"])
                        }
                        if let witness = outcome.witness, witness.status == "forked" {
                            logger.critical("a peer region's audit log forked: its checkpoint does not extend the one this region cosigned",
                                            metadata: ["region": "\(outcome.region)", "why": "\(witness.detail ?? "")"])
                        }
                    }
                } catch {
                    if Task.isCancelled { break }
                    logger.error("the peer refresh failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
        try await transport.shutdown()
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import MaShangBan
import NIOCore

/// The request context: Hummingbird's core storage plus the authenticated client, which
/// `Authorize` sets for routes that need one.
struct AppRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    var client: Client?
    /// The peer; nil in in-process router tests.
    let remoteAddress: SocketAddress?
    /// The address the request is counted under (`ClientAddress.key`: the peer's, or behind a
    /// trusted proxy the client's; IPv6 by /64), set by `AddressRateLimit`; nil if unknown.
    var clientAddress: String?
    /// The peer region a region-to-region request came from (`RegionSignature`).
    var peerRegion: String?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        client = nil
        peerRegion = nil
        remoteAddress = source.channel.remoteAddress
    }

    /// The client `Authorize` resolved; routes behind `Authorize` can rely on it.
    func requireClient() throws -> Client {
        guard let client else { throw MSBError.unauthorized() }
        return client
    }

    /// The peer region `RegionSignature` verified; the federation routes rely on it.
    func requirePeerRegion() throws -> String {
        guard let peerRegion else { throw MSBError(.regionSignatureInvalid, "a region-to-region request must be signed") }
        return peerRegion
    }

    var actor: AuditActor { client.map { .client($0.id) } ?? .system }
}

extension HTTPField.Name {
    /// Retries of region-to-region requests, and webhooks, carry it.
    static let idempotencyKey = Self("Idempotency-Key")!
}

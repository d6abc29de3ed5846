import Foundation
import Hummingbird
import MaShangBan

/// The request context: Hummingbird's core storage plus the authenticated client, which
/// `Authorize` sets for routes that need one.
struct AppRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    var client: Client?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        client = nil
    }

    /// The client `Authorize` resolved; routes behind `Authorize` can rely on it.
    func requireClient() throws -> Client {
        guard let client else { throw MSBError.unauthorized() }
        return client
    }

    var actor: AuditActor { client.map { .client($0.id) } ?? .system }
}

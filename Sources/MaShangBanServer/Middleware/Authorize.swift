import Hummingbird
import MaShangBan

/// Route-level authorisation, written once: resolves `Authorization: Bearer <token>` to a
/// live client and checks its role. Missing or unknown token: 401 `unauthorized` (an
/// unknown or malformed one is counted for `auth.failed`, see `AuthFailures`); wrong role:
/// 403 `forbidden`.
struct Authorize: RouterMiddleware {
    typealias Context = AppRequestContext
    private(set) var roles: Set<ClientRole>
    let backend: Backend

    init(_ roles: ClientRole..., backend: Backend) {
        self.roles = Set(roles)
        self.backend = backend
    }

    /// Any live client, whatever its role.
    static func anyRole(backend: Backend) -> Authorize {
        var authorize = Authorize(backend: backend)
        authorize.roles = Set(ClientRole.allCases)
        return authorize
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else { throw MSBError.unauthorized() }
        // Split on the bytes: `String.split` walks grapheme clusters.
        let parts = header.utf8.split(separator: UInt8(ascii: " "), maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, Substring(parts[0]).lowercased() == "bearer" else {
            try await backend.authFailures.record(address: context.clientAddress, reason: "malformed_authorization_header")
            throw MSBError.unauthorized("the Authorization header must be 'Bearer <token>'")
        }
        guard let client = try await backend.clients.authenticate(token: String(Substring(parts[1]))) else {
            try await backend.authFailures.record(address: context.clientAddress, reason: "unknown_token")
            throw MSBError.unauthorized("unknown or revoked token")
        }
        try await backend.limiter.take(.client, client.id, limit: backend.limiter.limits.perRole[client.role])
        guard roles.contains(client.role) else {
            throw MSBError.forbidden("this route is for role \(roles.map(\.rawValue).sorted().joined(separator: " or "))")
        }
        var context = context
        context.client = client
        return try await next(request, context)
    }
}

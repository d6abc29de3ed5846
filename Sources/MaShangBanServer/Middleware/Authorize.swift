import Hummingbird
import MaShangBan

/// Route-level authorisation, written once: resolves `Authorization: Bearer <token>` to a
/// live client and checks its role. Missing or unknown token: 401 `unauthorized` (an
/// unknown or malformed one is counted for `auth.failed`, see `AuthFailures`); wrong role:
/// 403 `forbidden`.
struct Authorize: RouterMiddleware {
    typealias Context = AppRequestContext
    private(set) var roles: Set<ClientRole>
    let auth: Authenticator

    init(_ roles: ClientRole..., auth: Authenticator) {
        self.roles = Set(roles)
        self.auth = auth
    }

    /// Any live client, whatever its role.
    static func anyRole(_ auth: Authenticator) -> Authorize {
        var authorize = Authorize(auth: auth)
        authorize.roles = Set(ClientRole.allCases)
        return authorize
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else { throw MSBError.unauthorized() }
        // Split on the bytes: `String.split` walks grapheme clusters.
        let parts = header.utf8.split(separator: UInt8(ascii: " "), maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, Substring(parts[0]).lowercased() == "bearer" else {
            try await auth.failures.record(address: context.clientAddress, reason: "malformed_authorization_header")
            throw MSBError.unauthorized("the Authorization header must be 'Bearer <token>'")
        }
        guard let client = try await auth.clients.authenticate(token: String(Substring(parts[1]))) else {
            try await auth.failures.record(address: context.clientAddress, reason: "unknown_token")
            throw MSBError.unauthorized("unknown or revoked token")
        }
        try await auth.limiter.take(.client, client.id, limit: auth.limiter.limits.perRole[client.role])
        guard roles.contains(client.role) else {
            throw MSBError.forbidden("this route is for role \(roles.map(\.rawValue).sorted().joined(separator: " or "))")
        }
        var context = context
        context.client = client
        return try await next(request, context)
    }
}

/// What `Authorize` uses: the client registry, the failed-authentication counter and the
/// per-client rate limits.
struct Authenticator: Sendable {
    let clients: ClientRegistry
    let failures: AuthFailures
    let limiter: RateLimiter
}

import Hummingbird
import MaShangBan

/// Every request from one source address takes a token from that address's bucket, before
/// authentication, so guessing tokens is slow too. The bucket is keyed by a keyed digest of
/// the address (the holder-reference HMAC key), so no address appears in the audit log.
struct AddressRateLimit: RouterMiddleware {
    typealias Context = AppRequestContext
    let backend: Backend

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let limit = backend.limiter.limits.perAddress, let address = context.remoteAddress?.ipAddress {
            try await backend.limiter.take(.address, backend.holderReference.ref("address:" + address), limit: limit)
        }
        return try await next(request, context)
    }
}

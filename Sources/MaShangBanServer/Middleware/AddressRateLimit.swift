import Hummingbird
import MaShangBan

/// Resolves the address a request is counted under — the peer's, or behind a trusted proxy
/// (`--trusted-proxy`) the client's from `X-Forwarded-For`; IPv6 by its /64 — and takes a
/// token from that address's bucket, before authentication, so guessing tokens is slow too.
/// The bucket is keyed by a keyed digest of the address (the holder-reference HMAC key), so
/// no address appears in the audit log.
struct AddressRateLimit: RouterMiddleware {
    typealias Context = AppRequestContext
    let holderReference: HolderReference
    let limiter: RateLimiter
    let trustedProxies: TrustedProxies

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        // Every X-Forwarded-For field, in order, as one list.
        let forwardedFor = trustedProxies.isEmpty ? nil
            : HTTPFields.Element.Name("X-Forwarded-For").map { request.headers[values: $0].joined(separator: ",") }.flatMap { $0.isEmpty ? nil : $0 }
        context.clientAddress = ClientAddress.resolve(peer: context.remoteAddress?.ipAddress, forwardedFor: forwardedFor,
                                                      trusted: trustedProxies).flatMap(ClientAddress.key)
        if let limit = limiter.limits.perAddress, let address = context.clientAddress {
            try await limiter.take(.address, holderReference.ref("address:" + address), limit: limit)
        }
        return try await next(request, context)
    }
}

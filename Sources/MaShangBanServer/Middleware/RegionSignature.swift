import Hummingbird
import MaShangBan

/// Region-to-region authentication (跨域通办): the request must carry an RFC 9421 signature
/// by a pinned key of a peer region (`RegionRequests`, docs/API.md "Region-to-region
/// requests"); the peer's region is put in the context. The body is read here (up to the
/// JSON limit) for its `Content-Digest` and stays readable for the route.
struct RegionSignature: RouterMiddleware {
    typealias Context = AppRequestContext
    let regionRequests: RegionRequests

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: BodyLimit.json)
        var fields: [String: String] = [:]
        for field in request.headers where fields[field.name.canonicalName] == nil { fields[field.name.canonicalName] = field.value }
        var context = context
        context.peerRegion = try await regionRequests.verify(
            method: request.method.rawValue, authority: request.head.authority ?? "", path: request.uri.path,
            query: request.uri.query, fields: fields, body: Array(body.readableBytesView))
        return try await next(request, context)
    }
}

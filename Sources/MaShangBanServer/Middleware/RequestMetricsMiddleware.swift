import Dispatch
import Hummingbird
import MaShangBan
import Metrics

/// Request metrics for `/metrics`, under the names and dimensions of Hummingbird's
/// `MetricsMiddleware` (`hb.requests`, `hb.request.errors`, `http.server.request.duration`,
/// `http.server.active_requests`), recorded when the handler has answered.
///
/// Hummingbird's own middleware records after the body has been written, and to do that it
/// wraps every response body in a closure. A body that was one buffer then goes out as a
/// streamed one: the head and the body in two socket writes and two TCP segments (strace: a
/// bare Hummingbird route makes one `writev`), and one more task hop, for every answer
/// (docs/PERFORMANCE.md). Our answers are built whole before they are returned,
/// so the time to the handler's answer is the request's time less the socket write.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    private let cache = Cache()

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        let active = cache.active(request.method)
        active.increment()
        defer { active.decrement() }
        do {
            let response = try await next(request, context)
            let metrics = cache.endpoint(.init(route: context.endpointPath ?? "Unknown", method: request.method, status: response.status))
            metrics.requests.increment()
            metrics.duration.recordNanoseconds(DispatchTime.now().uptimeNanoseconds - start)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status ?? .internalServerError
            let metrics = cache.endpoint(.init(route: context.endpointPath ?? "NotFound", method: request.method, status: status))
            metrics.requests.increment()
            metrics.errors.increment()
            throw error
        }
    }

    /// The metric handles by method and by route, method and status, made once each.
    final class Cache: Sendable {
        struct Key: Hashable {
            let route: String
            let method: HTTPRequest.Method
            let status: HTTPResponse.Status
        }

        struct Endpoint: Sendable {
            let requests: Counter
            let duration: Timer
            let errors: Counter

            init(_ key: Key) {
                let dimensions = [("http.route", key.route), ("http.request.method", key.method.description),
                                  ("http.response.status_code", key.status.code.description)]
                requests = Counter(label: "hb.requests", dimensions: dimensions)
                duration = Timer(label: "http.server.request.duration", dimensions: dimensions, preferredDisplayUnit: .seconds)
                errors = Counter(label: "hb.request.errors", dimensions: [("http.route", key.route), ("http.request.method", key.method.description),
                                                                          ("error.type", key.status.code.description)])
            }
        }

        private let methods = Locked<[HTTPRequest.Method: Meter]>([:])
        private let endpoints = Locked<[Key: Endpoint]>([:])

        func active(_ method: HTTPRequest.Method) -> Meter {
            methods.withLock { methods in
                if let meter = methods[method] { return meter }
                let meter = Meter(label: "http.server.active_requests", dimensions: [("http.request.method", method.description)])
                methods[method] = meter
                return meter
            }
        }

        func endpoint(_ key: Key) -> Endpoint {
            endpoints.withLock { endpoints in
                if let endpoint = endpoints[key] { return endpoint }
                let endpoint = Endpoint(key)
                endpoints[key] = endpoint
                return endpoint
            }
        }
    }
}

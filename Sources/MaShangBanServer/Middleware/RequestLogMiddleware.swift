import Hummingbird
import Logging

/// Logs each request by method, route template and status — never the concrete path
/// (it can hold a holder id), the query, headers or bodies. Server errors at `error`,
/// the rest at `debug`.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - start
        let level: Logger.Level = response.status.code >= 500 ? .error : .debug
        context.logger.log(level: level, "request", metadata: [
            "http.method": .string(request.method.rawValue),
            "http.route": .string(context.endpointPath ?? "unmatched"),
            "http.status": .stringConvertible(response.status.code),
            "duration_ms": .stringConvertible(Double(elapsed.components.attoseconds / 1_000_000_000_000) / 1000
                + Double(elapsed.components.seconds) * 1000),
        ])
        return response
    }
}

import Foundation
import Hummingbird
import Logging
import MaShangBan
import NIOCore
import NIOHTTP1

/// Turns every error into an RFC 9457 `application/problem+json` response with a stable
/// `code` — the one place where errors become HTTP. Unknown errors are logged with the
/// request id and answer a bare 500 `internal`, never a stack trace.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as MSBError {
            return Self.response(for: error)
        } catch let error as any HTTPResponseError {
            return Self.response(for: Self.problem(for: error.status))
        } catch let error as HTTPParserError {
            // The client sent a broken request or broke one off (a body cut short, a connection
            // closed at a deadline): its fault, and usually nobody is left to read the answer.
            context.logger.debug("request could not be read", metadata: ["error": "\(error)"])
            return Self.response(for: .badRequest("the request could not be read"))
        } catch {
            if let storage = MSBError(storageFailure: error) {
                context.logger.error("storage unavailable", metadata: ["error": "\(error)"])
                return Self.response(for: storage)
            }
            context.logger.error("unhandled error", metadata: ["error.type": "\(type(of: error))", "error": "\(error)"])
            return Self.response(for: MSBError(.internal, "internal error; request id \(context.id)"))
        }
    }

    /// Hummingbird's own errors (unknown route, body too large, …) as problems.
    static func problem(for status: HTTPResponse.Status) -> MSBError {
        switch status {
        case .notFound: return .notFound("no such route")
        case .methodNotAllowed: return MSBError(.methodNotAllowed, "method not allowed on this route")
        case .contentTooLarge: return .payloadTooLarge(limit: BodyLimit.json)
        case .badRequest: return .badRequest("the request could not be read")
        case .unauthorized: return .unauthorized()
        default:
            return .httpLayer(status: status.code, detail: status.reasonPhrase)
        }
    }

    static func response(for error: MSBError) -> Response {
        let body = JSONValue.object([
            "type": .string("urn:mashangban:problem:\(error.code)"),
            "title": .string(error.title),
            "status": .int(Int64(error.status)),
            "detail": .string(error.detail),
            "code": .string(error.code),
        ]).canonicalBytes
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        if error.status == 401 { headers[.wwwAuthenticate] = "Bearer" }
        if let seconds = error.retryAfter { headers[.retryAfter] = String(seconds) }
        return Response(status: .init(code: error.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

import Foundation
import Hummingbird
import MaShangBan
import NIOCore

/// Request body limits (API.md "Limits").
enum BodyLimit {
    static let json = 1 << 20
}

extension Request {
    /// Reads and decodes a JSON body. Over `limit` bytes: 413 `payload_too_large` (refused on
    /// `Content-Length` before reading when it is declared). Malformed JSON or a wrong type:
    /// 400 `bad_request` naming the field.
    func decodeJSON<T: Decodable>(_ type: T.Type, limit: Int = BodyLimit.json) async throws -> T {
        if let declared = headers[.contentLength].flatMap(Int.init), declared > limit {
            throw MSBError.payloadTooLarge(limit: limit)
        }
        let buffer: ByteBuffer
        do {
            buffer = try await body.collect(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw MSBError.payloadTooLarge(limit: limit)
        }
        guard buffer.readableBytes > 0 else { throw MSBError.badRequest("the request needs a JSON body") }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw MSBError.badRequest(Self.describe(error))
        }
    }

    /// A safe description of a decoding failure: the field path and what was expected, never the value.
    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
                .replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .typeMismatch(let type, let context):
            if context.codingPath.isEmpty { return "the request body must be a JSON object" }
            return "field `\(path(context.codingPath))` must be \(Self.jsonTypeName(type))"
        case .valueNotFound(let type, let context):
            return "field `\(path(context.codingPath))` must be \(Self.jsonTypeName(type)), not null"
        case .keyNotFound(let key, let context):
            return "field `\(path(context.codingPath + [key]))` is required"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return "the request body is not valid JSON" }
            return "field `\(path(context.codingPath))` has an invalid value"
        @unknown default:
            return "the request body could not be read"
        }
    }

    private static func jsonTypeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type, is Int64.Type: return "an integer"
        case is Bool.Type: return "a boolean"
        case is Double.Type: return "a number"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array") { return "an array" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return "of the documented type"
        }
    }
}

/// JSON responses: sorted keys, `/` not escaped.
enum JSONResponse {
    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

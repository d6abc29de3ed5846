import Foundation
import Hummingbird
import MaShangBan
import NIOCore

/// Request body limits (docs/API.md "Limits").
enum BodyLimit {
    static let json = 1 << 20
    static let batch = 64 << 20
}

extension Request {
    /// Reads and decodes a JSON body. Over `limit` bytes: 413 `payload_too_large` (refused on
    /// `Content-Length` before reading when it is declared). Malformed JSON or a wrong type:
    /// 400 `bad_request` naming the field.
    func decodeJSON<T: Decodable>(_ type: T.Type, limit: Int = BodyLimit.json) async throws -> T {
        try Self.decode(T.self, from: try await jsonBody(limit: limit))
    }

    /// A flat body of strings sent compact (no white space) is read without JSONDecoder; any
    /// other form, or one `init(strings:)` refuses, is decoded as any body is, with the same
    /// errors. The hot routes' bodies are such objects, and JSONDecoder cost more than the
    /// rest of reading a scan's request.
    func decodeJSON<T: FlatStringBody>(_ type: T.Type, limit: Int = BodyLimit.json) async throws -> T {
        let buffer = try await jsonBody(limit: limit)
        if let members = CompactJSON.strings(buffer.readableBytesView), let body = T(strings: members) { return body }
        return try Self.decode(T.self, from: buffer)
    }

    private static func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw MSBError.badRequest(DecodingFailure.describe(error))
        }
    }

    /// The whole body, at most `limit` bytes (413 `payload_too_large` otherwise).
    func collectBody(limit: Int) async throws -> ByteBuffer {
        if let declared = headers[.contentLength].flatMap(Int.init), declared > limit {
            throw MSBError.payloadTooLarge(limit: limit)
        }
        do {
            return try await body.collect(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw MSBError.payloadTooLarge(limit: limit)
        }
    }

    /// The body, within `limit` and nested at most `JSONDepth.maximum` deep.
    private func jsonBody(limit: Int) async throws -> ByteBuffer {
        let buffer = try await collectBody(limit: limit)
        guard buffer.readableBytes > 0 else { throw MSBError.badRequest("the request needs a JSON body") }
        guard buffer.withUnsafeReadableBytes({ JSONDepth.within($0, maximum: JSONDepth.maximum) }) else {
            throw MSBError.badRequest("the JSON body is nested deeper than \(JSONDepth.maximum) levels")
        }
        return buffer
    }
}

/// A request body that is an object of strings, read by `decodeJSON` without JSONDecoder
/// when sent compact. `init(strings:)` must take what JSONDecoder would (members it does
/// not know are ignored) and return nil for anything else.
protocol FlatStringBody: Decodable {
    init?(strings: [String: String])
}

extension Request {
    /// A whole-number query parameter within `range` (400 `bad_request` otherwise), or `value` when absent.
    func integerParameter(_ name: String, default value: Int64, in range: ClosedRange<Int64>) throws -> Int64 {
        try integerParameter(name, in: range) ?? value
    }

    /// A whole-number query parameter in `range`, or nil when it is absent.
    func integerParameter(_ name: String, in range: ClosedRange<Int64>) throws -> Int64? {
        guard let raw = uri.queryParameters[Substring(name)] else { return nil }
        guard let number = Int64(raw), range.contains(number) else {
            throw MSBError.badRequest("query parameter `\(name)` must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }
}

/// No request body of ours nests deeper than a few levels; a deeper one is refused before
/// it is decoded (the decoder's own bound is far higher, and costs stack and time to reach).
enum JSONDepth {
    static let maximum = 16

    /// Whether brackets and braces outside strings nest at most `maximum` deep.
    static func within(_ bytes: some Sequence<UInt8>, maximum: Int) -> Bool {
        var depth = 0
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > maximum { return false }
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        return true
    }
}

/// JSON responses: the answer bodies in `Responses/`, written in their canonical form
/// (members sorted, `/` not escaped).
enum JSONResponse {}

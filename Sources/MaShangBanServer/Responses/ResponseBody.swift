import Hummingbird
import MaShangBan
import NIOCore

/// An API answer's body. The types in `Responses/` are the only place the API's JSON
/// member names are written: each draws a typed domain value (already desensitised) as
/// canonical JSON (RFC 8785: members sorted, no white space), which `JSONResponse` writes
/// with its own serializer, much cheaper than `JSONEncoder`. openapi.yaml describes the
/// same shapes, and the schemathesis run checks answers against it.
protocol ResponseBody: Sendable {
    var json: JSONValue { get }
    /// `json`'s canonical form; a body drawn on every request of a hot path writes it
    /// directly (`CanonicalWriter`).
    var canonicalBytes: [UInt8] { get }
}

extension ResponseBody {
    var canonicalBytes: [UInt8] { json.canonicalBytes }
}

extension JSONResponse {
    static func make(_ body: some ResponseBody, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(bytes: body.canonicalBytes)))
    }
}

extension JSONValue {
    /// A string, or `null`.
    static func string(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
    /// A time as stored (RFC 3339), or `null`.
    static func time(_ value: Timestamp?) -> JSONValue { value.map { .string($0.text) } ?? .null }
    /// A date as `YYYY-MM-DD`, or `null`.
    static func date(_ value: CalendarDate?) -> JSONValue { value.map { .string($0.text) } ?? .null }
}

/// A list under one member name (`{"items":[…]}`), for the list answers.
struct ListBody<Element: ResponseBody>: ResponseBody {
    let name: String
    let elements: [Element]
    var json: JSONValue { .object([name: .array(elements.map(\.json))]) }
}

/// `{"status":"…"}` (`/healthz`, `/readyz`).
struct StatusBody: ResponseBody {
    let status: String
    var json: JSONValue { .object(["status": .string(status)]) }
}

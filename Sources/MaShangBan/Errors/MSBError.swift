/// The one domain error. Every failure a client can cause is an `MSBError` with a stable
/// snake_case `code`, the HTTP status it maps to, and a `detail` that is safe to show:
/// it names the field or rule, never personal data, SQL or a stack trace.
public struct MSBError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var status: Int
    public var detail: String
    /// Seconds to wait before trying again (`Retry-After`), for 429 `rate_limited`.
    public var retryAfter: Int?

    public init(code: String, status: Int, detail: String) {
        self.code = code
        self.status = status
        self.detail = detail
    }

    public var description: String { "\(status) \(code): \(detail)" }

    /// A short human title for the problem document (RFC 9457 `title`).
    public var title: String { Self.titles[code] ?? code.replacingOccurrences(of: "_", with: " ").capitalizedFirst }

    private static let titles: [String: String] = [
        "bad_request": "Bad request",
        "unauthorized": "Unauthorized",
        "forbidden": "Forbidden",
        "not_found": "Not found",
        "method_not_allowed": "Method not allowed",
        "payload_too_large": "Payload too large",
        "validation_failed": "Validation failed",
        "storage_unavailable": "Storage unavailable",
        "rate_limited": "Too many requests",
        "internal": "Internal error",
    ]
}

extension MSBError {
    public static func badRequest(_ detail: String) -> MSBError { .init(code: "bad_request", status: 400, detail: detail) }
    public static func unauthorized(_ detail: String = "a valid bearer token is required") -> MSBError {
        .init(code: "unauthorized", status: 401, detail: detail)
    }
    public static func forbidden(_ detail: String) -> MSBError { .init(code: "forbidden", status: 403, detail: detail) }
    public static func notFound(_ detail: String) -> MSBError { .init(code: "not_found", status: 404, detail: detail) }
    public static func payloadTooLarge(limit: Int) -> MSBError {
        .init(code: "payload_too_large", status: 413, detail: "the request body is larger than \(limit) bytes")
    }
    public static func validationFailed(_ detail: String) -> MSBError {
        .init(code: "validation_failed", status: 422, detail: detail)
    }
    public static func storageUnavailable(_ detail: String = "storage is not available; try again later") -> MSBError {
        .init(code: "storage_unavailable", status: 503, detail: detail)
    }
}

extension String {
    var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}

extension MSBError {
    /// A free-text value (a name, an issuer, a reason): white space trimmed, 1 to `maximum`
    /// characters, no control characters; else 422 `validation_failed` naming `field`.
    public static func requireText(_ raw: String, field: String, maximum: Int) throws -> String {
        let text = raw.trimmed
        guard !text.isEmpty, text.count <= maximum, !text.hasControlCharacters else {
            throw MSBError.validationFailed("\(field) must be 1 to \(maximum) characters without control characters")
        }
        return text
    }
}

extension String {
    /// Whether it holds a control character (Unicode general category Cc: exactly
    /// U+0000–U+001F and U+007F–U+009F). SQLite returns text only up to a NUL.
    var hasControlCharacters: Bool {
        unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }
    }

    /// Without leading and trailing white space (Unicode White_Space); NSString's trimming
    /// is slow on Linux and this runs for every imported licence.
    var trimmed: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}

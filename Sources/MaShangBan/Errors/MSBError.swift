/// The one domain error. Every failure a client can cause is an `MSBError` with a stable
/// snake_case code from the catalogue (`ProblemCode`), the HTTP status it maps to, and a
/// `detail` that is safe to show: it names the field or rule, never personal data, SQL or
/// a stack trace.
public struct MSBError: Error, Sendable, Equatable, CustomStringConvertible {
    public let problem: ProblemCode
    /// The catalogue's status, except where the HTTP layer chose another 4xx or 5xx itself.
    public internal(set) var status: Int
    public var detail: String
    /// Seconds to wait before trying again (`Retry-After`), for 429 `rate_limited`.
    public var retryAfter: Int?

    public init(_ problem: ProblemCode, _ detail: String) {
        self.problem = problem
        self.status = problem.status
        self.detail = detail
    }

    /// A problem the HTTP layer raised with a status of its own (431, 408, …): `bad_request`
    /// below 500, `internal` from 500 on, keeping the status.
    public static func httpLayer(status: Int, detail: String) -> MSBError {
        var error = MSBError(status < 500 ? .badRequest : .internal, detail)
        error.status = status
        return error
    }

    /// The stable snake_case code (`problem.rawValue`).
    public var code: String { problem.rawValue }

    public var description: String { "\(status) \(code): \(detail)" }

    /// A short human title for the problem document (RFC 9457 `title`).
    public var title: String { problem.title }
}

extension MSBError {
    public static func badRequest(_ detail: String) -> MSBError { .init(.badRequest, detail) }
    public static func unauthorized(_ detail: String = "a valid bearer token is required") -> MSBError {
        .init(.unauthorized, detail)
    }
    public static func forbidden(_ detail: String) -> MSBError { .init(.forbidden, detail) }
    public static func notFound(_ detail: String) -> MSBError { .init(.notFound, detail) }
    public static func payloadTooLarge(limit: Int) -> MSBError {
        .init(.payloadTooLarge, "the request body is larger than \(limit) bytes")
    }
    public static func validationFailed(_ detail: String) -> MSBError { .init(.validationFailed, detail) }
    public static func storageUnavailable(_ detail: String = "storage is not available; try again later") -> MSBError {
        .init(.storageUnavailable, detail)
    }
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

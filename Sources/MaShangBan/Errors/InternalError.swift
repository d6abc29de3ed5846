/// A broken invariant of the server's own: stored data that cannot be read back, a C
/// library that failed, a row that must exist and does not. Never the client's fault: the
/// HTTP layer logs it and answers 500 `internal` with a request id. (A failure of a
/// cryptographic primitive is a `CryptoError`; what a client caused is an `MSBError`.)
public struct InternalError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "internal: \(message)" }
}

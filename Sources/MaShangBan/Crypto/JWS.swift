import Foundation

/// Why a JWS was refused. Callers map these to their own error codes
/// (`token_invalid`, `attestation_invalid`, …).
public enum JWSError: Error, Equatable, Sendable {
    case tooLong
    case malformed(String)
    case algorithmNone
    case algorithmMismatch
    case unknownKey
    case badSignature

    public var reason: String {
        switch self {
        case .tooLong: return "longer than \(JWS.maximumLength) bytes"
        case .malformed(let why): return why
        case .algorithmNone: return "alg none is not accepted"
        case .algorithmMismatch: return "alg does not match the key"
        case .unknownKey: return "unknown kid"
        case .badSignature: return "signature does not verify"
        }
    }
}

/// JWS compact serialisation (RFC 7515) with a `kid` header, signed by our Ed25519 or SM2 keys.
public enum JWS {
    public static let maximumLength = 4096

    /// A JWS whose structure and encoding are valid; the signature is not yet checked.
    public struct Parsed: Sendable {
        public let header: [String: JSONValue]
        /// The payload's JSON text (a JSON object).
        public let payloadBytes: [UInt8]
        public let algorithm: String
        public let kid: String
        let signingInput: [UInt8]
        let signature: [UInt8]

        /// The payload's members; empty if it holds a non-integer number (use `claims`).
        public var payload: [String: JSONValue] {
            if case .object(let members)? = JSONValue.parse(payloadBytes) { return members }
            return [:]
        }

        /// The payload decoded as `T` (claims with fractional numbers, such as a score).
        public func claims<T: Decodable>(_ type: T.Type) throws(JWSError) -> T {
            do { return try JSONDecoder().decode(T.self, from: Data(payloadBytes)) } catch let error as DecodingError {
                throw .malformed("payload claims: " + DecodingFailure.describe(error))
            } catch {
                throw .malformed("payload claims could not be read")
            }
        }
    }

    /// Signs `payload` with a header `{"alg":…,"kid":…}` plus `extraHeader`.
    public static func sign(payload: JSONValue, kid: String, signer: any SignatureSigner, extraHeader: [String: JSONValue] = [:]) throws -> String {
        try sign(payloadJSON: payload.canonicalBytes, kid: kid, signer: signer, extraHeader: extraHeader)
    }

    /// Signs a payload given as JSON text (for claims that are not integer-only, such as a score).
    public static func sign(payloadJSON: [UInt8], kid: String, signer: any SignatureSigner, extraHeader: [String: JSONValue] = [:]) throws -> String {
        var header = extraHeader
        header["alg"] = .string(signer.verifier.algorithm.rawValue)
        header["kid"] = .string(kid)
        let signingInput = Encoding.base64URL(JSONValue.object(header).canonicalBytes) + "." + Encoding.base64URL(payloadJSON)
        let signature = try signer.sign(Array(signingInput.utf8))
        return signingInput + "." + Encoding.base64URL(signature)
    }

    /// Checks size, shape, base64url, the header's JSON, and that `alg` is not `none`. The
    /// payload is read once, by `claims` (or `payload`), which refuses one that is not a JSON
    /// object: reading it here as well cost a tenth of verifying a scanned code.
    public static func parse(_ token: String) throws(JWSError) -> Parsed {
        guard token.utf8.count <= maximumLength else { throw .tooLong }
        // Split on the bytes: `String.split` walks grapheme clusters, which cost more than
        // the base64url decoding of the parts.
        let parts = token.utf8.split(separator: UInt8(ascii: "."), maxSplits: 3, omittingEmptySubsequences: false).map(Substring.init)
        guard parts.count == 3 else { throw .malformed("not three dot-separated parts") }
        guard let payloadBytes = Encoding.fromBase64URL(parts[1]),
              let signature = Encoding.fromBase64URL(parts[2])
        else { throw .malformed("bad base64url") }
        let header = try HeaderCache.shared.header(parts[0])
        guard case .string(let alg)? = header["alg"] else { throw .malformed("header has no alg") }
        if alg.lowercased() == "none" { throw .algorithmNone }
        guard case .string(let kid)? = header["kid"] else { throw .malformed("header has no kid") }
        let signingInput = Array(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        return Parsed(header: header, payloadBytes: payloadBytes, algorithm: alg, kid: kid, signingInput: signingInput,
                      signature: signature)
    }

    /// Parses and verifies with the key `keyFor(kid)` returns. The algorithm comes from the
    /// key; a header `alg` that differs is refused.
    public static func verify(_ token: String, keyFor: (String) -> (any SignatureVerifier)?) throws(JWSError) -> Parsed {
        let (parsed, key) = try parse(token, keyFor: keyFor)
        guard key.isValidSignature(parsed.signature, for: parsed.signingInput) else { throw .badSignature }
        return parsed
    }

    /// Parses and finds the key as `verify` does, and leaves the signature unchecked: for the
    /// issuer of a token, which compares it with its record of what it signed instead
    /// (`QRToken.unverified`).
    static func parse(_ token: String, keyFor: (String) -> (any SignatureVerifier)?) throws(JWSError) -> (Parsed, any SignatureVerifier) {
        let parsed = try parse(token)
        guard let key = keyFor(parsed.kid) else { throw .unknownKey }
        guard parsed.algorithm == key.algorithm.rawValue else { throw .algorithmMismatch }
        return (parsed, key)
    }
}

/// Parsed JWS headers by their base64url text. Every token one key signs has the same
/// header, and parsing it through `JSONValue` cost more than the rest of `parse`; the cache
/// is small and starts over when full, so odd headers cannot grow it.
struct HeaderCache: Sendable {
    static let shared = HeaderCache()
    static let capacity = 64
    private let parsed = Locked<[String: [String: JSONValue]]>([:])

    func header(_ segment: Substring) throws(JWSError) -> [String: JSONValue] {
        let text = String(segment)
        if let header = parsed.withLock({ $0[text] }) { return header }
        guard let bytes = Encoding.fromBase64URL(text) else { throw .malformed("bad base64url") }
        guard case .object(let header)? = JSONValue.parse(bytes) else { throw .malformed("header is not a JSON object") }
        parsed.withLock {
            if $0.count >= Self.capacity { $0.removeAll(keepingCapacity: true) }
            $0[text] = header
        }
        return header
    }
}

import Foundation

/// The QR token (docs/API.md "QR token"): a JWS signed by our active key, at most 300 bytes,
/// carrying no personal data — only who issued it (`iss`, the region), what it is for
/// (`typ`), a 128-bit single-use id (`jti`), its lifetime, and the hall (`aud`) when the
/// consent names one.
public struct QRToken: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        case present, window
        /// 赋码入企: an official visit's code, scanned at the enterprise's door.
        case visit
    }

    public let iss: String
    public let typ: Kind
    public let jti: String
    public let iat: Int64
    public let exp: Int64
    public let aud: String?

    public static let maximumLength = 300
    /// Tokens are accepted until `exp` plus this many seconds (clock drift between the
    /// phone showing the code and us).
    public static let leeway: Int64 = 5

    /// A new token with a fresh `jti` (128 random bits).
    public static func make(kind: Kind, region: String, hall: String?, issuedAt: Date, expiresAt: Date,
                            random: any RandomSource) -> QRToken {
        make(kind: kind, region: region, hall: hall, issuedAt: issuedAt, expiresAt: expiresAt, jti: newJTI(random))
    }

    /// A token with this `jti`.
    static func make(kind: Kind, region: String, hall: String?, issuedAt: Date, expiresAt: Date, jti: String) -> QRToken {
        QRToken(iss: region, typ: kind, jti: jti, iat: Int64(issuedAt.timeIntervalSince1970),
                exp: Int64(expiresAt.timeIntervalSince1970), aud: hall)
    }

    /// A fresh single-use id: 128 random bits.
    static func newJTI(_ random: any RandomSource) -> String { Encoding.base64URL(random.bytes(16)) }

    /// The signed compact JWS.
    public func signed(with key: SigningKey) throws -> String {
        var claims: [String: JSONValue] = ["iss": .string(iss), "typ": .string(typ.rawValue), "jti": .string(jti),
                                           "iat": .int(iat), "exp": .int(exp)]
        if let aud { claims["aud"] = .string(aud) }
        let token = try JWS.sign(payload: .object(claims), kid: key.kid, signer: key.signer)
        guard token.utf8.count <= Self.maximumLength else { throw InternalError("a QR token came out longer than 300 bytes") }
        return token
    }

    /// Verifies a scanned token: 422 `token_invalid` (malformed, too long, bad signature,
    /// unknown `kid`, `alg` not the key's, wrong `typ` or `iss`), 410 `token_expired` once
    /// `exp` + 5 s has passed (unless `now` is nil: a visit code's expiry is a rule of its own).
    public static func verify(_ token: String, kind: Kind, region: String, keyring: Keyring, now: Date?) throws -> QRToken {
        try verify(token, kind: kind, region: region, now: now) { keyring.verifier(kid: $0) }
    }

    /// The same, with the keys of `region` (a peer's, for 跨域通办) given by `keyFor`.
    static func verify(_ token: String, kind: Kind, region: String, now: Date?, keyFor: (String) -> (any SignatureVerifier)?) throws -> QRToken {
        try read(token, kind: kind, region: region, now: now) { token throws(JWSError) in try JWS.verify(token, keyFor: keyFor) }
    }

    /// A token of ours read as `verify` reads it but for its signature, or nil when `verify`
    /// would refuse it for anything else. For a scan of a code we issued and kept a record of
    /// (a presentation's token hash, a window session's token): a token equal to that record
    /// is the one we signed, so the comparison stands for the signature, and a token that
    /// differs from it, or has none, must be verified (`TokenNotRecognised`). On 2 cores the
    /// signature cost a fifth of a scan's CPU (intl), two fifths under 国密.
    static func unverified(_ token: String, kind: Kind, region: String, keyring: Keyring, now: Date) -> QRToken? {
        try? read(token, kind: kind, region: region, now: now) { token throws(JWSError) in
            try JWS.parse(token) { keyring.verifier(kid: $0) }.0
        }
    }

    /// The checks `verify` and `unverified` share; `jws` parses the token and checks its key.
    private static func read(_ token: String, kind: Kind, region: String, now: Date?,
                             jws: (String) throws(JWSError) -> JWS.Parsed) throws -> QRToken {
        let invalid = { (why: String) in MSBError(.tokenInvalid, "the token \(why)") }
        guard token.utf8.count <= maximumLength else { throw invalid("is longer than \(maximumLength) bytes") }
        let claims: QRToken
        do {
            let parsed = try jws(token)
            if let canonical = canonicalClaims(parsed.payloadBytes) { claims = canonical } else { claims = try parsed.claims(QRToken.self) }
        } catch {
            throw invalid("is not valid: \(error.reason)")
        }
        guard claims.typ == kind else { throw invalid("is a \(claims.typ.rawValue) token, not a \(kind.rawValue) token") }
        guard claims.iss == region else { throw invalid("was issued for another region") }
        if let now, Int64(now.timeIntervalSince1970) > claims.exp + leeway {
            throw MSBError(.tokenExpired, "the token has expired")
        }
        return claims
    }

    /// Reads the claims in the form `signed` writes them: canonical JSON of exactly these
    /// members. Nil for anything else, which `verify` leaves to JSONDecoder and its error
    /// messages (that decoder cost a sixth of verifying a scanned code besides Ed25519).
    static func canonicalClaims(_ payload: [UInt8]) -> QRToken? {
        var reader = CanonicalReader(bytes: payload)
        var (iss, typ, jti, iat, exp, aud): (String?, Kind?, String?, Int64?, Int64?, String?) = (nil, nil, nil, nil, nil, nil)
        let read = reader.object { name, reader in
            switch name {
            case "iss" where iss == nil: iss = reader.string(); return iss != nil
            case "typ" where typ == nil: typ = reader.string().flatMap(Kind.init(rawValue:)); return typ != nil
            case "jti" where jti == nil: jti = reader.string(); return jti != nil
            case "iat" where iat == nil: iat = reader.integer(); return iat != nil
            case "exp" where exp == nil: exp = reader.integer(); return exp != nil
            case "aud" where aud == nil: aud = reader.string(); return aud != nil
            default: return false
            }
        }
        guard read, reader.atEnd, let iss, let typ, let jti, let iat, let exp else { return nil }
        return QRToken(iss: iss, typ: typ, jti: jti, iat: iat, exp: exp, aud: aud)
    }
}

/// A token read by `QRToken.unverified` that is not the one the record of its `jti` holds, or
/// whose `jti` has no record: it must be verified, and refused or accepted as `verify` says.
struct TokenNotRecognised: Error {
    /// What `body` returns, or nil when it threw this (the token must then be verified).
    static func orNil<T>(_ body: () async throws -> T) async throws -> T? {
        do { return try await body() } catch is TokenNotRecognised { return nil }
    }
}

/// The crypto profile a deployment runs under, chosen at first start and recorded in the
/// database: `intl` (Ed25519, SHA-256, HMAC-SHA256, AES-256-GCM through swift-crypto) or
/// `gm` (国密: SM2 with SM3, SM3, HMAC-SM3, SM4-CTR + HMAC-SM3 through OpenSSL 3).
public enum CryptoProfile: String, Sendable, CaseIterable, Codable {
    case intl
    case gm
}

/// A failure inside a crypto primitive (not something a client did). Carries OpenSSL's
/// error queue text where there is one.
public struct CryptoError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "crypto: \(message)" }
}

/// A cryptographic hash function (SHA-256 or SM3).
public protocol Hashing: Sendable {
    var name: String { get }
    func hash(_ data: [UInt8]) -> [UInt8]
}

/// A keyed message authentication code (HMAC-SHA256 or HMAC-SM3).
public protocol MessageAuthentication: Sendable {
    var name: String { get }
    func mac(key: [UInt8], data: [UInt8]) -> [UInt8]
    /// The MAC under one key that MACs many short values (lookup digests, holder
    /// references): a profile that can sets the key up once, not for every value.
    func keyed(_ key: [UInt8]) -> any KeyedMAC
}

/// A MAC with its key fixed: `mac(data)` is `mac(key: key, data: data)`.
public protocol KeyedMAC: Sendable {
    func mac(_ data: [UInt8]) -> [UInt8]
}

extension MessageAuthentication {
    public func keyed(_ key: [UInt8]) -> any KeyedMAC { PlainKeyedMAC(authentication: self, key: key) }
}

/// A keyed MAC that passes its key on every call.
struct PlainKeyedMAC: KeyedMAC {
    let authentication: any MessageAuthentication
    let key: [UInt8]
    func mac(_ data: [UInt8]) -> [UInt8] { authentication.mac(key: key, data: data) }
}

/// Authenticated encryption with associated data for data at rest
/// (AES-256-GCM, or SM4-CTR + HMAC-SM3 encrypt-then-MAC).
public protocol AuthenticatedEncryption: Sendable {
    var name: String { get }
    /// Key length in bytes.
    var keyLength: Int { get }
    /// Returns a self-contained box: nonce/iv ‖ ciphertext ‖ tag.
    func seal(_ plaintext: [UInt8], key: [UInt8], associatedData: [UInt8]) throws -> [UInt8]
    /// Opens a box made by `seal`; throws if it was altered or the key or associated data differ.
    func open(_ box: [UInt8], key: [UInt8], associatedData: [UInt8]) throws -> [UInt8]
}

/// The JWS `alg` names of the two signature schemes.
public enum SignatureAlgorithm: String, Sendable, Codable, CaseIterable {
    case ed25519 = "EdDSA"
    case sm2 = "SM2"
}

/// A public key that verifies signatures.
public protocol SignatureVerifier: Sendable {
    var algorithm: SignatureAlgorithm { get }
    /// Raw public key: 32 bytes for Ed25519, the 65-byte uncompressed point for SM2.
    var rawPublicKey: [UInt8] { get }
    /// JWS-form signature: 64 bytes (Ed25519 R‖S, or SM2 r‖s).
    func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool
    /// SubjectPublicKeyInfo PEM.
    func publicKeyPEM() throws -> String
}

/// A private key that signs.
public protocol SignatureSigner: Sendable {
    var verifier: any SignatureVerifier { get }
    /// JWS-form signature (64 bytes).
    func sign(_ message: [UInt8]) throws -> [UInt8]
    /// PKCS#8 PEM.
    func privateKeyPEM() throws -> String
}

/// Makes and loads keys of one signature scheme.
public protocol SignatureScheme: Sendable {
    var algorithm: SignatureAlgorithm { get }
    func generate() throws -> any SignatureSigner
}

/// The set of primitives one crypto profile uses. Everything in the domain that hashes,
/// MACs, encrypts or signs goes through a `CryptoSuite`, so the profile picks the code.
public struct CryptoSuite: Sendable {
    public let profile: CryptoProfile
    public let hashing: any Hashing
    public let authentication: any MessageAuthentication
    public let encryption: any AuthenticatedEncryption
    public let signatures: any SignatureScheme

    public init(profile: CryptoProfile) {
        self.profile = profile
        switch profile {
        case .intl:
            hashing = SHA256Hashing()
            authentication = HMACSHA256()
            encryption = AESGCMEncryption()
            signatures = Ed25519Scheme()
        case .gm:
            hashing = SM3Hashing()
            authentication = HMACSM3()
            encryption = SM4CTRHMACEncryption()
            signatures = SM2Scheme()
        }
    }

    public func hash(_ data: [UInt8]) -> [UInt8] { hashing.hash(data) }
    public func mac(key: [UInt8], data: [UInt8]) -> [UInt8] { authentication.mac(key: key, data: data) }

    /// `kid` of a public key: the first 8 bytes of the profile hash of the raw public key, base64url.
    public func keyID(of verifier: any SignatureVerifier) -> String { Self.keyID(of: verifier) }

    /// `kid` of any public key, ours or a face-auth provider's: base64url of the first 8 bytes
    /// of the hash of its family (SHA-256 for Ed25519, SM3 for SM2) over the raw public key.
    /// For our own keys that is the profile hash.
    public static func keyID(of verifier: any SignatureVerifier) -> String {
        let hashing: any Hashing = verifier.algorithm == .sm2 ? SM3Hashing() : SHA256Hashing()
        return Encoding.base64URL(hashing.hash(verifier.rawPublicKey).prefix(8))
    }
}

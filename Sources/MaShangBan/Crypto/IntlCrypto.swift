import Crypto
import Foundation

/// SHA-256 through swift-crypto.
public struct SHA256Hashing: Hashing {
    public init() {}
    public var name: String { "SHA-256" }
    public func hash(_ data: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: data)) }
}

/// HMAC-SHA256 through swift-crypto.
public struct HMACSHA256: MessageAuthentication {
    public init() {}
    public var name: String { "HMAC-SHA256" }
    public func mac(key: [UInt8], data: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: data, using: SymmetricKey(data: key)))
    }

    /// The key's inner and outer pads hashed once: a value then costs two SHA-256 blocks
    /// fewer, and no key set-up.
    public func keyed(_ key: [UInt8]) -> any KeyedMAC { PreparedHMACSHA256(start: HMAC<SHA256>(key: SymmetricKey(data: key))) }
}

/// HMAC-SHA256 from a keyed state. `start` is never changed: each value works on a copy, and
/// swift-crypto copies the shared digest state before the copy's first update (copy on
/// write), so threads only ever read it.
struct PreparedHMACSHA256: KeyedMAC, @unchecked Sendable {
    let start: HMAC<SHA256>
    func mac(_ data: [UInt8]) -> [UInt8] {
        var hmac = start
        hmac.update(data: data)
        return Array(hmac.finalize())
    }
}

/// AES-256-GCM through swift-crypto; the box is nonce(12) ‖ ciphertext ‖ tag(16).
public struct AESGCMEncryption: AuthenticatedEncryption {
    public init() {}
    public var name: String { "AES-256-GCM" }
    public var keyLength: Int { 32 }

    public func seal(_ plaintext: [UInt8], key: [UInt8], associatedData: [UInt8]) throws -> [UInt8] {
        guard key.count == keyLength else { throw CryptoError("AES-256-GCM needs a 32-byte key") }
        // A random 96-bit nonce, as swift-crypto would draw, but from the buffered CSPRNG
        // (swift-crypto's own costs two system calls a box).
        let nonce = try AES.GCM.Nonce(data: SystemRandom().bytes(12))
        let box = try AES.GCM.seal(plaintext, using: SymmetricKey(data: key), nonce: nonce, authenticating: associatedData)
        guard let combined = box.combined else { throw CryptoError("AES-GCM produced no combined box") }
        return Array(combined)
    }

    public func open(_ box: [UInt8], key: [UInt8], associatedData: [UInt8]) throws -> [UInt8] {
        guard key.count == keyLength else { throw CryptoError("AES-256-GCM needs a 32-byte key") }
        do {
            let sealed = try AES.GCM.SealedBox(combined: box)
            return Array(try AES.GCM.open(sealed, using: SymmetricKey(data: key), authenticating: associatedData))
        } catch {
            throw CryptoError("AES-GCM box does not authenticate")
        }
    }
}

/// Ed25519 through swift-crypto; PEM through OpenSSL (swift-crypto has no Ed25519 PEM).
public struct Ed25519Scheme: SignatureScheme {
    public init() {}
    public var algorithm: SignatureAlgorithm { .ed25519 }
    public func generate() throws -> any SignatureSigner { Ed25519Signer(key: Curve25519.Signing.PrivateKey()) }
}

// swift-crypto's keys are immutable but not marked Sendable on Linux.
public struct Ed25519Verifier: SignatureVerifier, @unchecked Sendable {
    let key: Curve25519.Signing.PublicKey

    public init(rawRepresentation: [UInt8]) throws {
        do { key = try Curve25519.Signing.PublicKey(rawRepresentation: rawRepresentation) } catch {
            throw CryptoError("not an Ed25519 public key")
        }
    }

    init(key: Curve25519.Signing.PublicKey) { self.key = key }

    public var algorithm: SignatureAlgorithm { .ed25519 }
    public var rawPublicKey: [UInt8] { Array(key.rawRepresentation) }

    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        signature.count == 64 && key.isValidSignature(signature, for: message)
    }

    public func publicKeyPEM() throws -> String {
        try OpenSSLKey.ed25519(publicKey: rawPublicKey).publicKeyPEM()
    }
}

public struct Ed25519Signer: SignatureSigner, @unchecked Sendable {
    let key: Curve25519.Signing.PrivateKey

    public init(rawRepresentation: [UInt8]) throws {
        do { key = try Curve25519.Signing.PrivateKey(rawRepresentation: rawRepresentation) } catch {
            throw CryptoError("not an Ed25519 private key")
        }
    }

    init(key: Curve25519.Signing.PrivateKey) { self.key = key }

    public var verifier: any SignatureVerifier { Ed25519Verifier(key: key.publicKey) }

    public func sign(_ message: [UInt8]) throws -> [UInt8] { Array(try key.signature(for: message)) }

    public func privateKeyPEM() throws -> String {
        try OpenSSLKey.ed25519(privateKey: Array(key.rawRepresentation)).privateKeyPEM()
    }
}

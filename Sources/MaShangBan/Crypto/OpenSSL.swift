import COpenSSL

/// Drains OpenSSL's error queue into a `CryptoError`.
func openSSLError(_ what: String) -> CryptoError {
    var reasons: [String] = []
    while true {
        let code = ERR_get_error()
        if code == 0 { break }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
    return CryptoError(reasons.isEmpty ? what : "\(what): \(reasons.joined(separator: "; "))")
}

/// An owned `EVP_PKEY`. OpenSSL keys are immutable once made and safe to use from
/// several threads at once (each operation makes its own context).
final class OpenSSLKey: @unchecked Sendable {
    let pkey: OpaquePointer

    init(taking pkey: OpaquePointer) { self.pkey = pkey }
    deinit { EVP_PKEY_free(pkey) }

    func isA(_ name: String) -> Bool { EVP_PKEY_is_a(pkey, name) == 1 }

    // MARK: Construction

    static func generate(_ algorithm: String) throws -> OpenSSLKey {
        guard let ctx = EVP_PKEY_CTX_new_from_name(nil, algorithm, nil) else { throw openSSLError("keygen context") }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_keygen_init(ctx) == 1 else { throw openSSLError("keygen init") }
        var pkey: OpaquePointer?
        guard EVP_PKEY_generate(ctx, &pkey) == 1, let pkey else { throw openSSLError("keygen") }
        return OpenSSLKey(taking: pkey)
    }

    static func ed25519(privateKey raw: [UInt8]) throws -> OpenSSLKey {
        guard let pkey = EVP_PKEY_new_raw_private_key_ex(nil, "ED25519", nil, raw, raw.count) else {
            throw openSSLError("Ed25519 private key")
        }
        return OpenSSLKey(taking: pkey)
    }

    static func ed25519(publicKey raw: [UInt8]) throws -> OpenSSLKey {
        guard let pkey = EVP_PKEY_new_raw_public_key_ex(nil, "ED25519", nil, raw, raw.count) else {
            throw openSSLError("Ed25519 public key")
        }
        return OpenSSLKey(taking: pkey)
    }

    static func load(privateKeyPEM pem: String) throws -> OpenSSLKey {
        try withMemoryBIO(pem) { bio in
            guard let pkey = PEM_read_bio_PrivateKey(bio, nil, nil, nil) else { throw openSSLError("not a PEM private key") }
            return OpenSSLKey(taking: pkey)
        }
    }

    static func load(publicKeyPEM pem: String) throws -> OpenSSLKey {
        try withMemoryBIO(pem) { bio in
            guard let pkey = PEM_read_bio_PUBKEY(bio, nil, nil, nil) else { throw openSSLError("not a PEM public key") }
            return OpenSSLKey(taking: pkey)
        }
    }

    // MARK: Export

    func privateKeyPEM() throws -> String {
        try writeToMemoryBIO { bio in PEM_write_bio_PrivateKey(bio, pkey, nil, nil, 0, nil, nil) }
    }

    func publicKeyPEM() throws -> String {
        try writeToMemoryBIO { bio in PEM_write_bio_PUBKEY(bio, pkey) }
    }

    func rawEd25519PrivateKey() throws -> [UInt8] { try rawKey(EVP_PKEY_get_raw_private_key, "raw private key") }
    func rawEd25519PublicKey() throws -> [UInt8] { try rawKey(EVP_PKEY_get_raw_public_key, "raw public key") }

    private func rawKey(_ get: (OpaquePointer?, UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<Int>?) -> Int32,
                        _ what: String) throws -> [UInt8] {
        var length = 0
        guard get(pkey, nil, &length) == 1 else { throw openSSLError(what) }
        var out = [UInt8](repeating: 0, count: length)
        guard get(pkey, &out, &length) == 1 else { throw openSSLError(what) }
        return Array(out.prefix(length))
    }

    /// The encoded public point of an EC (SM2) key: 0x04 ‖ x ‖ y.
    func encodedPublicPoint() throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 133)
        var length = 0
        guard EVP_PKEY_get_octet_string_param(pkey, "pub", &out, out.count, &length) == 1 else {
            throw openSSLError("SM2 public point")
        }
        return Array(out.prefix(length))
    }

    // MARK: BIO helpers

    private static func withMemoryBIO<T>(_ text: String, _ body: (OpaquePointer) throws -> T) throws -> T {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBytes { buffer in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { throw openSSLError("BIO") }
            defer { BIO_free(bio) }
            return try body(bio)
        }
    }

    private func writeToMemoryBIO(_ write: (OpaquePointer) -> Int32) throws -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { throw openSSLError("BIO") }
        defer { BIO_free(bio) }
        guard write(bio) == 1 else { throw openSSLError("PEM write") }
        var pointer: UnsafeMutablePointer<CChar>?
        let length = msb_bio_get_mem_data(bio, &pointer)
        guard let pointer, length > 0 else { throw openSSLError("PEM write produced nothing") }
        return String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
    }
}

/// Loads a PEM key of either scheme, telling them apart by the key's type.
public enum SignatureKeys {
    public static func loadSigner(privateKeyPEM pem: String) throws -> any SignatureSigner {
        let key = try OpenSSLKey.load(privateKeyPEM: pem)
        if key.isA("ED25519") { return try Ed25519Signer(rawRepresentation: key.rawEd25519PrivateKey()) }
        if key.isA("SM2") { return try SM2Signer(key: key) }
        throw CryptoError("the private key is neither Ed25519 nor SM2")
    }

    public static func loadVerifier(publicKeyPEM pem: String) throws -> any SignatureVerifier {
        let key = try OpenSSLKey.load(publicKeyPEM: pem)
        if key.isA("ED25519") { return try Ed25519Verifier(rawRepresentation: key.rawEd25519PublicKey()) }
        if key.isA("SM2") { return try SM2Verifier(key: key) }
        throw CryptoError("the public key is neither Ed25519 nor SM2")
    }
}

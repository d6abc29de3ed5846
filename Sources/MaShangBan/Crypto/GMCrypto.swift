import COpenSSL

/// SM3 (GB/T 32905) through OpenSSL.
public struct SM3Hashing: Hashing {
    public init() {}
    public var name: String { "SM3" }

    public func hash(_ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let ok = data.withUnsafeBytes { buffer in
            EVP_Digest(buffer.baseAddress, buffer.count, &out, &length, GMAlgorithms.sm3, nil)
        }
        // SM3 over memory cannot fail once the algorithm is fetched; a failure is a broken OpenSSL.
        precondition(ok == 1 && length == 32, "\(openSSLError("SM3"))")
        return out
    }
}

/// HMAC-SM3 through OpenSSL's EVP_Q_mac.
public struct HMACSM3: MessageAuthentication {
    public init() {}
    public var name: String { "HMAC-SM3" }

    public func mac(key: [UInt8], data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length = 0
        let result = key.withUnsafeBytes { keyBuffer in
            data.withUnsafeBufferPointer { dataBuffer in
                EVP_Q_mac(nil, "HMAC", nil, "SM3", nil, keyBuffer.baseAddress, keyBuffer.count,
                          dataBuffer.baseAddress, dataBuffer.count, &out, out.count, &length)
            }
        }
        precondition(result != nil && length == 32, "\(openSSLError("HMAC-SM3"))")
        return out
    }
}

/// SM4-CTR with HMAC-SM3, encrypt-then-MAC (OpenSSL 3.0 on Debian 12 has no SM4-GCM).
/// The 32-byte key is split: bytes 0..<16 encrypt, 16..<32 authenticate.
/// Box: iv(16) ‖ ciphertext ‖ tag(32), tag = HMAC-SM3(mac key, len(aad) as 8 bytes big-endian ‖ aad ‖ iv ‖ ciphertext).
public struct SM4CTRHMACEncryption: AuthenticatedEncryption {
    public init() {}
    public var name: String { "SM4-CTR+HMAC-SM3" }
    public var keyLength: Int { 32 }

    public func seal(_ plaintext: [UInt8], key: [UInt8], associatedData: [UInt8]) throws -> [UInt8] {
        guard key.count == keyLength else { throw CryptoError("SM4-CTR+HMAC-SM3 needs a 32-byte key") }
        let iv = SystemRandom().bytes(16)
        let ciphertext = try Self.ctr(plaintext, key: Array(key[0..<16]), iv: iv)
        let tag = Self.tag(macKey: Array(key[16..<32]), associatedData: associatedData, iv: iv, ciphertext: ciphertext)
        return iv + ciphertext + tag
    }

    public func open(_ box: [UInt8], key: [UInt8], associatedData: [UInt8]) throws -> [UInt8] {
        guard key.count == keyLength else { throw CryptoError("SM4-CTR+HMAC-SM3 needs a 32-byte key") }
        guard box.count >= 48 else { throw CryptoError("SM4 box too short") }
        let iv = Array(box[0..<16])
        let ciphertext = Array(box[16..<(box.count - 32)])
        let tag = Array(box[(box.count - 32)...])
        let expected = Self.tag(macKey: Array(key[16..<32]), associatedData: associatedData, iv: iv, ciphertext: ciphertext)
        guard CRYPTO_memcmp(tag, expected, 32) == 0 else { throw CryptoError("SM4 box does not authenticate") }
        return try Self.ctr(ciphertext, key: Array(key[0..<16]), iv: iv)
    }

    private static func tag(macKey: [UInt8], associatedData: [UInt8], iv: [UInt8], ciphertext: [UInt8]) -> [UInt8] {
        var length = UInt64(associatedData.count).bigEndian
        let lengthBytes = withUnsafeBytes(of: &length) { Array($0) }
        return HMACSM3().mac(key: macKey, data: lengthBytes + associatedData + iv + ciphertext)
    }

    private static func ctr(_ input: [UInt8], key: [UInt8], iv: [UInt8]) throws -> [UInt8] {
        guard let ctx = EVP_CIPHER_CTX_new() else { throw openSSLError("cipher context") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        guard EVP_EncryptInit_ex2(ctx, GMAlgorithms.sm4ctr, key, iv, nil) == 1 else { throw openSSLError("SM4-CTR init") }
        var out = [UInt8](repeating: 0, count: input.count + 16)
        var written: Int32 = 0
        guard EVP_EncryptUpdate(ctx, &out, &written, input, Int32(input.count)) == 1 else { throw openSSLError("SM4-CTR") }
        var final: Int32 = 0
        let ok = out.withUnsafeMutableBufferPointer { buffer in
            EVP_EncryptFinal_ex(ctx, buffer.baseAddress.map { $0 + Int(written) }, &final)
        }
        guard ok == 1 else { throw openSSLError("SM4-CTR final") }
        return Array(out.prefix(Int(written + final)))
    }
}

/// Fetched once: fetching an algorithm is slow and the result is shareable.
enum GMAlgorithms {
    nonisolated(unsafe) static let sm3: OpaquePointer = {
        guard let md = EVP_MD_fetch(nil, "SM3", nil) else { fatalError("\(openSSLError("OpenSSL has no SM3"))") }
        return md
    }()
    nonisolated(unsafe) static let sm4ctr: OpaquePointer = {
        guard let cipher = EVP_CIPHER_fetch(nil, "SM4-CTR", nil) else { fatalError("\(openSSLError("OpenSSL has no SM4-CTR"))") }
        return cipher
    }()
    /// GB/T 32918 default distinguishing ID; OpenSSL 3.0 does not apply it by itself.
    static let defaultID: [UInt8] = Array("1234567812345678".utf8)
}

/// SM2 with SM3 and the default ID, through OpenSSL. JWS signatures are 64 raw bytes r‖s.
public struct SM2Scheme: SignatureScheme {
    public init() {}
    public var algorithm: SignatureAlgorithm { .sm2 }
    public func generate() throws -> any SignatureSigner { try SM2Signer(key: OpenSSLKey.generate("SM2")) }
}

public struct SM2Verifier: SignatureVerifier {
    let key: OpenSSLKey
    public let rawPublicKey: [UInt8]

    init(key: OpenSSLKey) throws {
        self.key = key
        self.rawPublicKey = try key.encodedPublicPoint()
    }

    public var algorithm: SignatureAlgorithm { .sm2 }

    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard signature.count == 64, let der = try? SM2Signature.der(fromRaw: signature) else { return false }
        return isValidDERSignature(der, for: message)
    }

    /// Verifies a DER-encoded SM2 signature (the form `openssl pkeyutl` writes).
    public func isValidDERSignature(_ der: [UInt8], for message: [UInt8]) -> Bool {
        guard let md = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(md) }
        var pctx: OpaquePointer?
        guard EVP_DigestVerifyInit_ex(md, &pctx, "SM3", nil, nil, key.pkey, nil) == 1,
              EVP_PKEY_CTX_set1_id(pctx, GMAlgorithms.defaultID, Int32(GMAlgorithms.defaultID.count)) == 1
        else {
            ERR_clear_error()
            return false
        }
        let result = EVP_DigestVerify(md, der, der.count, message, message.count)
        ERR_clear_error()
        return result == 1
    }

    public func publicKeyPEM() throws -> String { try key.publicKeyPEM() }
}

public struct SM2Signer: SignatureSigner {
    let key: OpenSSLKey
    let sm2Verifier: SM2Verifier

    init(key: OpenSSLKey) throws {
        self.key = key
        self.sm2Verifier = try SM2Verifier(key: key)
    }

    public var verifier: any SignatureVerifier { sm2Verifier }

    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        try SM2Signature.raw(fromDER: signDER(message))
    }

    /// A DER-encoded SM2 signature, as `openssl pkeyutl -sign` writes it.
    public func signDER(_ message: [UInt8]) throws -> [UInt8] {
        guard let md = EVP_MD_CTX_new() else { throw openSSLError("digest context") }
        defer { EVP_MD_CTX_free(md) }
        var pctx: OpaquePointer?
        guard EVP_DigestSignInit_ex(md, &pctx, "SM3", nil, nil, key.pkey, nil) == 1 else { throw openSSLError("SM2 sign init") }
        guard EVP_PKEY_CTX_set1_id(pctx, GMAlgorithms.defaultID, Int32(GMAlgorithms.defaultID.count)) == 1 else {
            throw openSSLError("SM2 distinguishing ID")
        }
        var length = 0
        guard EVP_DigestSign(md, nil, &length, message, message.count) == 1 else { throw openSSLError("SM2 sign length") }
        var out = [UInt8](repeating: 0, count: length)
        guard EVP_DigestSign(md, &out, &length, message, message.count) == 1 else { throw openSSLError("SM2 sign") }
        return Array(out.prefix(length))
    }

    public func privateKeyPEM() throws -> String { try key.privateKeyPEM() }
}

/// Conversion between the DER `SEQUENCE { r, s }` form OpenSSL uses and the 64-byte r‖s
/// form JWS uses, through OpenSSL's own ECDSA_SIG codec.
public enum SM2Signature {
    public static func raw(fromDER der: [UInt8]) throws -> [UInt8] {
        let sig: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var pointer: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_ECDSA_SIG(nil, &pointer, buffer.count)
        }
        guard let sig else { throw openSSLError("not a DER signature") }
        defer { ECDSA_SIG_free(sig) }
        var r: OpaquePointer?
        var s: OpaquePointer?
        ECDSA_SIG_get0(sig, &r, &s)
        var out = [UInt8](repeating: 0, count: 64)
        let ok = out.withUnsafeMutableBufferPointer { buffer -> Bool in
            guard let base = buffer.baseAddress else { return false }
            return BN_bn2binpad(r, base, 32) == 32 && BN_bn2binpad(s, base + 32, 32) == 32
        }
        guard ok else { throw openSSLError("signature component too long") }
        return out
    }

    public static func der(fromRaw raw: [UInt8]) throws -> [UInt8] {
        guard raw.count == 64 else { throw CryptoError("an SM2 signature is 64 bytes") }
        guard let sig = ECDSA_SIG_new() else { throw openSSLError("ECDSA_SIG") }
        defer { ECDSA_SIG_free(sig) }
        let r = raw.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, 32, nil) }
        let s = raw.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress.map { $0 + 32 }, 32, nil) }
        guard let r, let s, ECDSA_SIG_set0(sig, r, s) == 1 else {
            BN_free(r)
            BN_free(s)
            throw openSSLError("ECDSA_SIG_set0")
        }
        let length = i2d_ECDSA_SIG(sig, nil)
        guard length > 0 else { throw openSSLError("i2d_ECDSA_SIG") }
        var out = [UInt8](repeating: 0, count: Int(length))
        let written = out.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var pointer: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            return i2d_ECDSA_SIG(sig, &pointer)
        }
        guard written == length else { throw openSSLError("i2d_ECDSA_SIG") }
        return out
    }
}

/// HKDF (RFC 5869) over the profile's HMAC: HMAC-SHA256 under `intl`, HMAC-SM3 under `gm`
/// (swift-crypto has no SM3, so this is written over `CryptoSuite.mac`). Checked against the
/// RFC's SHA-256 test vectors and swift-crypto's own HKDF.
enum KeyDerivation {
    /// `length` bytes of output keying material from `secret`, `salt` and `info`.
    static func hkdf(_ suite: CryptoSuite, secret: [UInt8], salt: [UInt8], info: [UInt8], length: Int) -> [UInt8] {
        let hashLength = suite.mac(key: [], data: []).count
        // RFC 5869 §2.2: a missing salt is a string of HashLen zeros.
        let prk = suite.mac(key: salt.isEmpty ? [UInt8](repeating: 0, count: hashLength) : salt, data: secret)
        var output: [UInt8] = []
        var block: [UInt8] = []
        var counter: UInt8 = 1
        while output.count < length {  // §2.3: T(i) = HMAC(PRK, T(i-1) ‖ info ‖ i)
            block = suite.mac(key: prk, data: block + info + [counter])
            output += block
            counter &+= 1
        }
        return Array(output.prefix(length))
    }
}

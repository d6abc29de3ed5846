/// Seals personal data at rest with the profile's AEAD, and makes keyed digests for lookups
/// of sealed values, with two keys derived from the data key in `DIR/keys` (HKDF, one label
/// each): one key never serves both purposes. The associated data binds each box to its row
/// and column, so boxes cannot be moved between rows unnoticed.
public struct DataVault: Sendable {
    let suite: CryptoSuite
    let key: [UInt8]
    let lookup: [UInt8]
    private let lookupMAC: any KeyedMAC

    /// The derivation labels (RFC 5869 `info`).
    static let encryptionLabel = "mashangban/v1/data-at-rest"
    static let lookupLabel = "mashangban/v1/lookup-hmac"

    /// The vault of a data key: an encryption key and a lookup key derived from it.
    init(suite: CryptoSuite, dataKey: [UInt8]) {
        self.init(suite: suite,
                  key: KeyDerivation.hkdf(suite, secret: dataKey, salt: [], info: Array(Self.encryptionLabel.utf8), length: 32),
                  lookup: KeyDerivation.hkdf(suite, secret: dataKey, salt: [], info: Array(Self.lookupLabel.utf8), length: 32))
    }

    /// The vault as it was before `KeySeparation`: the data key itself for both purposes
    /// (read once, to move what it sealed under the derived keys).
    static func undivided(suite: CryptoSuite, dataKey: [UInt8]) -> DataVault { DataVault(suite: suite, key: dataKey, lookup: dataKey) }

    private init(suite: CryptoSuite, key: [UInt8], lookup: [UInt8]) {
        (self.suite, self.key, self.lookup, lookupMAC) = (suite, key, lookup, suite.authentication.keyed(lookup))
    }

    public func seal(_ value: String, context: String) throws -> [UInt8] {
        try sealBytes(Array(value.utf8), context: context)
    }

    func sealBytes(_ value: [UInt8], context: String) throws -> [UInt8] {
        try suite.encryption.seal(value, key: key, associatedData: Array(context.utf8))
    }

    public func open(_ box: [UInt8], context: String) throws -> String {
        String(decoding: try openBytes(box, context: context), as: UTF8.self)
    }

    public func openBytes(_ box: [UInt8], context: String) throws -> [UInt8] {
        try suite.encryption.open(box, key: key, associatedData: Array(context.utf8))
    }

    /// A keyed digest for equality lookups of a sealed value (never reversible without the key).
    public func lookupKey(_ value: String, domain: String) -> [UInt8] {
        lookupMAC.mac(Array("\(domain)\u{0}\(value)".utf8))
    }
}

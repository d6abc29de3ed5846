/// Seals personal data at rest with the profile's AEAD under the data key in `DIR/keys`.
/// The associated data binds each box to its row and column, so boxes cannot be moved
/// between rows unnoticed.
public struct DataVault: Sendable {
    let suite: CryptoSuite
    let key: [UInt8]

    public init(suite: CryptoSuite, key: [UInt8]) {
        self.suite = suite
        self.key = key
    }

    public func seal(_ value: String, context: String) throws -> [UInt8] {
        try suite.encryption.seal(Array(value.utf8), key: key, associatedData: Array(context.utf8))
    }

    public func open(_ box: [UInt8], context: String) throws -> String {
        String(decoding: try openBytes(box, context: context), as: UTF8.self)
    }

    public func openBytes(_ box: [UInt8], context: String) throws -> [UInt8] {
        try suite.encryption.open(box, key: key, associatedData: Array(context.utf8))
    }

    /// A keyed digest for equality lookups of a sealed value (never reversible without the key).
    public func lookupKey(_ value: String, domain: String) -> [UInt8] {
        suite.mac(key: key, data: Array("\(domain)\u{0}\(value)".utf8))
    }
}

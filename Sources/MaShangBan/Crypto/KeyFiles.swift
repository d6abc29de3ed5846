import Foundation

/// The symmetric keys in `DIR/keys/`, read only here: what leaves this file is a
/// `DataVault` or a `HolderReference`, never key bytes.
enum KeyFiles {
    /// The vault of the data key (`keys/data.key`, made on first start), and the vault as it
    /// was before keys were derived from it, for the one-time move (`KeySeparation`).
    static func vaults(_ directory: DataDirectory, suite: CryptoSuite, random: any RandomSource) throws
        -> (current: DataVault, undivided: DataVault)
    {
        let dataKey = try symmetricKey(directory.dataKey, in: directory, random: random)
        return (DataVault(suite: suite, dataKey: dataKey), .undivided(suite: suite, dataKey: dataKey))
    }

    /// Keyed references under `keys/holder-ref.key` (made on first start).
    static func holderReference(_ directory: DataDirectory, suite: CryptoSuite, random: any RandomSource) throws -> HolderReference {
        HolderReference(suite: suite, key: try symmetricKey(directory.holderKey, in: directory, random: random))
    }

    /// Reads a 32-byte symmetric key, creating it from `random` the first time.
    static func symmetricKey(_ file: URL, in directory: DataDirectory, random: any RandomSource) throws -> [UInt8] {
        if FileManager.default.fileExists(atPath: file.path) {
            let key = try directory.readSecret(file)
            guard key.count == 32 else { throw StartupError("\(file.path) is not a 32-byte key") }
            return key
        }
        let key = random.bytes(32)
        try directory.writeSecret(key, to: file)
        return key
    }
}

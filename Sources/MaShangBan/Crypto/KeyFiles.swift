import Foundation

/// The key files in `DIR/keys/`, read and written only here: what leaves this file is a
/// `DataVault`, a `HolderReference` or a signer, never key bytes.
enum KeyFiles {
    /// The signing key `kid` (`keys/signing-<kid>.pem`), checked to be of the profile and to be that key.
    static func signer(kid: String, in directory: DataDirectory, suite: CryptoSuite) throws -> any SignatureSigner {
        let file = directory.signingKey(kid: kid)
        let signer = try SignatureKeys.loadSigner(privateKeyPEM: String(decoding: try directory.readSecret(file), as: UTF8.self))
        guard signer.verifier.algorithm == suite.signatures.algorithm else {
            throw StartupError("\(file.path) is not a \(suite.signatures.algorithm.rawValue) key")
        }
        guard suite.keyID(of: signer.verifier) == kid else { throw StartupError("\(file.path) does not hold key \(kid)") }
        return signer
    }

    /// A new signing key of the profile, written to its file (0600).
    static func newSigningKey(in directory: DataDirectory, suite: CryptoSuite) throws -> (kid: String, signer: any SignatureSigner) {
        let signer = try suite.signatures.generate()
        let kid = suite.keyID(of: signer.verifier)
        try directory.writeSecret(Array(try signer.privateKeyPEM().utf8), to: directory.signingKey(kid: kid))
        return (kid, signer)
    }

    /// The public halves of every signing key file, by kid.
    static func signingVerifiers(_ directory: DataDirectory, suite: CryptoSuite) throws -> [String: any SignatureVerifier] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.keys.path)) ?? []
        var out: [String: any SignatureVerifier] = [:]
        for file in files where file.hasPrefix("signing-") && file.hasSuffix(".pem") {
            let pem = String(decoding: try directory.readSecret(directory.keys.appendingPathComponent(file)), as: UTF8.self)
            let verifier = try SignatureKeys.loadSigner(privateKeyPEM: pem).verifier
            out[suite.keyID(of: verifier)] = verifier
        }
        return out
    }

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

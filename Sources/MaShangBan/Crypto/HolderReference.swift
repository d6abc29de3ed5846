/// Keyed references to holder ids (HMAC under `keys/holder-ref.key`): the audit log and
/// lookups use these, never the citizen ID or credit code itself.
public struct HolderReference: Sendable {
    private let mac: any KeyedMAC

    init(suite: CryptoSuite, key: [UInt8]) {
        mac = suite.authentication.keyed(key)
    }

    /// 128 bits of the HMAC, base64url: stable for one deployment, meaningless without the key.
    public func ref(_ holderID: String) -> String {
        Encoding.base64URL(mac.mac(Array(holderID.utf8)).prefix(16))
    }
}

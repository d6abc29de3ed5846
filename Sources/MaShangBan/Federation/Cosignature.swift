import Foundation

/// A C2SP `tlog-cosignature` (v1) of a checkpoint note: a peer region, as a witness, states
/// that this checkpoint is the largest consistent tree head it has seen of the log. A note
/// signature line `— <name> base64(key ID ‖ timestamp ‖ signature)`, the name
/// `mashangban/<witness region>/witness`, the timestamp a big-endian u64 of POSIX seconds, the
/// signature over
///
///     cosignature/v1
///     time <timestamp>
///     <the checkpoint's note text: origin, size, root>
///
/// Ed25519 keys sign as the specification's type 0x04 (key ID = SHA-256(name ‖ 0x0A ‖ 0x04 ‖
/// the 32-byte key)[:4]); SM2 keys (国密), which it assigns no type, as 0xFF followed by
/// `sm2-sm3/mashangban-cosignature` (key ID over that and the 65-byte point), SM2 with SM3
/// and the default ID, r ‖ s.
public enum Cosignature {
    /// A witness region's cosigner name.
    public static func name(region: String) -> String { "mashangban/\(region)/witness" }

    static func signatureType(_ algorithm: SignatureAlgorithm) -> [UInt8] {
        switch algorithm {
        case .ed25519: return [0x04]
        case .sm2: return [0xFF] + Array("sm2-sm3/mashangban-cosignature".utf8)
        }
    }

    public static func keyID(name: String, _ verifier: any SignatureVerifier) -> [UInt8] {
        CheckpointNote.keyID(name: name, type: signatureType(verifier.algorithm), verifier)
    }

    /// What is signed: the header and time lines, then the note's text.
    static func message(noteText: String, timestamp: UInt64) -> [UInt8] {
        Array("cosignature/v1\ntime \(timestamp)\n\(noteText)".utf8)
    }

    /// The signature line (without its newline) cosigning the note whose text is `noteText`.
    public static func line(noteText: String, timestamp: UInt64, name: String, by signer: any SignatureSigner) throws -> String {
        let stamp = (0..<8).reversed().map { UInt8(truncatingIfNeeded: timestamp >> (UInt64($0) * 8)) }
        let signature = try signer.sign(message(noteText: noteText, timestamp: timestamp))
        return "— \(name) " + Data(keyID(name: name, signer.verifier) + stamp + signature).base64EncodedString()
    }

    /// The timestamp of a cosignature `line` of the note text by `name` with `verifier`'s key,
    /// if it is one and verifies; nil otherwise.
    public static func verify(line: String, noteText: String, name: String, _ verifier: any SignatureVerifier) -> UInt64? {
        let parts = line.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "—", parts[1] == name, let bytes = Data(base64Encoded: String(parts[2])).map([UInt8].init),
              bytes.count > 12, Array(bytes.prefix(4)) == keyID(name: name, verifier)
        else { return nil }
        let timestamp = bytes[4..<12].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard timestamp < 1 << 63, verifier.isValidSignature(Array(bytes.dropFirst(12)), for: message(noteText: noteText, timestamp: timestamp))
        else { return nil }
        return timestamp
    }
}

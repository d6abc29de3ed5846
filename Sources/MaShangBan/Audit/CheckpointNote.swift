import Foundation

/// A checkpoint as C2SP's `tlog-checkpoint` writes it: a `signed-note` whose text is the
/// log's origin, its size and its root (base64), signed by the region's key:
///
///     mashangban/430400
///     1200
///     3q2+7w…=
///
///     — mashangban/430400 AbCd…
///
/// The signature line's key name is the origin; its base64 is the 4-byte key ID followed by
/// the signature over the note text. Ed25519 keys sign as the note specification's type
/// 0x01 (key ID = SHA-256(name ‖ 0x0A ‖ 0x01 ‖ the 32-byte key)[:4]); SM2 keys (国密) have no
/// assigned type and use 0xFF followed by `sm2-sm3/mashangban` (key ID over that and the
/// 65-byte uncompressed point), the signature being SM2 with SM3 and the default ID, r ‖ s.
public enum CheckpointNote {
    /// The origin line of a region's log.
    public static func origin(region: String) -> String { "mashangban/\(region)" }

    /// The note text: origin, size and root, each line ending in a newline.
    public static func text(origin: String, size: Int64, root: [UInt8]) -> String {
        "\(origin)\n\(size)\n\(Data(root).base64EncodedString())\n"
    }

    /// The signature type bytes of a key's algorithm.
    static func signatureType(_ algorithm: SignatureAlgorithm) -> [UInt8] {
        switch algorithm {
        case .ed25519: return [0x01]
        case .sm2: return [0xFF] + Array("sm2-sm3/mashangban".utf8)
        }
    }

    /// The note key ID of `verifier` under key name `name`.
    public static func keyID(name: String, _ verifier: any SignatureVerifier) -> [UInt8] {
        keyID(name: name, type: signatureType(verifier.algorithm), verifier)
    }

    /// `signed-note`'s key ID: SHA-256(name ‖ 0x0A ‖ signature type ‖ public key)[:4].
    static func keyID(name: String, type: [UInt8], _ verifier: any SignatureVerifier) -> [UInt8] {
        Array(SHA256Hashing().hash(Array(name.utf8) + [0x0A] + type + verifier.rawPublicKey).prefix(4))
    }

    /// The signed note of a checkpoint.
    public static func signed(origin: String, size: Int64, root: [UInt8], by signer: any SignatureSigner) throws -> String {
        let text = text(origin: origin, size: size, root: root)
        let signature = keyID(name: origin, signer.verifier) + (try signer.sign(Array(text.utf8)))
        return text + "\n— \(origin) \(Data(signature).base64EncodedString())\n"
    }

    /// A parsed checkpoint note: its text's lines, and its signature lines.
    public struct Parsed: Sendable, Equatable {
        public let text: String
        public let origin: String
        public let size: Int64
        public let root: [UInt8]
        public let signatures: [Signature]

        public struct Signature: Sendable, Equatable {
            public let name: String
            public let keyID: [UInt8]
            public let bytes: [UInt8]
        }

        /// Whether a signature by `name` with `verifier`'s key ID is there and verifies.
        public func isSigned(by name: String, _ verifier: any SignatureVerifier) -> Bool {
            let id = CheckpointNote.keyID(name: name, verifier)
            return signatures.contains { $0.name == name && $0.keyID == id && verifier.isValidSignature($0.bytes, for: Array(text.utf8)) }
        }
    }

    /// Parses a note: text up to the last blank line, then signature lines; nil for anything
    /// that is not a checkpoint note.
    public static func parse(_ note: String) -> Parsed? {
        guard note.hasSuffix("\n"), let split = note.range(of: "\n\n", options: .backwards) else { return nil }
        let text = String(note[..<split.lowerBound]) + "\n"
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        guard lines.count >= 3, !lines[0].isEmpty, let size = Int64(lines[1]), size >= 0, String(size) == lines[1],
              let root = Data(base64Encoded: String(lines[2])) else { return nil }
        var signatures: [Parsed.Signature] = []
        for line in note[split.upperBound...].split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0] == "—", !parts[1].isEmpty, let bytes = Data(base64Encoded: String(parts[2])), bytes.count > 4 else {
                return nil
            }
            signatures.append(.init(name: String(parts[1]), keyID: Array(bytes.prefix(4)), bytes: Array(bytes.dropFirst(4))))
        }
        guard !signatures.isEmpty else { return nil }
        return Parsed(text: text, origin: String(lines[0]), size: size, root: [UInt8](root), signatures: signatures)
    }
}

import Foundation

/// `mashangban audit prove` and `audit verify-proof`: the proof endpoints' answers made from
/// a data directory (a stopped server's, or a copy), and such answers checked against
/// checkpoints saved from `GET /v1/audit/checkpoints/latest`, with only the keys of a saved
/// `GET /v1/keys` answer believed: the checkpoint's signed note must verify under its key,
/// and the proof must lead from the note's root.
public enum OfflineProofs {
    /// Record `seq`'s inclusion proof, or the consistency proof from `from`, at `size` (default:
    /// the latest checkpoint's), as the endpoints give them.
    public static func prove(dataDirectory: DataDirectory, seq: Int64?, from: Int64?, size: Int64?) throws -> JSONValue {
        guard dataDirectory.exists else { throw StartupError("no database in \(dataDirectory.url.path)") }
        let queue = try ReadOnlyDatabase(at: dataDirectory.database)
        return try queue.read { db in
            guard let name = try MetaStore.value(of: "crypto_profile", db), let profile = CryptoProfile(rawValue: name) else {
                throw StartupError("the database records no crypto profile")
            }
            let suite = CryptoSuite(profile: profile)
            switch (seq, from) {
            case (let seq?, nil): return try AuditProofs.inclusion(seq: seq, size: size, suite: suite, db).json
            case (nil, let from?): return try AuditProofs.consistency(from: from, to: size, suite: suite, db).json
            default: throw StartupError("give either --seq (an inclusion proof) or --from (a consistency proof)")
            }
        }
    }

    /// Checks a saved proof: an inclusion proof against `checkpoint` (and, given
    /// `recordHash`, that its leaf is that record's), or a consistency proof from `first` to
    /// `checkpoint`. Returns what was shown; throws `StartupError` for what does not hold.
    public static func verify(proof: [UInt8], checkpoint: [UInt8], first: [UInt8]?, trustedKeys: [UInt8], recordHash: String?) throws -> String {
        guard let answer = JSONValue.parse(proof), let path = answer["path"]?.arrayValue?.compactMap({ $0.stringValue.flatMap(Encoding.fromHex) }),
              path.count == answer["path"]?.arrayValue?.count
        else { throw StartupError("the proof is not a saved answer of GET /v1/audit/proofs/inclusion or /consistency") }
        let (suite, keys) = try trusted(trustedKeys)
        let hasher = MerkleHasher(suite.hashing)
        let (to, toRoot) = try trustedRoot(checkpoint, keys: keys, what: "the checkpoint")
        if let seq = answer["seq"]?.intValue, let size = answer["size"]?.intValue, let leaf = answer["leaf"]?.stringValue.flatMap(Encoding.fromHex) {
            guard size == to.size else { throw StartupError("the proof is at size \(size), the checkpoint at \(to.size)") }
            if let recordHash {
                guard let bytes = Encoding.fromHex(recordHash), hasher.leaf(bytes) == leaf else {
                    throw StartupError("the proof's leaf is not the leaf of record hash \(recordHash.prefix(16))…")
                }
            }
            guard Merkle.verifyInclusion(hasher, index: seq - 1, size: size, leaf: leaf, path: path, root: toRoot) else {
                throw StartupError("the proof does not lead from record \(seq)'s leaf to the checkpoint's root")
            }
            return "record \(seq) is in the log of \(size) records whose checkpoint \(to.origin) signed"
        }
        guard let from = answer["from"]?.intValue, let size = answer["to"]?.intValue else {
            throw StartupError("the proof is not a saved answer of GET /v1/audit/proofs/inclusion or /consistency")
        }
        guard let first else { throw StartupError("a consistency proof is checked from a first checkpoint (--first-checkpoint)") }
        let (earlier, fromRoot) = try trustedRoot(first, keys: keys, what: "the first checkpoint")
        guard from == earlier.size, size == to.size else {
            throw StartupError("the proof is from \(from) to \(size), the checkpoints at \(earlier.size) and \(to.size)")
        }
        guard earlier.origin == to.origin else { throw StartupError("the checkpoints are of two logs (\(earlier.origin), \(to.origin))") }
        guard Merkle.verifyConsistency(hasher, from: from, to: size, first: fromRoot, second: toRoot, path: path) else {
            throw StartupError("the log at \(size) does not extend the log at \(from): the checkpoints fork")
        }
        return "the log of \(size) records extends the log of \(from) records (\(to.origin))"
    }

    /// The keys of a saved `GET /v1/keys` answer, and the profile they are of.
    private static func trusted(_ document: [UInt8]) throws -> (CryptoSuite, [String: TrustedKey]) {
        var failure: (any Error)?
        for profile in CryptoProfile.allCases {
            let suite = CryptoSuite(profile: profile)
            do { return (suite, try TrustedKey.parse(keysDocument: document, suite: suite)) } catch { failure = failure ?? error }
        }
        throw failure ?? StartupError("the trusted keys file holds no key")
    }

    /// A saved checkpoint's note, checked: signed by the checkpoint's key under the note's
    /// origin, of the checkpoint's size and root.
    private static func trustedRoot(_ bytes: [UInt8], keys: [String: TrustedKey], what: String) throws
        -> (note: CheckpointNote.Parsed, root: [UInt8])
    {
        guard let checkpoint = try? JSONDecoder().decode(AuditCheckpoint.self, from: Data(bytes)) else {
            throw StartupError("\(what) is not a saved answer of GET /v1/audit/checkpoints/latest")
        }
        guard let note = checkpoint.note.flatMap(CheckpointNote.parse), checkpoint.root == Encoding.hex(note.root), note.size == checkpoint.size else {
            throw StartupError("\(what) has no signed note of its size and root (written before the log was a Merkle tree?)")
        }
        guard let key = keys[checkpoint.kid], note.isSigned(by: note.origin, key.verifier) else {
            throw StartupError("\(what)'s note is not signed by a trusted key")
        }
        return (note, note.root)
    }
}

import Foundation
import GRDB

/// The result of checking the audit chain: intact with its size and head, or the first bad
/// sequence number and why.
public struct AuditVerification: Sendable, Equatable {
    public var ok: Bool
    public var size: Int64?
    public var head: String?
    public var firstBadSeq: Int64?
    public var reason: String?
    /// What `truncated` or `forked` (a saved checkpoint the log contradicts) means here.
    public var detail: String?

    static func intact(size: Int64, head: String) -> AuditVerification { .init(ok: true, size: size, head: head) }
    static func broken(_ seq: Int64, _ reason: String, detail: String? = nil) -> AuditVerification {
        .init(ok: false, firstBadSeq: seq, reason: reason, detail: detail)
    }
}

/// A key trusted to have signed checkpoints — until it was retired, if it was.
public struct TrustedKey: Sendable {
    public let verifier: any SignatureVerifier
    public let retiredAt: Date?

    public init(verifier: any SignatureVerifier, retiredAt: Date?) {
        (self.verifier, self.retiredAt) = (verifier, retiredAt)
    }

    /// The keys saved from `GET /v1/keys` (`{"keys":[{"kid","public_key_pem","retired_at"},…]}`);
    /// each `kid` must be its key's. Throws `StartupError` for anything else.
    public static func parse(keysDocument bytes: [UInt8], suite: CryptoSuite) throws -> [String: TrustedKey] {
        struct Document: Decodable { let keys: [PublishedKey] }
        guard let document = try? JSONDecoder().decode(Document.self, from: Data(bytes)), !document.keys.isEmpty else {
            throw StartupError("the trusted keys file is not a saved GET /v1/keys answer with at least one key")
        }
        var keys: [String: TrustedKey] = [:]
        for key in document.keys {
            guard let verifier = try? SignatureKeys.loadVerifier(publicKeyPEM: key.publicKeyPEM), suite.keyID(of: verifier) == key.kid else {
                throw StartupError("the trusted keys file's key \(key.kid.prefix(32)) is not a \(suite.signatures.algorithm.rawValue) key with that kid")
            }
            let retired = try key.retiredAt.map { stamp in
                guard let date = stamp.date else { throw StartupError("key \(key.kid)'s retired_at is not a time") }
                return date
            }
            keys[key.kid] = TrustedKey(verifier: verifier, retiredAt: retired)
        }
        return keys
    }
}

/// Checks the audit chain: every record links to the one before and hashes to its stored
/// hash, no sequence number is missing, and every checkpoint — in the database and in
/// `audit-checkpoints.jsonl`, which lives outside it — is signed by a known key (no later
/// than that key was retired) and matches the chain at its size. Together these detect
/// edited, deleted, reordered and truncated records, and a chain recomputed by someone
/// without the signing key. Whoever holds the data directory holds its keys too, so the
/// checks that count are against keys and a checkpoint kept elsewhere (`--trusted-keys`,
/// `--checkpoint`): a log cut back together with its checkpoints is `truncated`, one
/// rewritten from some point on is `forked`.
public enum AuditVerifier {
    /// Verifies a data directory (a stopped server's, or a copy). With `trustedKeys` (a saved
    /// `GET /v1/keys` answer) only those keys are believed; without it the public halves of
    /// the key files in `DIR/keys`, retired as the database says. With `anchor` (a checkpoint
    /// saved from `GET /v1/audit/checkpoints/latest`), the log must extend it.
    public static func verify(dataDirectory: DataDirectory, trustedKeys: URL? = nil, anchor: URL? = nil) throws -> AuditVerification {
        guard dataDirectory.exists else { throw StartupError("no database in \(dataDirectory.url.path)") }
        let queue = try ReadOnlyDatabase(at: dataDirectory.database)
        let profileName = try queue.read { db in try MetaStore.value(of: "crypto_profile", db) }
        guard let profileName, let profile = CryptoProfile(rawValue: profileName) else {
            return .broken(1, "the database records no crypto profile")
        }
        let suite = CryptoSuite(profile: profile)
        let saved = try anchor.map { url -> AuditCheckpoint in
            guard let data = FileManager.default.contents(atPath: url.path),
                  let checkpoint = try? JSONDecoder().decode(AuditCheckpoint.self, from: data) else {
                throw StartupError("\(url.path) is not a checkpoint saved from GET /v1/audit/checkpoints/latest")
            }
            return checkpoint
        }
        let keys: [String: TrustedKey]
        if let trustedKeys {
            guard let data = FileManager.default.contents(atPath: trustedKeys.path) else { throw StartupError("cannot read \(trustedKeys.path)") }
            keys = try TrustedKey.parse(keysDocument: [UInt8](data), suite: suite)
        } else {
            let verifiers = try Keyring.loadVerifiers(directory: dataDirectory, suite: suite)
            keys = try queue.read { db in try retirements(db, verifiers) }
        }
        return try queue.read { db in try verify(db, suite: suite, keys: keys, checkpointFile: dataDirectory.checkpointFile, anchor: saved) }
    }

    /// A checkpoint of the data directory cosigned by a trusted witness (`audit verify
    /// --witness`): each of `witnesses` is a witness region's `GET /v1/keys` answer saved off
    /// this machine; the newest checkpoint carrying a cosignature that one of those keys made
    /// under the region's witness name, or nil.
    public static func witnessed(dataDirectory: DataDirectory, witnesses: [[UInt8]]) throws -> (size: Int64, region: String, timestamp: Int64)? {
        struct Keys: Decodable {
            let region: String
            let keys: [PublishedKey]
        }
        var trusted: [String: [any SignatureVerifier]] = [:]
        for document in witnesses {
            guard let parsed = try? JSONDecoder().decode(Keys.self, from: Data(document)) else {
                throw StartupError("a --witness file is not a GET /v1/keys answer")
            }
            trusted[parsed.region, default: []] += parsed.keys.compactMap { try? SignatureKeys.loadVerifier(publicKeyPEM: $0.publicKeyPEM) }
        }
        let queue = try ReadOnlyDatabase(at: dataDirectory.database)
        return try queue.read { db in
            for (size, region, line, note) in try WitnessStore.cosignedNotes(db) {
                guard let text = note.flatMap(CheckpointNote.parse)?.text else { continue }
                for key in trusted[region] ?? [] {
                    if let timestamp = Cosignature.verify(line: line, noteText: text, name: Cosignature.name(region: region), key) {
                        return (size, region, Int64(timestamp))
                    }
                }
            }
            return nil
        }
    }

    /// Verifies with the keys the database lists, retired as it says: a running server's
    /// own check (`GET /v1/audit/verify`), which follows `keys rotate` while it runs.
    public static func verify(reader: any DatabaseReader, suite: CryptoSuite, checkpointFile: URL) throws -> AuditVerification {
        try reader.read { db in
            try verify(db, suite: suite, keys: try publishedKeys(db), checkpointFile: checkpointFile, anchor: nil)
        }
    }

    /// `verifiers` with the retirement times the database records.
    static func retirements(_ db: Database, _ verifiers: [String: any SignatureVerifier]) throws -> [String: TrustedKey] {
        let dates = try SigningKeyStore.retirements(db)
        return Dictionary(uniqueKeysWithValues: verifiers.map { ($0.key, TrustedKey(verifier: $0.value, retiredAt: dates[$0.key])) })
    }

    /// Verifies inside a read the caller holds (a consistent snapshot).
    public static func verify(_ db: Database, suite: CryptoSuite, keys: [String: TrustedKey], checkpointFile: URL,
                              anchor: AuditCheckpoint?) throws -> AuditVerification {
        let found = try Self.checkpoints(db, file: checkpointFile)
        if let broken = found.broken { return broken }
        let checkpoints = found.checkpoints + (anchor.map { [$0] } ?? [])
        var walk = ChainWalk(suite: suite, sizes: Set(checkpoints.map(\.size)))
        try AuditStore.walk(db) { walk.take($0) }
        return judge(walk, checkpoints: checkpoints, keys: keys, anchor: anchor)
    }

    /// A running server's check (`GET /v1/audit/verify`), with the keys the database lists:
    /// the chain is read in pages of `pageSize` records, each page a short read of its own,
    /// so no request handler holds a long read and writers go on. Records are append-only:
    /// the checkpoints are read first, then the head, then the chain up to that head.
    static func verifyInPages(_ reader: Transactions, suite: CryptoSuite, checkpointFile: URL,
                                     pageSize: Int = 5_000) async throws -> AuditVerification {
        let (keys, found, size) = try await reader.read { db in
            (try publishedKeys(db), try Self.checkpoints(db, file: checkpointFile),
             try AuditStore.size(db))
        }
        if let broken = found.broken { return broken }
        let checkpoints = found.checkpoints
        var walk = ChainWalk(suite: suite, sizes: Set(checkpoints.map(\.size)))
        var after: Int64 = 0
        while after < size {
            let from = after
            let page = try await reader.read { db in
                try AuditStore.records(after: from, limit: pageSize, db).filter { $0.seq <= size }
            }
            guard let last = page.last else { break }
            var going = true
            for record in page where going { going = walk.take(record) }
            if !going { break }
            after = last.seq
        }
        return judge(walk, checkpoints: checkpoints, keys: keys, anchor: nil)
    }

    /// The keys the database lists, retired as it says.
    static func publishedKeys(_ db: Database) throws -> [String: TrustedKey] {
        let listed = try SigningKeyStore.published(db).compactMap { key -> (String, any SignatureVerifier)? in
            (try? SignatureKeys.loadVerifier(publicKeyPEM: key.publicKeyPEM)).map { (key.kid, $0) }
        }
        return try retirements(db, Dictionary(listed) { first, _ in first })
    }

    /// The checkpoints in `audit-checkpoints.jsonl` and in the database, or the verdict on a
    /// file line that is not one.
    static func checkpoints(_ db: Database, file: URL) throws -> (checkpoints: [AuditCheckpoint], broken: AuditVerification?) {
        switch readCheckpointFile(file) {
        case .success(let fromFile):
            return (fromFile + (try AuditStore.checkpoints(db)), nil)
        case .failure(let error):
            return ([], .broken(1, "audit-checkpoints.jsonl line \(error.line) is not a checkpoint"))
        }
    }

    /// The chain read record by record: each links to the one before, hashes to its stored
    /// hash, and no sequence number is missing. Stops at the first that does not.
    struct ChainWalk {
        let suite: CryptoSuite
        /// The sizes some checkpoint covers, whose heads `headAt` and Merkle roots `rootAt` keep.
        let sizes: Set<Int64>
        var expected: Int64 = 1
        var prev = AuditLog.zeroHash
        var headAt: [Int64: String] = [:]
        var rootAt: [Int64: String] = [:]
        /// The log's Merkle tree, grown record by record.
        var tree: MerkleFrontier
        var problem: (Int64, String)?

        init(suite: CryptoSuite, sizes: Set<Int64>) {
            (self.suite, self.sizes, tree) = (suite, sizes, MerkleFrontier(MerkleHasher(suite.hashing)))
        }

        var size: Int64 { expected - 1 }

        /// Takes the next record; false once the chain is broken (`problem` says where).
        mutating func take(_ record: AuditRecord) -> Bool {
            if record.seq != expected {
                problem = (expected, "record \(expected) is missing")
            } else if record.prev != prev {
                problem = (record.seq, "prev does not match the hash of record \(record.seq - 1)")
            } else if record.computedHash(suite: suite) != record.hash {
                problem = (record.seq, "hash does not match the record's content")
            }
            guard problem == nil, let hash = Encoding.fromHex(record.hash) else {
                problem = problem ?? (record.seq, "hash is not hex")
                return false
            }
            tree.append(leaf: tree.hasher.leaf(hash))
            if sizes.contains(record.seq) { (headAt[record.seq], rootAt[record.seq]) = (record.hash, Encoding.hex(tree.root)) }
            prev = record.hash
            expected += 1
            return true
        }
    }

    /// The verdict on a walked chain and its checkpoints (from both places, and `anchor`, the
    /// one saved elsewhere): each signed by a known key no later than it was retired, and
    /// matching the chain at its size.
    static func judge(_ walk: ChainWalk, checkpoints all: [AuditCheckpoint], keys: [String: TrustedKey],
                      anchor: AuditCheckpoint?) -> AuditVerification {
        let size = walk.size
        var problems: [(Int64, String)] = walk.problem.map { [$0] } ?? []
        for checkpoint in all {
            guard let key = keys[checkpoint.kid] else {
                problems.append((checkpoint.size, "checkpoint at size \(checkpoint.size) is signed by unknown key \(checkpoint.kid.prefix(32))"))
                continue
            }
            guard let signature = Encoding.fromBase64URL(checkpoint.signature),
                  key.verifier.isValidSignature(signature, for: checkpoint.signedBytes)
            else {
                problems.append((checkpoint.size, "checkpoint signature at size \(checkpoint.size) does not verify"))
                continue
            }
            if let retired = key.retiredAt, let signedAt = Timestamp.date(checkpoint.ts), signedAt > retired {
                problems.append((checkpoint.size,
                                 "checkpoint at size \(checkpoint.size) was signed by key \(checkpoint.kid) after it was retired"))
                continue
            }
            if let anchor, checkpoint == anchor {
                if anchor.size > size {
                    return .broken(size + 1, "truncated",
                                   detail: "the saved checkpoint covers \(anchor.size) records but the log has \(size)")
                }
                if let head = walk.headAt[anchor.size], head != anchor.head {
                    return .broken(anchor.size, "forked", detail: "the log's record \(anchor.size) is not the one the saved checkpoint signed")
                }
                if let root = anchor.root, root != walk.rootAt[anchor.size] {
                    return .broken(anchor.size, "forked", detail: "the log's Merkle root at \(anchor.size) is not the saved checkpoint's")
                }
                continue
            }
            if checkpoint.size > size {
                problems.append((size + 1, "log truncated: a checkpoint covers \(checkpoint.size) records but the log has \(size)"))
            } else if let head = walk.headAt[checkpoint.size], head != checkpoint.head {
                problems.append((checkpoint.size, "checkpoint head at size \(checkpoint.size) does not match the chain"))
            } else if let root = checkpoint.root, root != walk.rootAt[checkpoint.size] {
                problems.append((checkpoint.size, "checkpoint root at size \(checkpoint.size) is not the log's Merkle root"))
            } else if let note = checkpoint.note, !Self.noteHolds(note, checkpoint, key.verifier) {
                problems.append((checkpoint.size, "checkpoint note at size \(checkpoint.size) does not verify"))
            }
        }
        if let first = problems.min(by: { $0.0 < $1.0 }) { return .broken(first.0, first.1) }
        return .intact(size: size, head: size == 0 ? AuditLog.zeroHash : walk.prev)
    }

    /// Whether a checkpoint's signed note states its size and root and is signed by its key.
    static func noteHolds(_ note: String, _ checkpoint: AuditCheckpoint, _ verifier: any SignatureVerifier) -> Bool {
        guard let parsed = CheckpointNote.parse(note) else { return false }
        return parsed.size == checkpoint.size && Encoding.hex(parsed.root) == checkpoint.root
            && parsed.isSigned(by: parsed.origin, verifier)
    }

    private static func readCheckpointFile(_ file: URL) -> Result<[AuditCheckpoint], LineError> {
        guard let data = FileManager.default.contents(atPath: file.path) else { return .success([]) }
        var out: [AuditCheckpoint] = []
        for (index, line) in String(decoding: data, as: UTF8.self).split(separator: "\n").enumerated() {
            guard let value = JSONValue.parse(Array(line.utf8)),
                  let size = value["size"]?.intValue, let head = value["head"]?.stringValue, let ts = value["ts"]?.stringValue,
                  let kid = value["kid"]?.stringValue, let signature = value["signature"]?.stringValue
            else { return .failure(LineError(line: index + 1)) }
            out.append(AuditCheckpoint(size: size, head: head, ts: ts, kid: kid, signature: signature,
                                       root: value["root"]?.stringValue, note: value["note"]?.stringValue))
        }
        return .success(out)
    }

    struct LineError: Error { let line: Int }
}

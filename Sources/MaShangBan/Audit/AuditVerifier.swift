import Foundation
import GRDB

/// The result of checking the audit chain: intact with its size and head, or the first bad
/// sequence number and why.
public struct AuditVerification: Sendable, Equatable, Codable {
    public var ok: Bool
    public var size: Int64?
    public var head: String?
    public var firstBadSeq: Int64?
    public var reason: String?

    static func intact(size: Int64, head: String) -> AuditVerification { .init(ok: true, size: size, head: head) }
    static func broken(_ seq: Int64, _ reason: String) -> AuditVerification { .init(ok: false, firstBadSeq: seq, reason: reason) }

    enum CodingKeys: String, CodingKey {
        case ok, size, head, reason
        case firstBadSeq = "first_bad_seq"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(ok, forKey: .ok)
        if ok {
            try c.encode(size, forKey: .size)
            try c.encode(head, forKey: .head)
        } else {
            try c.encode(firstBadSeq, forKey: .firstBadSeq)
            try c.encode(reason, forKey: .reason)
        }
    }
}

/// Checks the audit chain: every record links to the one before and hashes to its stored
/// hash, no sequence number is missing, and every checkpoint — in the database and in
/// `audit-checkpoints.jsonl`, which lives outside it — is signed by a known key and matches
/// the chain at its size. Together these detect edited, deleted, reordered and truncated
/// records, and a chain recomputed by someone without the signing key.
public enum AuditVerifier {
    /// Verifies a data directory (a stopped server's, or a copy) with the public halves of
    /// the key files in `DIR/keys`, not the keys listed in the database.
    public static func verify(dataDirectory: DataDirectory) throws -> AuditVerification {
        guard dataDirectory.exists else { throw StartupError("no database in \(dataDirectory.url.path)") }
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: dataDirectory.database.path, configuration: configuration)
        let profileName = try queue.read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'crypto_profile'") }
        guard let profileName, let profile = CryptoProfile(rawValue: profileName) else {
            return .broken(1, "the database records no crypto profile")
        }
        let suite = CryptoSuite(profile: profile)
        let verifiers = try Keyring.loadVerifiers(directory: dataDirectory, suite: suite)
        return try verify(reader: queue, suite: suite, verifiers: verifiers, checkpointFile: dataDirectory.checkpointFile)
    }

    public static func verify(reader: any DatabaseReader, suite: CryptoSuite, verifiers: [String: any SignatureVerifier],
                              checkpointFile: URL) throws -> AuditVerification {
        try reader.read { db in try verify(db, suite: suite, verifiers: verifiers, checkpointFile: checkpointFile) }
    }

    /// Verifies inside a read the caller holds (a consistent snapshot).
    public static func verify(_ db: Database, suite: CryptoSuite, verifiers: [String: any SignatureVerifier],
                              checkpointFile: URL) throws -> AuditVerification {
        let fileCheckpoints: [AuditCheckpoint]
        switch readCheckpointFile(checkpointFile) {
        case .success(let checkpoints): fileCheckpoints = checkpoints
        case .failure(let error): return .broken(1, "audit-checkpoints.jsonl line \(error.line) is not a checkpoint")
        }

        let stored = try Row.fetchAll(db, sql: "SELECT * FROM audit_checkpoints").map(AuditCheckpoint.init(row:))
        let all = fileCheckpoints + stored
        let sizes = Set(all.map(\.size))
        var headAt: [Int64: String] = [:]
        var problems: [(Int64, String)] = []

        // 1. The chain itself.
        var expected: Int64 = 1
        var prev = AuditLog.zeroHash
        let cursor = try Row.fetchCursor(db, sql: "SELECT * FROM audit_records ORDER BY seq")
        while let row = try cursor.next() {
            let record = try AuditRecord(row: row)
            if record.seq != expected {
                problems.append((expected, "record \(expected) is missing"))
                break
            }
            if record.prev != prev {
                problems.append((record.seq, "prev does not match the hash of record \(record.seq - 1)"))
                break
            }
            if record.computedHash(suite: suite) != record.hash {
                problems.append((record.seq, "hash does not match the record's content"))
                break
            }
            if sizes.contains(record.seq) { headAt[record.seq] = record.hash }
            prev = record.hash
            expected += 1
        }
        let size = expected - 1

        // 2. Checkpoints, from both places.
        for checkpoint in all {
            guard let key = verifiers[checkpoint.kid] else {
                problems.append((checkpoint.size, "checkpoint at size \(checkpoint.size) is signed by unknown key \(checkpoint.kid)"))
                continue
            }
            guard let signature = Encoding.fromBase64URL(checkpoint.signature),
                  key.isValidSignature(signature, for: checkpoint.signedBytes)
            else {
                problems.append((checkpoint.size, "checkpoint signature at size \(checkpoint.size) does not verify"))
                continue
            }
            if checkpoint.size > size {
                problems.append((size + 1, "log truncated: a checkpoint covers \(checkpoint.size) records but the log has \(size)"))
            } else if let head = headAt[checkpoint.size], head != checkpoint.head {
                problems.append((checkpoint.size, "checkpoint head at size \(checkpoint.size) does not match the chain"))
            }
        }

        if let first = problems.min(by: { $0.0 < $1.0 }) { return .broken(first.0, first.1) }
        return .intact(size: size, head: size == 0 ? AuditLog.zeroHash : prev)
    }

    private static func readCheckpointFile(_ file: URL) -> Result<[AuditCheckpoint], LineError> {
        guard let data = FileManager.default.contents(atPath: file.path) else { return .success([]) }
        var out: [AuditCheckpoint] = []
        for (index, line) in String(decoding: data, as: UTF8.self).split(separator: "\n").enumerated() {
            guard let value = JSONValue.parse(Array(line.utf8)),
                  let size = value["size"]?.intValue, let head = value["head"]?.stringValue, let ts = value["ts"]?.stringValue,
                  let kid = value["kid"]?.stringValue, let signature = value["signature"]?.stringValue
            else { return .failure(LineError(line: index + 1)) }
            out.append(AuditCheckpoint(size: size, head: head, ts: ts, kid: kid, signature: signature))
        }
        return .success(out)
    }

    struct LineError: Error { let line: Int }
}

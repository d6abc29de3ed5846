import Foundation
import GRDB

/// The audit log as an RFC 9162 Merkle tree (docs/API.md "Audit proofs"): leaf i is
/// H(0x00 ‖ the hash of record i + 1), so a checkpoint's root commits to every record and
/// its order, and proofs show a record in it, or one checkpoint extending another, with
/// about log₂(size) hashes.
///
/// Subtrees of 256 leaves and more are stored (`audit_tree`, by level and index) in the
/// transaction of the record that completes them (`AuditChain` grows the tree as it
/// appends; `extend` fills in what a log written before that lacks), each computed once
/// from its two halves; anything smaller is hashed from the records when asked for. A root or a proof then reads
/// O(log size) stored nodes and at most a few hundred record hashes, at any size.
struct AuditTree {
    /// The smallest stored subtrees: 2⁸ leaves.
    static let storedLevel = 8
    let hasher: MerkleHasher
    let db: Database

    init(suite: CryptoSuite, _ db: Database) { (hasher, self.db) = (MerkleHasher(suite.hashing), db) }

    /// The leaf hashes of records lo + 1 through hi.
    func leaves(_ lo: Int64, _ hi: Int64) throws -> [[UInt8]] {
        let hashes = try AuditStore.hashes(after: lo, through: hi, db)
        guard hashes.count == hi - lo else { throw InternalError("the audit log lacks records \(lo + 1)…\(hi)") }
        return try hashes.map { text in
            guard let bytes = Encoding.fromHex(text) else { throw InternalError("an audit record's hash is not hex") }
            return hasher.leaf(bytes)
        }
    }

    /// MTH of leaves lo..<hi: a stored node when the run is one, else from the records
    /// (short runs) or its two halves.
    func subtree(_ lo: Int64, _ hi: Int64) throws -> [UInt8] {
        let count = hi - lo
        if count <= Int64(1) << Self.storedLevel { return hasher.root(try leaves(lo, hi)) }
        if count & (count - 1) == 0, lo % count == 0 {
            let level = count.trailingZeroBitCount
            if let stored = try AuditStore.treeNode(level: level, index: lo >> level, db) { return stored }
        }
        let k = Merkle.split(count)
        return hasher.node(try subtree(lo, lo + k), try subtree(lo + k, hi))
    }

    /// Stores every subtree of 256 leaves or more that the first `size` records complete and
    /// the table lacks (a checkpoint's transaction: about one node per 256 records).
    func extend(to size: Int64) throws {
        let unit = Int64(1) << Self.storedLevel
        var next = try AuditStore.treeNodeCount(level: Self.storedLevel, db)
        while (next + 1) * unit <= size {
            var (level, index, hash) = (Self.storedLevel, next, hasher.root(try leaves(next * unit, (next + 1) * unit)))
            try AuditStore.insertTreeNode(level: level, index: index, hash: hash, db)
            // A right half completes its parent, which may complete its own.
            while index & 1 == 1 {
                guard let left = try AuditStore.treeNode(level: level, index: index - 1, db) else {
                    throw InternalError("the audit tree lacks node \(level)/\(index - 1)")
                }
                (level, index, hash) = (level + 1, index >> 1, hasher.node(left, hash))
                try AuditStore.insertTreeNode(level: level, index: index, hash: hash, db)
            }
            next += 1
        }
    }

    /// Migration 0021: the stored subtrees of the records already in the log (none in a new
    /// database, which has no crypto profile yet).
    static func plantAfresh(_ db: Database) throws {
        guard let name = try MetaStore.value(of: "crypto_profile", db), let profile = CryptoProfile(rawValue: name) else { return }
        try AuditTree(suite: CryptoSuite(profile: profile), db).extend(to: try AuditStore.size(db))
    }

    /// Record `seq`'s leaf hash and its audit path in the tree of the first `size` records.
    func inclusionProof(seq: Int64, size: Int64) throws -> (leaf: [UInt8], path: [[UInt8]]) {
        let leaf = try leaves(seq - 1, seq)[0]
        return (leaf, try Merkle.inclusionProof(index: seq - 1, size: size, subtree: subtree))
    }

    /// The proof that the tree of the first `from` records is the start of that of `to`.
    func consistencyProof(from: Int64, to: Int64) throws -> [[UInt8]] {
        try Merkle.consistencyProof(from: from, to: to, subtree: subtree)
    }
}

/// The answers of the proof endpoints and `mashangban audit prove`, in RFC 9162's order.
public enum AuditProofs {
    public struct Inclusion: Sendable, Equatable {
        public let seq: Int64
        public let size: Int64
        /// The Merkle leaf hash, H(0x00 ‖ record hash).
        public let leaf: [UInt8]
        public let path: [[UInt8]]

        public var json: JSONValue {
            .object(["seq": .int(seq), "size": .int(size), "leaf": .string(Encoding.hex(leaf)), "path": .array(path.map { .string(Encoding.hex($0)) })])
        }
    }

    public struct Consistency: Sendable, Equatable {
        public let from: Int64
        public let to: Int64
        public let path: [[UInt8]]

        public var json: JSONValue {
            .object(["from": .int(from), "to": .int(to), "path": .array(path.map { .string(Encoding.hex($0)) })])
        }
    }

    /// Record `seq`'s proof at `size` (default: the latest checkpoint's), `1 ≤ seq ≤ size ≤`
    /// the log's size (else `bad_request`; no checkpoint yet and no size, `not_found`).
    static func inclusion(seq: Int64, size: Int64?, suite: CryptoSuite, _ db: Database) throws -> Inclusion {
        let size = try Self.size(size, db)
        guard 1 <= seq, seq <= size else { throw MSBError.badRequest("seq is not a record of the tree of size \(size)") }
        let (leaf, path) = try AuditTree(suite: suite, db).inclusionProof(seq: seq, size: size)
        return Inclusion(seq: seq, size: size, leaf: leaf, path: path)
    }

    /// The proof from `from` to `to` (default: the latest checkpoint's size), `1 ≤ from ≤ to ≤`
    /// the log's size.
    static func consistency(from: Int64, to: Int64?, suite: CryptoSuite, _ db: Database) throws -> Consistency {
        let to = try size(to, db)
        guard 1 <= from, from <= to else { throw MSBError.badRequest("from is not a size from 1 to \(to)") }
        return Consistency(from: from, to: to, path: try AuditTree(suite: suite, db).consistencyProof(from: from, to: to))
    }

    /// The tree size a proof is asked at: the one given (at most the log's size), or the
    /// latest checkpoint's.
    static func size(_ asked: Int64?, _ db: Database) throws -> Int64 {
        let logSize = try AuditStore.size(db)
        guard let asked else {
            let covered = try AuditStore.coveredSize(db)
            guard covered > 0 else { throw MSBError.notFound("no checkpoint has been written yet") }
            return covered
        }
        guard asked <= logSize else { throw MSBError.badRequest("the log has \(logSize) records") }
        return asked
    }
}

import Foundation
import GRDB
import Testing
@testable import MaShangBan
import MaShangBanTestSupport

/// 跨域通办's checkable audit log: the log's Merkle tree, its stored subtrees, checkpoints'
/// roots and signed notes, and proofs, against the same tree computed from every record.
@Suite("Audit log as a Merkle tree")
struct AuditTreeTests {
    /// A backend whose log holds `count` records (the admin bootstrap is the first), with the
    /// audit log's checkpoints every 100 and one at the head.
    func backend(_ dir: TemporaryDirectory, count: Int64, crypto: CryptoProfile = .intl) throws -> Backend {
        let backend = try openBackend(dir, crypto: crypto)
        let audit = backend.audit
        _ = try backend.transactions.pool.write { db in
            for i in 2...count {
                try audit.append(db, actor: .system, action: "client.created", object: "client:cli_\(i)", detail: ["n": .int(i)])
            }
            try audit.checkpointIfNeeded(db)
        }
        return backend
    }

    /// Every record's leaf, computed here from the records themselves.
    func leaves(_ backend: Backend) throws -> [[UInt8]] {
        let hasher = MerkleHasher(backend.suite.hashing)
        return try backend.transactions.pool.read { db in try AuditStore.records(after: 0, limit: 1_000_000, db) }
            .map { hasher.leaf(Encoding.fromHex($0.hash) ?? []) }
    }

    @Test(arguments: CryptoProfile.allCases)
    func checkpointsCarryTheRootAndASignedNote(crypto: CryptoProfile) throws {
        let dir = try TemporaryDirectory()
        let backend = try backend(dir, count: 1_300, crypto: crypto)
        let hasher = MerkleHasher(backend.suite.hashing)
        let leaves = try leaves(backend)
        let checkpoints = try backend.transactions.pool.read { db in try AuditStore.checkpoints(db) }
        #expect(checkpoints.map(\.size) == Array(stride(from: 100, through: 1_300, by: 100)))
        for checkpoint in checkpoints {
            let root = hasher.root(leaves.prefix(Int(checkpoint.size)))
            #expect(checkpoint.root == Encoding.hex(root), "size \(checkpoint.size)")
            let note = try #require(checkpoint.note.flatMap(CheckpointNote.parse))
            #expect(note.origin == "mashangban/430400" && note.size == checkpoint.size && note.root == root)
            #expect(note.text == "mashangban/430400\n\(checkpoint.size)\n\(Data(root).base64EncodedString())\n")
            #expect(note.isSigned(by: note.origin, backend.keyring.active.signer.verifier))
            #expect(!note.isSigned(by: "mashangban/430100", backend.keyring.active.signer.verifier), "another name is another key")
        }
        // 1,300 records complete five subtrees of 256, two of 512 and one of 1,024.
        let stored = try backend.transactions.pool.read { db in
            try Int.fetchAll(db, sql: "SELECT level FROM audit_tree ORDER BY level, idx")
        }
        #expect(stored == [8, 8, 8, 8, 8, 9, 9, 10])
        #expect(try AuditVerifier.verify(reader: backend.transactions.pool, suite: backend.suite,
                                         checkpointFile: dir.dataDirectory.checkpointFile).ok)
    }

    /// Proofs from the stored tree are the proofs of the tree computed from every record,
    /// and verify against the checkpoints' roots.
    @Test func proofsAreTheWholeTreesAndVerify() async throws {
        let dir = try TemporaryDirectory()
        let backend = try backend(dir, count: 1_100)
        let hasher = MerkleHasher(backend.suite.hashing)
        let leaves = try leaves(backend)
        let subtree = { (lo: Int64, hi: Int64) in hasher.root(leaves[Int(lo)..<Int(hi)]) }
        for (seq, size) in [(1, 1), (1, 1_100), (300, 1_024), (1_024, 1_025), (1_100, 1_100), (777, 900), (257, 513)] as [(Int64, Int64)] {
            let proof = try await backend.services.auditTrail.inclusionProof(seq: seq, size: size)
            #expect(proof.leaf == leaves[Int(seq) - 1])
            #expect(proof.path == Merkle.inclusionProof(index: seq - 1, size: size, subtree: subtree), "\(seq) in \(size)")
            #expect(Merkle.verifyInclusion(hasher, index: seq - 1, size: size, leaf: proof.leaf, path: proof.path,
                                           root: hasher.root(leaves.prefix(Int(size)))))
        }
        for (from, to) in [(1, 1_100), (100, 1_000), (256, 1_024), (1_000, 1_100), (1_100, 1_100), (513, 1_023)] as [(Int64, Int64)] {
            let proof = try await backend.services.auditTrail.consistencyProof(from: from, to: to)
            #expect(proof.path == Merkle.consistencyProof(from: from, to: to, subtree: subtree), "\(from) → \(to)")
            #expect(Merkle.verifyConsistency(hasher, from: from, to: to, first: hasher.root(leaves.prefix(Int(from))),
                                             second: hasher.root(leaves.prefix(Int(to))), path: proof.path))
        }
        let latest = try await backend.services.auditTrail.inclusionProof(seq: 5, size: nil)
        #expect(latest.size == 1_100, "the latest checkpoint's size by default")
        await #expect(throws: MSBError.self) { try await backend.services.auditTrail.inclusionProof(seq: 1_101, size: nil) }
        await #expect(throws: MSBError.self) { try await backend.services.auditTrail.inclusionProof(seq: 1, size: 1_101) }
        await #expect(throws: MSBError.self) { try await backend.services.auditTrail.consistencyProof(from: 900, to: 800) }
    }

    /// A log that had records before migration 0021 gets its stored subtrees then; the
    /// tree they give is the one computed from the records.
    @Test func theMigrationStoresTheSubtreesOfAnExistingLog() throws {
        let dir = try TemporaryDirectory()
        let backend = try backend(dir, count: 600)
        let leaves = try leaves(backend)
        let root = try backend.transactions.pool.write { db -> [UInt8] in
            try db.execute(sql: "DELETE FROM audit_tree")
            try AuditTree.plantAfresh(db)
            let tree = AuditTree(suite: backend.suite, db)
            return try MerkleFrontier(tree.hasher, size: 600, subtree: tree.subtree).root
        }
        #expect(root == MerkleHasher(backend.suite.hashing).root(leaves))
        #expect(try backend.transactions.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_tree") } == 3)
    }

    /// The chain grows the tree in memory from one transaction to the next; a savepoint
    /// rolled back (its records, nodes and checkpoints gone) leaves the next chain to
    /// rebuild it from what is stored, and every checkpoint and stored node stays the tree
    /// computed from the records.
    @Test func theChainsTreeSurvivesARolledBackSavepoint() throws {
        let dir = try TemporaryDirectory()
        let backend = try openBackend(dir)
        let audit = backend.audit
        let append = { (db: Database, from: Int, count: Int) in
            var chain = try audit.chain(db)
            for i in from..<(from + count) { try chain.append(actor: .system, action: "client.created", object: "client:cli_\(i)") }
        }
        try backend.transactions.pool.write { db in try append(db, 0, 150) }
        try backend.transactions.pool.write { db in
            try db.inSavepoint {
                try append(db, 1_000, 160)  // past the checkpoint at 200 and the first subtree of 256
                #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_tree") == 1)
                return .rollback
            }
            try append(db, 150, 200)
        }
        try backend.transactions.pool.write { db in try append(db, 350, 300) }
        let leaves = try leaves(backend)
        #expect(leaves.count == 651, "the bootstrap record and 650")
        let hasher = MerkleHasher(backend.suite.hashing)
        let checkpoints = try backend.transactions.pool.read { db in try AuditStore.checkpoints(db) }
        #expect(checkpoints.map(\.size) == Array(stride(from: 100, through: 600, by: 100)))
        for checkpoint in checkpoints {
            #expect(checkpoint.root == Encoding.hex(hasher.root(leaves.prefix(Int(checkpoint.size)))), "size \(checkpoint.size)")
        }
        let nodes = try backend.transactions.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT level, idx, hash FROM audit_tree ORDER BY level, idx").map { row -> [UInt8] in
                let (level, index): (Int, Int) = (row["level"], row["idx"])
                #expect(Data(hasher.root(leaves[(index << level)..<((index + 1) << level)])) == row["hash"] as Data, "\(level)/\(index)")
                return [UInt8(level), UInt8(index)]
            }
        }
        #expect(nodes == [[8, 0], [8, 1], [9, 0]], "two subtrees of 256 and their parent, each once")
        #expect(try AuditVerifier.verify(reader: backend.transactions.pool, suite: backend.suite,
                                         checkpointFile: dir.dataDirectory.checkpointFile).ok)
    }

    /// A checkpoint whose root is not the log's, or whose note is not its key's, fails `audit verify`.
    @Test func aWrongRootOrNoteFailsTheCheck() throws {
        let dir = try TemporaryDirectory()
        let backend = try backend(dir, count: 250)
        let verify = { try AuditVerifier.verify(reader: backend.transactions.pool, suite: backend.suite, checkpointFile: URL(fileURLWithPath: "/nonexistent")) }
        #expect(try verify().ok)
        let root200 = try backend.transactions.pool.read { db in try String.fetchOne(db, sql: "SELECT root FROM audit_checkpoints WHERE size = 200") }
        try backend.transactions.pool.write { db in
            try db.execute(sql: "UPDATE audit_checkpoints SET root = ? WHERE size = 200", arguments: [String(repeating: "ab", count: 32)])
        }
        #expect(try verify().reason == "checkpoint root at size 200 is not the log's Merkle root")
        try backend.transactions.pool.write { db in
            try db.execute(sql: "UPDATE audit_checkpoints SET root = ? WHERE size = 200", arguments: [root200])
            try db.execute(sql: "UPDATE audit_checkpoints SET note = (SELECT note FROM audit_checkpoints WHERE size = 100) WHERE size = 250")
        }
        #expect(try verify().reason == "checkpoint note at size 250 does not verify")
        #expect(CheckpointNote.parse("mashangban/430400\n12\nnot base64!\n\n— mashangban/430400 AAAAAAA=\n") == nil)
        #expect(CheckpointNote.parse("mashangban/430400\n12\n\n") == nil, "no signature")
    }
}

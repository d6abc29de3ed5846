import Foundation
import Testing
@testable import MaShangBan

/// RFC 9162 Merkle trees and proofs, checked against transparency-dev/merkle's test vectors
/// (Tests/MaShangBanTests/Fixtures/merkle.json: its reference tree of eight leaves with the
/// root at every size, and its inclusion and consistency probes, good and bad).
@Suite("Merkle trees (RFC 9162)")
struct MerkleTests {
    let hasher = MerkleHasher(SHA256Hashing())

    struct Vectors {
        let leaves: [[UInt8]]
        let roots: [[UInt8]]
        let inclusion: [[String: Any]]
        let consistency: [[String: Any]]
    }

    func vectors() throws -> Vectors {
        let raw = try #require(Fixtures.rawJSON("merkle") as? [String: Any])
        let hex = { (key: String) throws -> [[UInt8]] in try #require(raw[key] as? [String]).map { try #require(Encoding.fromHex($0)) } }
        return Vectors(leaves: try hex("leaf_inputs_hex"), roots: try hex("roots_hex"),
                       inclusion: try #require(raw["inclusion"] as? [[String: Any]]),
                       consistency: try #require(raw["consistency"] as? [[String: Any]]))
    }

    /// A probe's number, or nil when it does not fit (one probe asks for leaf 2^64 - 1).
    func number(_ probe: [String: Any], _ key: String) -> Int64? {
        guard let value = probe[key] as? NSNumber, value.uint64Value <= UInt64(Int64.max) else { return nil }
        return Int64(value.uint64Value)
    }

    func bytes(_ probe: [String: Any], _ key: String) -> [UInt8] {
        (probe[key] as? String).flatMap { Data(base64Encoded: $0) }.map { [UInt8]($0) } ?? []
    }

    func path(_ probe: [String: Any]) -> [[UInt8]] {
        ((probe["proof"] as? [String]) ?? []).map { Data(base64Encoded: $0).map { [UInt8]($0) } ?? [] }
    }

    @Test func theReferenceTreeHasTheReferenceRoots() throws {
        let v = try vectors()
        let leaves = v.leaves.map(hasher.leaf)
        var frontier = MerkleFrontier(hasher)
        #expect(frontier.root == v.roots[0], "the empty tree")
        for size in 1...leaves.count {
            frontier.append(leaf: leaves[size - 1])
            #expect(hasher.root(leaves.prefix(size)) == v.roots[size], "size \(size)")
            #expect(frontier.root == v.roots[size], "size \(size), grown leaf by leaf")
        }
    }

    /// A frontier built from subtree hashes at any size is the one grown leaf by leaf, and
    /// every subtree an append reports complete is that run's MTH.
    @Test func aFrontierRebuiltOrGrownIsTheSameTree() throws {
        let leaves = (0..<300).map { hasher.leaf(Array("leaf \($0)".utf8)) }
        let subtree = { (lo: Int64, hi: Int64) in hasher.root(leaves[Int(lo)..<Int(hi)]) }
        var grown = MerkleFrontier(hasher)
        var completed = 0
        for size in 0...leaves.count {
            let rebuilt = MerkleFrontier(hasher, size: Int64(size), subtree: subtree)
            #expect(rebuilt.size == Int64(size) && rebuilt.root == grown.root, "size \(size)")
            #expect(grown.root == hasher.root(leaves.prefix(size)), "size \(size)")
            guard size < leaves.count else { break }
            grown.append(leaf: leaves[size]) { level, index, hash in
                completed += 1
                let lo = index << level
                #expect(lo + (Int64(1) << level) == Int64(size) + 1, "a subtree ends at the leaf that completes it")
                #expect(hash == subtree(lo, lo + (Int64(1) << level)), "level \(level) index \(index)")
            }
        }
        #expect(completed == 300 - 300.nonzeroBitCount, "every inner node of the perfect subtrees, once")
    }

    @Test func inclusionProbesVerifyExactlyWhenTheyShould() throws {
        let v = try vectors()
        #expect(v.inclusion.count > 90)
        for probe in v.inclusion {
            let wantError = try #require(probe["wantErr"] as? Bool)
            let verified = number(probe, "leafIdx").flatMap { index in
                number(probe, "treeSize").map { size in
                    Merkle.verifyInclusion(hasher, index: index, size: size, leaf: bytes(probe, "leafHash"), path: path(probe), root: bytes(probe, "root"))
                }
            } ?? false
            #expect(verified == !wantError, "\(probe["file"] ?? "")")
        }
    }

    @Test func consistencyProbesVerifyExactlyWhenTheyShould() throws {
        let v = try vectors()
        #expect(v.consistency.count > 90)
        for probe in v.consistency {
            let wantError = try #require(probe["wantErr"] as? Bool)
            let verified = Merkle.verifyConsistency(hasher, from: number(probe, "size1") ?? -1, to: number(probe, "size2") ?? -1,
                                                    first: bytes(probe, "root1"), second: bytes(probe, "root2"), path: path(probe))
            #expect(verified == !wantError, "\(probe["file"] ?? "")")
        }
    }

    /// The proofs made here for the reference tree are the probes' good ones, element for element.
    @Test func proofsAreTheReferenceOnes() throws {
        let v = try vectors()
        let leaves = v.leaves.map(hasher.leaf)
        let subtree = { (lo: Int64, hi: Int64) in hasher.root(leaves[Int(lo)..<Int(hi)]) }
        var compared = 0
        for probe in v.inclusion where probe["wantErr"] as? Bool == false && (probe["file"] as? String)?.contains("/happy-path") == true {
            let (index, size) = (try #require(number(probe, "leafIdx")), try #require(number(probe, "treeSize")))
            guard size <= leaves.count, bytes(probe, "leafHash") == leaves[Int(index)] else { continue }
            #expect(Merkle.inclusionProof(index: index, size: size, subtree: subtree) == path(probe), "\(probe["file"] ?? "")")
            compared += 1
        }
        for probe in v.consistency where probe["wantErr"] as? Bool == false && (probe["file"] as? String)?.contains("/happy-path") == true {
            let (from, to) = (try #require(number(probe, "size1")), try #require(number(probe, "size2")))
            guard to <= leaves.count, bytes(probe, "root2") == v.roots[Int(to)] else { continue }
            #expect(Merkle.consistencyProof(from: from, to: to, subtree: subtree) == path(probe), "\(probe["file"] ?? "")")
            compared += 1
        }
        #expect(compared >= 8, "the reference tree's probes were compared")
    }

    /// Every proof in trees of 1 to 40 leaves verifies, and no longer does with a path
    /// element changed, against the other root or for the neighbouring leaf.
    @Test func everyProofOfSmallTreesVerifies() {
        let leaves = (0..<40).map { hasher.leaf(Array("entry \($0)".utf8)) }
        let subtree = { (lo: Int64, hi: Int64) in hasher.root(leaves[Int(lo)..<Int(hi)]) }
        for size in 1...Int64(leaves.count) {
            let root = hasher.root(leaves.prefix(Int(size)))
            for index in 0..<size {
                let path = Merkle.inclusionProof(index: index, size: size, subtree: subtree)
                #expect(Merkle.verifyInclusion(hasher, index: index, size: size, leaf: leaves[Int(index)], path: path, root: root))
                if let first = path.first {
                    var bad = path
                    bad[0] = hasher.leaf(first)
                    #expect(!Merkle.verifyInclusion(hasher, index: index, size: size, leaf: leaves[Int(index)], path: bad, root: root))
                }
                if index + 1 < size {
                    #expect(!Merkle.verifyInclusion(hasher, index: index + 1, size: size, leaf: leaves[Int(index)], path: path, root: root))
                }
            }
            for from in 1...size {
                let first = hasher.root(leaves.prefix(Int(from)))
                let path = Merkle.consistencyProof(from: from, to: size, subtree: subtree)
                #expect(Merkle.verifyConsistency(hasher, from: from, to: size, first: first, second: root, path: path), "\(from) → \(size)")
                if from < size {
                    #expect(!Merkle.verifyConsistency(hasher, from: from, to: size, first: root, second: root, path: path), "a fork")
                }
            }
        }
    }
}

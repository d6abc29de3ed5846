/// Merkle tree hashing as RFC 9162 (and RFC 6962 before it) defines it, with the profile's
/// hash H (SHA-256, or SM3 under 国密): the tree of n leaves hashes to MTH, where a leaf is
/// H(0x00 ‖ entry), an inner node H(0x01 ‖ left ‖ right), and a tree of n > 1 leaves splits at
/// k, the largest power of two below n, into the first k and the rest. The empty tree hashes
/// to H of nothing.
///
/// Proofs (RFC 9162 §2.1.3 and §2.1.4) are made from a function that gives the hash of
/// any run of leaves [lo, hi) the recursion asks for, so that where the hashes come from (a
/// list in memory, stored subtrees) is the caller's; they are checked by the RFC's own
/// algorithms, which take only the sizes, the hashes and the path.
public struct MerkleHasher: Sendable {
    let hashing: any Hashing

    public init(_ hashing: any Hashing) { self.hashing = hashing }

    public func leaf(_ entry: [UInt8]) -> [UInt8] { hashing.hash([0] + entry) }
    public func node(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] { hashing.hash([1] + left + right) }
    public var emptyRoot: [UInt8] { hashing.hash([]) }
    /// The hash's length in bytes: every leaf, node and root has it.
    public var length: Int { emptyRoot.count }

    /// Whether every hash given has the hash's length (a proof's input is checked before use).
    func fit(_ hashes: [[UInt8]]) -> Bool {
        let length = self.length
        return hashes.allSatisfy { $0.count == length }
    }

    /// MTH of leaf hashes held in memory.
    public func root<C: Collection>(_ leaves: C) -> [UInt8] where C.Element == [UInt8], C.Index == Int {
        guard !leaves.isEmpty else { return emptyRoot }
        func mth(_ lo: Int, _ hi: Int) -> [UInt8] {
            if hi - lo == 1 { return leaves[lo] }
            let k = Int(Merkle.split(Int64(hi - lo)))
            return node(mth(lo, lo + k), mth(lo + k, hi))
        }
        return mth(leaves.startIndex, leaves.endIndex)
    }
}

/// RFC 9162's proofs over a tree of leaves numbered from 0.
public enum Merkle {
    /// The largest power of two smaller than `n` (n > 1): where MTH splits n leaves.
    static func split(_ n: Int64) -> Int64 { Int64(1) << (63 - (n - 1).leadingZeroBitCount) }

    /// The audit path of leaf `index` in the tree of the first `size` leaves (§2.1.3.1,
    /// PATH), nearest the leaf first. `subtree(lo, hi)` is MTH of leaves lo..<hi.
    public static func inclusionProof(index: Int64, size: Int64, subtree: (Int64, Int64) throws -> [UInt8]) rethrows -> [[UInt8]] {
        precondition(0 <= index && index < size, "a leaf inside the tree")
        var path: [[UInt8]] = []
        // Walk down from the root, noting the sibling at each level; the path lists them upwards.
        var (m, lo, hi) = (index, Int64(0), size)
        while hi - lo > 1 {
            let k = split(hi - lo)
            if m < k {
                path.append(try subtree(lo + k, hi))
                hi = lo + k
            } else {
                path.append(try subtree(lo, lo + k))
                (m, lo) = (m - k, lo + k)
            }
        }
        return path.reversed()
    }

    /// The consistency proof from the tree of the first `from` leaves to that of the first
    /// `to` (§2.1.4.1, PROOF = SUBPROOF(m, D[n], true)), nearest the leaves first; empty when
    /// the sizes are equal.
    public static func consistencyProof(from m: Int64, to n: Int64, subtree: (Int64, Int64) throws -> [UInt8]) rethrows -> [[UInt8]] {
        precondition(0 < m && m <= n, "a non-empty first tree inside the second")
        var path: [[UInt8]] = []
        var (m, lo, hi, whole) = (m, Int64(0), n, true)
        while m != hi - lo {
            let k = split(hi - lo)
            if m <= k {
                path.append(try subtree(lo + k, hi))
                hi = lo + k
            } else {
                path.append(try subtree(lo, lo + k))
                (m, lo, whole) = (m - k, lo + k, false)
            }
        }
        if !whole { path.append(try subtree(lo, hi)) }
        return path.reversed()
    }

    /// §2.1.3.2: whether `path` proves the leaf with hash `leaf` at `index` in the tree of
    /// `size` leaves whose root is `root`.
    public static func verifyInclusion(_ hasher: MerkleHasher, index: Int64, size: Int64, leaf: [UInt8], path: [[UInt8]],
                                       root: [UInt8]) -> Bool {
        guard 0 <= index, index < size, hasher.fit([leaf, root] + path) else { return false }
        var (fn, sn, r) = (index, size - 1, leaf)
        for p in path {
            guard sn != 0 else { return false }
            if fn & 1 == 1 || fn == sn {
                r = hasher.node(p, r)
                while fn & 1 == 0 && fn != 0 { (fn, sn) = (fn >> 1, sn >> 1) }
            } else {
                r = hasher.node(r, p)
            }
            (fn, sn) = (fn >> 1, sn >> 1)
        }
        return sn == 0 && r == root
    }

    /// §2.1.4.2: whether `path` proves that the tree of `from` leaves with root `first` is
    /// the start of the tree of `to` leaves with root `second`. Equal sizes need an empty
    /// path and equal roots; an empty first tree proves nothing and is refused.
    public static func verifyConsistency(_ hasher: MerkleHasher, from: Int64, to: Int64, first: [UInt8], second: [UInt8],
                                         path: [[UInt8]]) -> Bool {
        guard 0 < from, from <= to else { return false }
        if from == to { return path.isEmpty && first == second }
        guard !path.isEmpty, hasher.fit([first, second] + path) else { return false }
        var path = path
        if from & (from - 1) == 0 { path.insert(first, at: 0) }
        var (fn, sn) = (from - 1, to - 1)
        while fn & 1 == 1 { (fn, sn) = (fn >> 1, sn >> 1) }
        var (fr, sr) = (path[0], path[0])
        for c in path.dropFirst() {
            guard sn != 0 else { return false }
            if fn & 1 == 1 || fn == sn {
                (fr, sr) = (hasher.node(c, fr), hasher.node(c, sr))
                while fn & 1 == 0 && fn != 0 { (fn, sn) = (fn >> 1, sn >> 1) }
            } else {
                sr = hasher.node(sr, c)
            }
            (fn, sn) = (fn >> 1, sn >> 1)
        }
        return fr == first && sr == second && sn == 0
    }
}

/// The right edge of a growing tree (a compact range from leaf 0): the roots of its perfect
/// subtrees, largest first, enough to give MTH at the current size and take the next leaf.
/// `audit verify` grows one while it walks the chain, to check each checkpoint's root; the
/// audit chain keeps one at its head, so a checkpoint's root costs log₂(size) hashes.
public struct MerkleFrontier: Sendable {
    let hasher: MerkleHasher
    private var peaks: [(level: Int, hash: [UInt8])] = []
    public private(set) var size: Int64 = 0

    public init(_ hasher: MerkleHasher) { self.hasher = hasher }

    /// The frontier of the first `size` leaves, from `subtree(lo, hi)` (MTH of leaves
    /// lo..<hi, as for proofs): one perfect subtree per bit set in `size`.
    public init(_ hasher: MerkleHasher, size: Int64, subtree: (Int64, Int64) throws -> [UInt8]) rethrows {
        self.hasher = hasher
        precondition(size >= 0, "a tree's size")
        var lo: Int64 = 0
        for level in stride(from: 62, through: 0, by: -1) where size & (Int64(1) << level) != 0 {
            peaks.append((level, try subtree(lo, lo + (Int64(1) << level))))
            lo += Int64(1) << level
        }
        self.size = size
    }

    public mutating func append(leaf: [UInt8]) { append(leaf: leaf) { _, _, _ in } }

    /// Appends a leaf; `completed(level, index, hash)` is told every perfect subtree above
    /// the leaf that it completes (the 2^level leaves from index · 2^level), lowest first.
    public mutating func append(leaf: [UInt8], completed: (Int, Int64, [UInt8]) throws -> Void) rethrows {
        var (level, hash) = (0, leaf)
        while let last = peaks.last, last.level == level {
            peaks.removeLast()
            (level, hash) = (level + 1, hasher.node(last.hash, hash))
            try completed(level, size >> level, hash)
        }
        peaks.append((level, hash))
        size += 1
    }

    /// MTH of the leaves so far: the peaks folded from the right.
    public var root: [UInt8] {
        guard var hash = peaks.last?.hash else { return hasher.emptyRoot }
        for peak in peaks.dropLast().reversed() { hash = hasher.node(peak.hash, hash) }
        return hash
    }
}

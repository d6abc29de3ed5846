import Foundation
import GRDB
import Logging

/// Appends to the audit chain inside the caller's write transaction, so a state change and
/// its record commit together or not at all, and writes signed checkpoints.
public struct AuditLog: Sendable {
    /// A checkpoint is written after this many records (and by the timer when anything is new).
    public static let checkpointInterval: Int64 = 100
    static let zeroHash = String(repeating: "0", count: 64)

    let suite: CryptoSuite
    /// The log's name in its checkpoints' signed notes (`CheckpointNote.origin`).
    let origin: String
    let directory: DataDirectory
    let checkpointFile: URL
    let now: Now
    let logger: Logger
    private let exporter = CheckpointExporter()
    /// The key checkpoints are signed with: the active one, followed across `keys rotate`
    /// while the server runs (a retired key's later checkpoints would not verify).
    private let signing: Locked<SigningKey>
    /// The Merkle tree's frontier at the head the chain last appended (its seq and hash), so
    /// the next transaction's chain goes on from it without reading the tree back. A chain
    /// that finds another head (a savepoint rolled back, a record appended elsewhere)
    /// rebuilds it from the stored subtrees and the records after them.
    private let frontier = Locked<(seq: Int64, head: String, frontier: MerkleFrontier)?>(nil)
    /// The checkpoints of the group transaction under way (`signingAhead`), which its units' chains sign ahead.
    private let groupAhead = Locked<CheckpointsAhead?>(nil)

    public init(suite: CryptoSuite, keyring: Keyring, directory: DataDirectory, region: String, now: @escaping Now,
                logger: Logger = Logger(label: "msb.audit")) {
        self.suite = suite
        self.origin = CheckpointNote.origin(region: region)
        self.directory = directory
        self.checkpointFile = directory.checkpointFile
        self.signing = Locked(keyring.active)
        self.now = now
        self.logger = logger
    }

    /// The active key as the database names it, loaded from `DIR/keys` when it changed.
    private func activeKey(_ db: Database) throws -> SigningKey {
        let current = signing.withLock { $0 }
        guard let kid = try SigningKeyStore.activeKID(db), kid != current.kid else { return current }
        let key = SigningKey(kid: kid, signer: try Keyring.loadSigner(directory: directory, kid: kid, suite: suite))
        signing.withLock { $0 = key }
        return key
    }

    /// Appends one record. `detail` must hold no personal data: ids, codes, counts.
    @discardableResult
    public func append(_ db: Database, actor: AuditActor, action: String, object: String, detail: [String: JSONValue] = [:]) throws -> AuditRecord {
        var chain = try self.chain(db)
        return try chain.append(actor: actor, action: action, object: object, detail: detail)
    }

    /// The chain from its current head, for appending many records in one transaction
    /// without reading the head back for each. With `signingAhead`, its checkpoints are
    /// signed on other threads while it goes on, and stored by `AuditChain.settle`, which the
    /// caller must call before its transaction ends (a batch import: the signatures were a
    /// quarter of its writer's time under 国密).
    public func chain(_ db: Database, signingAhead: Bool = false) throws -> AuditChain {
        let ahead: CheckpointsAhead? = signingAhead ? CheckpointsAhead() : groupAhead.withLock { $0 }
        guard let head = try AuditStore.head(db) else { return try AuditChain(log: self, db: db, seq: 0, head: Self.zeroHash, ahead: ahead) }
        return try AuditChain(log: self, db: db, seq: head.seq, head: head.hash, ahead: ahead)
    }

    /// Writes a checkpoint at the head if the head has moved since the last one.
    /// Returns the new checkpoint, or nil when there was nothing new.
    @discardableResult
    public func checkpointIfNeeded(_ db: Database) throws -> AuditCheckpoint? {
        guard let head = try AuditStore.head(db), head.seq > (try AuditStore.coveredSize(db)) else { return nil }
        return try checkpoint(db, size: head.seq, head: head.hash, root: rememberedFrontier(seq: head.seq, head: head.hash)?.root)
    }

    /// The frontier remembered at this head, if the last append left the chain there.
    fileprivate func rememberedFrontier(seq: Int64, head: String) -> MerkleFrontier? {
        frontier.withLock { remembered in
            guard let remembered, remembered.seq == seq, remembered.head == head else { return nil }
            return remembered.frontier
        }
    }

    fileprivate func remember(_ tree: MerkleFrontier, seq: Int64, head: String) {
        frontier.withLock { $0 = (seq, head, tree) }
    }

    /// The frontier of the first `size` records, from the stored subtrees (brought up to
    /// `size` first) and the records after the last of them.
    fileprivate func rebuiltFrontier(_ db: Database, size: Int64) throws -> MerkleFrontier {
        let tree = AuditTree(suite: suite, db)
        try tree.extend(to: size)
        return try MerkleFrontier(tree.hasher, size: size, subtree: tree.subtree)
    }

    /// Signs and stores a checkpoint, with the Merkle tree's root at its size (the chain's
    /// `root`, or else the rebuilt frontier's) and that root's signed note. Once the
    /// transaction commits, every checkpoint the file lacks is appended to it from the
    /// database (one write and fsync per transaction), so a checkpoint rolled back with its
    /// savepoint never reaches the file.
    @discardableResult
    func checkpoint(_ db: Database, size: Int64, head: String, root known: [UInt8]? = nil) throws -> AuditCheckpoint {
        let checkpoint = try unsignedCheckpoint(db, size: size, head: head, root: known).signed()
        try store(checkpoint, db)
        return checkpoint
    }

    /// A checkpoint's members and the key to sign it with, read in the writer's transaction.
    fileprivate func unsignedCheckpoint(_ db: Database, size: Int64, head: String, root known: [UInt8]?) throws -> UnsignedCheckpoint {
        UnsignedCheckpoint(origin: origin, size: size, head: head, ts: Timestamp.string(now()), root: try known ?? rebuiltFrontier(db, size: size).root,
                           key: try activeKey(db))
    }

    fileprivate func store(_ checkpoint: AuditCheckpoint, _ db: Database) throws {
        try AuditStore.insert(checkpoint, db)
        exporter.schedule(db, file: checkpointFile, logger: logger)
    }

    /// A group transaction's units (`GroupCommit.wrapUnits`): the checkpoints their chains
    /// reach are signed on other threads while the units go on, and stored once they are done,
    /// before the commit. Under 国密 the two SM2 signatures of a checkpoint every 100 scans
    /// were an eighth of the writer's time.
    func signingAhead(_ db: Database, units: () throws -> Void) throws {
        let ahead = CheckpointsAhead()
        groupAhead.withLock { $0 = ahead }
        defer { groupAhead.withLock { $0 = nil } }
        try units()
        try settle(ahead, db)
    }

    /// Stores the checkpoints signed ahead that still describe the log, in order: each whose
    /// head is the record at its size (not that of a unit rolled back since, whose size a
    /// later unit may have reached again) and whose size has no checkpoint yet.
    fileprivate func settle(_ ahead: CheckpointsAhead, _ db: Database) throws {
        for checkpoint in try ahead.finished()
        where try AuditStore.hashes(after: checkpoint.size - 1, through: checkpoint.size, db) == [checkpoint.head]
            && AuditStore.checkpoint(size: checkpoint.size, db) == nil {
            try store(checkpoint, db)
        }
    }
}

/// A checkpoint before its two signatures (the JSON one and the signed note's), which need
/// no database.
struct UnsignedCheckpoint: Sendable {
    let origin: String
    let size: Int64
    let head: String
    let ts: String
    let root: [UInt8]
    let key: SigningKey

    func signed() throws -> AuditCheckpoint {
        var checkpoint = AuditCheckpoint(size: size, head: head, ts: ts, kid: key.kid, signature: "", root: Encoding.hex(root),
                                         note: try CheckpointNote.signed(origin: origin, size: size, root: root, by: key.signer))
        checkpoint.signature = Encoding.base64URL(try key.signer.sign(checkpoint.signedBytes))
        return checkpoint
    }
}

/// Checkpoints a chain signs ahead (`AuditLog.chain(_:signingAhead:)`), on another thread
/// while the chain goes on appending.
final class CheckpointsAhead: Sendable {
    private let group = DispatchGroup()
    private let signed = Locked<[(size: Int64, checkpoint: Result<AuditCheckpoint, any Error>)]>([])
    /// A serial queue of its own, not the global one: Swift's tasks run on that one's few
    /// threads (one per core), and one of them blocked on the writer (a blocking write at
    /// shutdown) while the writer waits for a signature queued behind it would never end. A
    /// serial queue gets a thread of its own when none is free (libdispatch's overcommit);
    /// one thread signs faster than the writer reaches checkpoints.
    private static let signing = DispatchQueue(label: "msb.checkpoint-signing")

    func start(_ unsigned: UnsignedCheckpoint) {
        Self.signing.async(group: group) { [signed] in
            let checkpoint = Result { try unsigned.signed() }
            signed.withLock { $0.append((unsigned.size, checkpoint)) }
        }
    }

    /// Every checkpoint started so far, smallest first, once all are signed (and none is
    /// returned twice); throws the first signing failure.
    func finished() throws -> [AuditCheckpoint] {
        group.wait()
        let taken = signed.withLock { signed in
            defer { signed.removeAll() }
            return signed
        }
        return try taken.sorted { $0.size < $1.size }.map { try $0.checkpoint.get() }
    }
}

/// The audit chain's head inside one write transaction. Appending through it reads the
/// head once, however many records the transaction adds. Use it only within the
/// transaction it was made in, and append only through it there.
///
/// It grows the Merkle tree with each record: the subtrees of 256 leaves and more are
/// stored as a record completes them (in the record's transaction), and a checkpoint's
/// root comes from the frontier, without reading records back.
public struct AuditChain {
    let log: AuditLog
    let db: Database
    /// The sequence number and hash of the last record (0 and 64 zeros for an empty log).
    private(set) var seq: Int64
    private(set) var head: String
    private var headBytes: [UInt8]
    /// The tree of the records up to `seq`: the log's remembered one, or built at the first append.
    private var frontier: MerkleFrontier?
    /// Checkpoints being signed elsewhere, for `settle` to store (nil: each is signed and stored at once).
    private let ahead: CheckpointsAhead?

    init(log: AuditLog, db: Database, seq: Int64, head: String, ahead: CheckpointsAhead? = nil) throws {
        guard let bytes = Encoding.fromHex(head) else { throw InternalError("audit chain head is not hex") }
        (self.log, self.db, self.seq, self.head, self.headBytes, self.ahead) = (log, db, seq, head, bytes, ahead)
        frontier = log.rememberedFrontier(seq: seq, head: head)
    }

    /// Stores the checkpoints signed ahead so far, in order, once each is signed. A chain
    /// made with `signingAhead` must be settled before its transaction ends.
    public func settle() throws {
        if let ahead { try log.settle(ahead, db) }
    }

    /// Appends one record. `detail` must hold no personal data: ids, codes, counts.
    @discardableResult
    public mutating func append(actor: AuditActor, action: String, object: String, detail: [String: JSONValue] = [:]) throws -> AuditRecord {
        var record = AuditRecord(seq: seq + 1, ts: Timestamp.string(log.now()), actor: actor.string, action: action,
                                 object: object, detail: .object(detail), prev: head, hash: "")
        let hashBytes = record.hash(prevBytes: headBytes, suite: log.suite)
        record.hash = Encoding.hex(hashBytes)
        try AuditStore.insert(record, db)
        var tree = try frontier ?? log.rebuiltFrontier(db, size: seq)
        try tree.append(leaf: tree.hasher.leaf(hashBytes)) { level, index, hash in
            if level >= AuditTree.storedLevel { try AuditStore.insertTreeNode(level: level, index: index, hash: hash, db) }
        }
        (seq, head, headBytes, frontier) = (record.seq, record.hash, hashBytes, tree)
        log.remember(tree, seq: seq, head: head)
        if seq % AuditLog.checkpointInterval == 0 {
            let unsigned = try log.unsignedCheckpoint(db, size: seq, head: head, root: tree.root)
            if let ahead { ahead.start(unsigned) } else { try log.store(try unsigned.signed(), db) }
        }
        return record
    }
}

/// Appends committed checkpoints to the checkpoint file: after each transaction that wrote
/// one, every checkpoint larger than the last one in the file, in one write and fsync.
final class CheckpointExporter: Sendable {
    /// The largest size in the file (nil until read), and whether an export waits for the
    /// current transaction (one observer per transaction: GRDB visits every observer on
    /// every statement).
    private let state = Locked<(exported: Int64?, scheduled: Bool)>((nil, false))

    func schedule(_ db: Database, file: URL, logger: Logger) {
        let first = state.withLock { state -> Bool in
            defer { state.scheduled = true }
            return !state.scheduled
        }
        guard first else { return }
        db.afterNextTransaction(onCommit: { [self] db in
            state.withLock { $0.scheduled = false }
            do { try export(db, to: file) } catch {
                logger.error("cannot append audit checkpoints to file", metadata: ["error": "\(error)"])
            }
        }, onRollback: { [self] _ in state.withLock { $0.scheduled = false } })
    }

    private func export(_ db: Database, to file: URL) throws {
        let after = state.withLock { $0.exported } ?? Self.largestSize(in: file)
        let checkpoints = try AuditStore.checkpoints(after: after, db)
        guard let last = checkpoints.last else { return }
        try DataDirectory.appendSynced(checkpoints.map { $0.jsonLine + "\n" }.joined(), to: file)
        state.withLock { $0.exported = last.size }
    }

    /// The largest checkpoint size the file holds (0 when it is missing or holds none).
    static func largestSize(in file: URL) -> Int64 {
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { return 0 }
        let decoder = JSONDecoder()
        return text.split(separator: "\n").compactMap { try? decoder.decode(AuditCheckpoint.self, from: Data($0.utf8)).size }.max() ?? 0
    }
}

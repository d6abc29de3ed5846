import Foundation
import GRDB
import Metrics

/// Witnessing (跨域通办): each region cosigns its peers' audit checkpoints, so a region cannot
/// show one log to its citizens and another to auditors. At every peer refresh this region
/// reads a peer's latest checkpoint (`GET /v1/federation/checkpoint?from=<size it last
/// cosigned>`, signed), checks the note against the peer's pinned keys and its consistency
/// with the last checkpoint it cosigned, cosigns it (C2SP `tlog-cosignature`, `Cosignature`)
/// and posts the cosignature back (`POST /v1/audit/cosignatures`). A checkpoint that is not
/// consistent — a fork, or a log that shrank — is refused, kept as evidence, audited
/// `witness.fork_detected`, counted on `/metrics` and logged as critical by the refresh's
/// task; the last good one stays.
extension PeerRegistry {
    /// What witnessing one peer's log did: `cosigned`, `unchanged` (nothing new since the
    /// last cosignature), `forked` (refused: inconsistent), or `unreachable` / `invalid` (no
    /// or an unreadable answer, a note its pinned keys did not sign).
    public struct Witnessed: Sendable, Equatable {
        public let status: String
        /// The checkpoint's size when one was read.
        public var size: Int64?
        public var detail: String?
    }

    /// Forks refused, by peer region, on `/metrics`.
    public static let forksMetric = "msb_witness_forks_total"

    func witness(_ peer: Peer, over transport: any PeerTransport, timeout: Duration) async throws -> Witnessed {
        let last = try await transactions.read { db in try WitnessStore.witnessed(peer.region, db) }
        let calls = PeerCalls(regionRequests: regionRequests, transport: transport, timeout: timeout)
        let answer: PeerCalls.Answer
        do {
            answer = try await calls.call(peer, path: "/v1/federation/checkpoint" + (last.map { "?from=\($0.size)" } ?? ""), body: nil)
        } catch {
            return Witnessed(status: "unreachable", detail: "no answer from \(peer.baseURL)")
        }
        guard answer.succeeded, let note = answer.json?["note"]?.stringValue, let parsed = CheckpointNote.parse(note) else {
            return Witnessed(status: answer.succeeded ? "invalid" : "unreachable", detail: "GET /v1/federation/checkpoint answered \(answer.status)")
        }
        let origin = CheckpointNote.origin(region: peer.region)
        let keys = peer.keys.filter { $0.status == "active" || $0.status == "retired" }
            .compactMap { try? SignatureKeys.loadVerifier(publicKeyPEM: $0.publicKeyPEM) }
        guard parsed.origin == origin, let key = keys.first(where: { parsed.isSigned(by: origin, $0) }) else {
            return Witnessed(status: "invalid", size: parsed.size, detail: "the checkpoint is not signed by a pinned key of \(peer.region)")
        }
        let hasher = MerkleHasher(CryptoSuite(profile: key.algorithm == .sm2 ? .gm : .intl).hashing)
        if let last {
            let path = answer.json?["consistency"]?["path"]?.arrayValue?.compactMap { $0.stringValue.flatMap(Encoding.fromHex) }
            let why: String?
            if parsed.size < last.size {
                why = "the log shrank from \(last.size) to \(parsed.size) records"
            } else if parsed.size == last.size {
                why = parsed.root == last.root ? nil : "another root at the same size \(parsed.size)"
            } else if let path, Merkle.verifyConsistency(hasher, from: last.size, to: parsed.size, first: last.root, second: parsed.root, path: path) {
                why = nil
            } else {
                why = "no consistency proof from \(last.size) to \(parsed.size)"
            }
            if let why {
                try await recordFork(peer.region, note: note, why: why)
                return Witnessed(status: "forked", size: parsed.size, detail: why)
            }
            if parsed.size == last.size { return Witnessed(status: "unchanged", size: parsed.size) }
        }
        let line = try Cosignature.line(noteText: parsed.text, timestamp: UInt64(max(0, now().timeIntervalSince1970)),
                                        name: Cosignature.name(region: region), by: regionRequests.signing.signer)
        let stamp = Timestamp.string(now())
        try await transactions.write { db in
            try WitnessStore.record(peer.region, size: parsed.size, root: parsed.root, note: note, cosignature: line, at: stamp, db)
        }
        let posted = try? await calls.call(peer, path: "/v1/audit/cosignatures",
                                           body: .object(["size": .int(parsed.size), "cosignature": .string(line)]))
        let detail = posted.map { $0.succeeded ? nil : "the peer refused the cosignature (HTTP \($0.status))" } ?? "the cosignature was not delivered"
        return Witnessed(status: "cosigned", size: parsed.size, detail: detail)
    }

    /// Keeps a refused checkpoint as evidence and audits it (once per note); the caller (the
    /// refresh's task) logs it as critical.
    private func recordFork(_ peer: String, note: String, why: String) async throws {
        let (audit, stamp) = (self.audit, Timestamp.string(now()))
        Counter(label: Self.forksMetric, dimensions: [("region", peer)]).increment()
        try await transactions.write { db in
            guard try WitnessStore.forkNote(peer, db) != note else { return }
            try WitnessStore.recordFork(peer, note: note, at: stamp, db)
            _ = try audit.append(db, actor: .system, action: "witness.fork_detected", object: "peer:\(peer)", detail: ["why": .string(why)])
        }
    }
}

/// The checkpoint a peer's witness reads, and the cosignatures peers send back.
public struct Witnessing: Sendable {
    let transactions: Transactions
    let suite: CryptoSuite
    let now: Now

    /// `GET /v1/federation/checkpoint?from=N`: the latest checkpoint's note, and the
    /// consistency proof to it from size `from` (null when `from` is absent, 0, or past it).
    public func checkpoint(from: Int64?) async throws -> JSONValue {
        let suite = self.suite
        return try await transactions.read { db in
            guard let latest = try AuditStore.latestCheckpoint(db), let note = latest.note else {
                throw MSBError.notFound("no checkpoint with a note has been written yet")
            }
            var answer: [String: JSONValue] = ["size": .int(latest.size), "note": .string(note), "consistency": .null]
            if let from, from > 0, from <= latest.size {
                answer["consistency"] = try AuditProofs.consistency(from: from, to: latest.size, suite: suite, db).json
            }
            return .object(answer)
        }
    }

    /// `POST /v1/audit/cosignatures` from `peer`: its cosignature of this region's checkpoint
    /// of `size`, by one of its pinned keys; true when new. 404 `not_found` (no checkpoint of
    /// that size with a note), 422 `cosignature_invalid`.
    public func receive(size: Int64, line: String, from peer: String) async throws -> Bool {
        let stamp = Timestamp.string(now())
        return try await transactions.write { db in
            guard let note = try AuditStore.checkpointNote(size: size, db), let parsed = CheckpointNote.parse(note) else {
                throw MSBError.notFound("no checkpoint of size \(size)")
            }
            let keys = try PeerStore.keys(of: peer, db).filter { $0.status == "active" }
                .compactMap { try? SignatureKeys.loadVerifier(publicKeyPEM: $0.publicKeyPEM) }
            let name = Cosignature.name(region: peer)
            guard let timestamp = keys.lazy.compactMap({ Cosignature.verify(line: line, noteText: parsed.text, name: name, $0) }).first else {
                throw MSBError(.cosignatureInvalid, "not a cosignature of checkpoint \(size) by \(name) with a key pinned for region \(peer)")
            }
            return try WitnessStore.insertCosignature(size: size, region: peer, line: line, timestamp: Int64(timestamp), at: stamp, db)
        }
    }

    /// `GET /v1/audit/checkpoints/cosigned`: the newest checkpoint peers cosigned, its note
    /// with their cosignature lines appended, and who cosigned it when; nil before the first.
    public func latestCosigned() async throws -> (checkpoint: AuditCheckpoint, note: String, cosignatures: [(region: String, timestamp: Int64)])? {
        try await transactions.read { db in try Self.latestCosigned(db) }
    }

    /// The same, in the caller's read (a holder's disclosures are proved against it).
    static func latestCosigned(_ db: Database) throws -> (checkpoint: AuditCheckpoint, note: String, cosignatures: [(region: String, timestamp: Int64)])? {
        guard let size = try WitnessStore.latestCosignedSize(db), let checkpoint = try AuditStore.checkpoint(size: size, db),
              let note = checkpoint.note else { return nil }
        let lines = try WitnessStore.cosignatures(size: size, db)
        return (checkpoint, note + lines.map { $0.line + "\n" }.joined(), lines.map { ($0.region, $0.timestamp) })
    }
}

import GRDB

/// Who did something: a client (by id), a holder (by keyed reference, never the id), or the system.
public enum AuditActor: Sendable, Equatable {
    case client(String)
    case holder(ref: String)
    case system
    /// A peer region (跨域通办), for what its signed request did here.
    case region(String)

    public var string: String {
        switch self {
        case .region(let code): return "region:\(code)"
        case .client(let id): return "client:\(id)"
        case .holder(let ref): return "holder:\(ref)"
        case .system: return "system"
        }
    }
}

/// One record of the hash-chained audit log (docs/API.md "Audit record").
/// `hash = H(prev bytes ‖ JCS(record without "hash"))`; the first `prev` is 32 zero bytes.
public struct AuditRecord: Sendable, Equatable {
    public var seq: Int64
    public var ts: String
    public var actor: String
    public var action: String
    public var object: String
    /// `detail` as stored and hashed: its RFC 8785 text (written canonical, so the chain is
    /// checked on the bytes themselves, without parsing them).
    public var detailJSON: String
    public var prev: String
    public var hash: String

    public var detail: JSONValue { JSONValue.parse(Array(detailJSON.utf8)) ?? .string(detailJSON) }

    /// The RFC 8785 form of the record without `hash`: what the hash covers after `prev`.
    /// Written member by member in RFC 8785 key order (action, actor, detail, object, prev,
    /// seq, ts); a test checks it equals the generic canonical form.
    public var canonicalWithoutHash: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(256)
        func member(_ key: String, _ first: Bool = false) {
            out.append(contentsOf: (first ? "{\"" : ",\"").utf8)
            out.append(contentsOf: key.utf8)
            out.append(contentsOf: "\":".utf8)
        }
        member("action", true); JSONValue.writeString(action, into: &out)
        member("actor"); JSONValue.writeString(actor, into: &out)
        member("detail"); out.append(contentsOf: detailJSON.utf8)
        member("object"); JSONValue.writeString(object, into: &out)
        member("prev"); JSONValue.writeString(prev, into: &out)
        member("seq"); out.append(contentsOf: String(seq).utf8)
        member("ts"); JSONValue.writeString(ts, into: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// Recomputes the hash from the record's content; nil if `prev` is not hex.
    public func computedHash(suite: CryptoSuite) -> String? {
        guard let prevBytes = Encoding.fromHex(prev) else { return nil }
        return Encoding.hex(hash(prevBytes: prevBytes, suite: suite))
    }

    /// The hash, given `prev` already as bytes (the chain keeps its head that way).
    func hash(prevBytes: [UInt8], suite: CryptoSuite) -> [UInt8] {
        suite.hash(prevBytes + canonicalWithoutHash)
    }

    init(row: Row) throws {
        seq = row["seq"]
        ts = row["ts"]
        actor = row["actor"]
        action = row["action"]
        object = row["object"]
        detailJSON = row["detail"]
        prev = row["prev"]
        hash = row["hash"]
    }

    init(seq: Int64, ts: String, actor: String, action: String, object: String, detail: JSONValue, prev: String, hash: String) {
        (self.seq, self.ts, self.actor, self.action, self.object, self.detailJSON, self.prev, self.hash) =
            (seq, ts, actor, action, object, detail.canonicalString, prev, hash)
    }
}

/// A signed statement that the log had `size` records ending in `head`.
/// `signature` = base64url of the key's raw signature over JCS of the checkpoint without
/// `signature`, `root` and `note`. Since migration 0021 a checkpoint also carries the root of
/// the log's Merkle tree at its size (`root`, hex) and the C2SP signed note of size and root
/// (`note`, see `CheckpointNote`); older ones have neither.
public struct AuditCheckpoint: Sendable, Equatable, Codable {
    public var size: Int64
    public var head: String
    public var ts: String
    public var kid: String
    public var signature: String
    public var root: String?
    public var note: String?

    public var signedBytes: [UInt8] {
        JSONValue.object(["size": .int(size), "head": .string(head), "ts": .string(ts), "kid": .string(kid)]).canonicalBytes
    }

    /// Its JSON members (`GET /v1/audit/checkpoints/latest`, a line of the checkpoint file).
    public var json: JSONValue {
        var members: [String: JSONValue] = [
            "size": .int(size), "head": .string(head), "ts": .string(ts), "kid": .string(kid), "signature": .string(signature),
        ]
        if let root { members["root"] = .string(root) }
        if let note { members["note"] = .string(note) }
        return .object(members)
    }

    public var jsonLine: String { json.canonicalString }

    init(row: Row) {
        size = row["size"]
        head = row["head"]
        ts = row["ts"]
        kid = row["kid"]
        signature = row["signature"]
        root = row["root"]
        note = row["note"]
    }

    init(size: Int64, head: String, ts: String, kid: String, signature: String, root: String? = nil, note: String? = nil) {
        (self.size, self.head, self.ts, self.kid, self.signature, self.root, self.note) = (size, head, ts, kid, signature, root, note)
    }
}

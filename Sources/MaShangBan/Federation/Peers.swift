import Foundation
import GRDB

/// A peer region (跨域通办): another deployment with its own server, database and keys,
/// trusted for the keys whose fingerprints the admin pinned here. No secret is shared.
public struct Peer: Sendable, Equatable {
    public let region: String
    public let name: String
    /// Where its API is (`https://…`, no trailing slash).
    public let baseURL: String
    /// Fingerprints (`sha256:<hex>`) of the keys it may sign with.
    public let pins: [String]
    public let createdAt: Timestamp
    /// The last refresh that reached it, and what the last one that did not said.
    public let refreshedAt: Timestamp?
    public let refreshError: String?
    public let keys: [PeerKey]
    /// The cross-region items it decides, as its `GET /v1/federation/items` last listed them.
    public let items: [PeerItem]
}

/// A cross-region item a peer decides (synced by `peers refresh`).
public struct PeerItem: Sendable, Equatable {
    public let nationalCode: String
    public let name: String
    public let required: [String]
}

/// A key a peer publishes, as this region holds it: `active` or `retired` (both verify what
/// the peer signed while they were active), or `refused` (published but not pinned here:
/// never used).
public struct PeerKey: Sendable, Equatable {
    public let kid: String
    public let alg: String
    public let publicKeyPEM: String
    public let fingerprint: String
    public let status: String
    public let retiredAt: Timestamp?
}

/// Calls a peer region: the status and body, or throws when no answer came (refused, reset,
/// timed out).
public protocol PeerTransport: Sendable {
    func get(url: String, headers: [(String, String)], timeout: Duration) async throws -> (status: Int, body: [UInt8])
    func post(url: String, headers: [(String, String)], body: [UInt8], timeout: Duration) async throws -> (status: Int, body: [UInt8])
}

/// No peer is ever reached (a backend opened without a transport: the CLI, most tests).
public struct NoPeerTransport: PeerTransport {
    struct Unreachable: Error {}
    public init() {}
    public func get(url: String, headers: [(String, String)], timeout: Duration) async throws -> (status: Int, body: [UInt8]) { throw Unreachable() }
    public func post(url: String, headers: [(String, String)], body: [UInt8], timeout: Duration) async throws -> (status: Int, body: [UInt8]) {
        throw Unreachable()
    }
}

/// The peers and their keys: `POST /v1/peers` (admin) registers or changes one; `refresh`
/// (`mashangban peers refresh`, `POST /v1/peers/refresh`) reads each peer's `GET /v1/keys`
/// and keeps the keys whose fingerprints are pinned, audited key by key.
public struct PeerRegistry: Sendable {
    let transactions: Transactions
    let audit: AuditLog
    let now: Now
    /// This deployment's own region, which is no peer of itself.
    let region: String
    /// Signs the catalogue requests to peers.
    let regionRequests: RegionRequests

    public struct Registration: Sendable, Decodable {
        public var region: String
        public var name: String
        public var baseURL: String
        public var keyFingerprints: [String]

        enum CodingKeys: String, CodingKey {
            case region, name
            case baseURL = "base_url"
            case keyFingerprints = "key_fingerprints"
        }

        public init(region: String, name: String, baseURL: String, keyFingerprints: [String]) {
            (self.region, self.name, self.baseURL, self.keyFingerprints) = (region, name, baseURL, keyFingerprints)
        }
    }

    /// A pinned key's fingerprint: `sha256:` and 64 lowercase hex digits.
    static let pinShape = CodeShape(prefix: "sha256:", "0-9a-f", lengths: 64...64)

    /// Registers a peer, or changes its name, address and pins; true when it is new.
    /// Audited `peer.created` or `peer.updated`. A key refused before and pinned now is taken
    /// at the next refresh; one pinned before and not now is refused then.
    public func register(_ r: Registration, by actor: AuditActor) async throws -> (peer: Peer, created: Bool) {
        guard CodeShape.regionCode.matches(r.region) else { throw MSBError.validationFailed("region must be a 6-digit region code") }
        guard r.region != region else { throw MSBError.validationFailed("region \(region) is this deployment's own") }
        let name = try MSBError.requireText(r.name, field: "name", maximum: 100)
        var base = try ApprovalSystemRegistry.validateWebhook(r.baseURL, field: "base_url")
        while base.hasSuffix("/") { base.removeLast() }
        let pins = Array(Set(r.keyFingerprints.map { $0.lowercased() })).sorted()
        guard !pins.isEmpty, pins.count <= 16, pins.allSatisfy(Self.pinShape.matches) else {
            throw MSBError.validationFailed("key_fingerprints must be 1 to 16 fingerprints, each sha256: and 64 hex digits")
        }
        let (audit, stamp, baseURL) = (self.audit, Timestamp(now()), base)
        return try await transactions.write { db in
            let created = try PeerStore.upsert(region: r.region, name: name, baseURL: baseURL, pins: pins, at: stamp, db)
            try audit.append(db, actor: actor, action: created ? "peer.created" : "peer.updated", object: "peer:\(r.region)",
                             detail: ["pins": .array(pins.map(JSONValue.string))])
            guard let peer = try PeerStore.peer(r.region, db) else { throw InternalError("a peer was not stored") }
            return (peer, created)
        }
    }

    public func list() async throws -> [Peer] {
        try await transactions.read { db in try PeerStore.peers(db) }
    }

    /// What one peer's refresh did.
    public struct Refreshed: Sendable, Equatable {
        public let region: String
        public var added: [String] = []
        public var retired: [String] = []
        public var refused: [String] = []
        /// How many cross-region items its catalogue listed; nil when it was not read.
        public var items: Int?
        /// Why the peer's keys, or its catalogue, could not be read (what was not read did not
        /// change); nil when both were.
        public var error: String?
        /// What witnessing its audit log did; nil when its keys could not be read.
        public var witness: Witnessed?

        /// This refresh of keys followed by that of the catalogue.
        func merging(_ catalogue: Refreshed) -> Refreshed {
            var both = self
            both.items = catalogue.items
            both.error = catalogue.error
            return both
        }
    }

    /// Reads every peer's keys and catalogue and witnesses its audit log (the peers at once,
    /// each request within `timeout`), in the order of their regions.
    public func refresh(over transport: any PeerTransport, timeout: Duration = .seconds(3)) async throws -> [Refreshed] {
        let peers = try await list()
        return try await withThrowingTaskGroup(of: Refreshed.self) { group in
            for peer in peers { group.addTask { try await refresh(peer, over: transport, timeout: timeout) } }
            var results: [Refreshed] = []
            for try await result in group { results.append(result) }
            return results.sorted { $0.region < $1.region }
        }
    }

    private func refresh(_ peer: Peer, over transport: any PeerTransport, timeout: Duration) async throws -> Refreshed {
        let published: [PublishedKey]
        do {
            let (status, body) = try await transport.get(url: peer.baseURL + "/v1/keys", headers: [], timeout: timeout)
            guard status == 200 else { throw StartupError("GET /v1/keys answered \(status)") }
            published = try Self.keys(body, region: peer.region)
        } catch {
            let reason = (error as? StartupError)?.description ?? "no answer from \(peer.baseURL)"
            let stamp = Timestamp(now())
            try await transactions.write { db in try PeerStore.recordRefresh(peer.region, error: reason, at: stamp, db) }
            return Refreshed(region: peer.region, error: reason)
        }
        let (audit, stamp, pins) = (self.audit, Timestamp(now()), Set(peer.pins))
        var refreshed = try await transactions.write { db in
            var result = Refreshed(region: peer.region)
            let held = Dictionary(uniqueKeysWithValues: try PeerStore.keys(of: peer.region, db).map { ($0.kid, $0) })
            for key in published {
                guard let fingerprint = key.fingerprint else { continue }
                let status = pins.contains(fingerprint) ? (key.status == "retired" ? "retired" : "active") : "refused"
                let before = held[key.kid]?.status
                guard before != status else { continue }
                // A key once retired stays retired; what a refused key said is kept, unused.
                if before == "retired" && status == "active" { continue }
                try PeerStore.putKey(region: peer.region, PeerKey(kid: key.kid, alg: key.alg, publicKeyPEM: key.publicKeyPEM, fingerprint: fingerprint,
                                                                  status: status, retiredAt: key.retiredAt), at: stamp, db)
                let action: String
                switch status {
                case "refused": (action, result.refused) = ("peer.key_refused", result.refused + [key.kid])
                case "retired" where before == "active": (action, result.retired) = ("peer.key_retired", result.retired + [key.kid])
                default: (action, result.added) = ("peer.key_added", result.added + [key.kid])
                }
                try audit.append(db, actor: .system, action: action, object: "peer:\(peer.region)",
                                 detail: ["kid": .string(key.kid), "fingerprint": .string(fingerprint), "status": .string(status)])
            }
            try PeerStore.recordRefresh(peer.region, error: nil, at: stamp, db)
            return result
        }.merging(try await syncItems(peer, over: transport, timeout: timeout))
        if let current = try await transactions.read({ db in try PeerStore.peer(peer.region, db) }) {
            refreshed.witness = try await witness(current, over: transport, timeout: timeout)
        }
        return refreshed
    }

    /// Reads a peer's cross-region catalogue with a signed request, and keeps it (audited
    /// `peer.items_synced` when it changed).
    private func syncItems(_ peer: Peer, over transport: any PeerTransport, timeout: Duration) async throws -> Refreshed {
        let items: [PeerItem]
        do {
            let calls = PeerCalls(regionRequests: regionRequests, transport: transport, timeout: timeout)
            let answer = try await calls.call(peer, path: "/v1/federation/items", body: nil)
            guard answer.status == 200 else {
                throw StartupError("GET /v1/federation/items answered \(answer.status)" + (answer.problemCode.map { " (\($0))" } ?? ""))
            }
            items = try Self.items(answer.body, region: peer.region)
        } catch {
            let reason = (error as? StartupError)?.description ?? "no answer from \(peer.baseURL)"
            let (message, stamp) = ("catalogue: " + reason, Timestamp(now()))
            try await transactions.write { db in try PeerStore.recordRefresh(peer.region, error: message, at: stamp, db) }
            return Refreshed(region: peer.region, error: message)
        }
        let (audit, stamp) = (self.audit, Timestamp(now()))
        try await transactions.write { db in
            guard try PeerStore.items(of: peer.region, db) != items else { return }
            try PeerStore.replaceItems(of: peer.region, with: items, at: stamp, db)
            try audit.append(db, actor: .system, action: "peer.items_synced", object: "peer:\(peer.region)", detail: ["items": .int(Int64(items.count))])
        }
        return Refreshed(region: peer.region, items: items.count)
    }

    /// The items of a peer's `GET /v1/federation/items` answer, of its region.
    static func items(_ body: [UInt8], region: String) throws -> [PeerItem] {
        guard let document = JSONValue.parse(body), let listed = document["items"]?.arrayValue else {
            throw StartupError("GET /v1/federation/items did not answer an item list")
        }
        guard document["region"]?.stringValue == region else { throw StartupError("GET /v1/federation/items answered for another region") }
        return listed.compactMap { item in
            guard let code = item["national_code"]?.stringValue, let name = item["name"]?.stringValue,
                  let required = item["required"]?.arrayValue?.compactMap(\.stringValue) else { return nil }
            return PeerItem(nationalCode: code, name: name, required: required)
        }.sorted { $0.nationalCode < $1.nationalCode }
    }

    /// The keys of a peer's `GET /v1/keys` answer: of its region, each `kid` its key's.
    static func keys(_ body: [UInt8], region: String) throws -> [PublishedKey] {
        struct Document: Decodable {
            let region: String
            let keys: [PublishedKey]
        }
        guard let document = try? JSONDecoder().decode(Document.self, from: Data(body)) else {
            throw StartupError("GET /v1/keys did not answer a key list")
        }
        guard document.region == region else { throw StartupError("GET /v1/keys answered for region \(document.region), not \(region)") }
        return document.keys.filter { key in
            (try? SignatureKeys.loadVerifier(publicKeyPEM: key.publicKeyPEM)).map { CryptoSuite.keyID(of: $0) == key.kid } ?? false
        }
    }
}

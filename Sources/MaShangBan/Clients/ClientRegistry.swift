import Foundation
import GRDB

/// What a client may do. Checked per route.
public enum ClientRole: String, Sendable, Codable, CaseIterable {
    case admin, issuer, app, terminal
}

/// A registered API client: a scanner terminal, the app backend, an issuer, or an admin.
public struct Client: Sendable, Equatable, Codable {
    public let id: String
    public let role: ClientRole
    public let name: String
    /// Service hall and window, for terminals.
    public let hall: String?
    public let window: String?
    public let createdAt: String

    init(row: Row) throws {
        id = row["id"]
        let roleName: String = row["role"]
        guard let role = ClientRole(rawValue: roleName) else { throw StartupError("unknown role in the database") }
        self.role = role
        name = row["name"]
        hall = row["hall"]
        window = row["window"]
        createdAt = row["created_at"]
    }
}

/// Registers clients and resolves bearer tokens. Tokens are 256 random bits, shown once;
/// only their profile hash is stored. A deleted client's token stops working at once.
public struct ClientRegistry: Sendable {
    static let tokenPrefix = "msb_"
    let pool: DatabasePool
    let suite: CryptoSuite
    let audit: AuditLog
    let random: any RandomSource
    let now: Now
    /// Live clients by token hash, so a request does not read the database to learn who sent it.
    let tokens = TokenCache()

    /// A new client's details, validated by `create`.
    public struct Registration: Sendable {
        public var role: String
        public var name: String
        public var hall: String?
        public var window: String?
        public init(role: String, name: String, hall: String? = nil, window: String? = nil) {
            (self.role, self.name, self.hall, self.window) = (role, name, hall, window)
        }
    }

    /// Creates a client and returns it with its token (the only time the token is seen).
    public func create(_ registration: Registration, by actor: AuditActor) async throws -> (client: Client, token: String) {
        let (role, name, hall, window) = try Self.validate(registration)
        let id = random.identifier(prefix: "cli")
        let token = Self.makeToken(random)
        let tokenHash = Self.tokenHash(token, suite: suite)
        let createdAt = Timestamp.string(now())
        let audit = self.audit
        let client = try await pool.write { db in
            try Self.insert(db, id: id, role: role, name: name, hall: hall, window: window, tokenHash: tokenHash, createdAt: createdAt)
            var detail: [String: JSONValue] = ["role": .string(role.rawValue)]
            if let hall { detail["hall"] = .string(hall) }
            try audit.append(db, actor: actor, action: "client.created", object: "client:\(id)", detail: detail)
            return try Self.fetch(db, id: id)
        }
        return (client, token)
    }

    /// A new bearer token: `msb_` and 256 random bits, base64url.
    static func makeToken(_ random: any RandomSource) -> String {
        tokenPrefix + Encoding.base64URL(random.bytes(32))
    }

    /// What is stored instead of a token: its profile hash.
    static func tokenHash(_ token: String, suite: CryptoSuite) -> [UInt8] { suite.hash(Array(token.utf8)) }

    static func insert(_ db: Database, id: String, role: ClientRole, name: String, hall: String?, window: String?,
                       tokenHash: [UInt8], createdAt: String) throws {
        try db.execute(
            sql: "INSERT INTO clients (id, role, name, hall, window, token_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            arguments: [id, role.rawValue, name, hall, window, Data(tokenHash), createdAt])
    }

    static func fetch(_ db: Database, id: String) throws -> Client {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM clients WHERE id = ? AND deleted_at IS NULL"), arguments: [id]) else {
            throw MSBError.notFound("no such client")
        }
        return try Client(row: row)
    }

    /// A page of live clients in the order they were made, after the client `after` (nil:
    /// from the start): at most `limit` of them, and the id to ask after for the next page
    /// (nil on the last). 404 `not_found` if `after` names no client.
    public func list(after: String? = nil, limit: Int = ClientRegistry.maximumPage) async throws -> (clients: [Client], next: String?) {
        let limit = min(max(1, limit), Self.maximumPage)
        return try await pool.read { db in
            let rows: [Row]
            if let after {
                guard try Row.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM clients WHERE id = ?"), arguments: [after]) != nil else {
                    throw MSBError.notFound("no such client to list after")
                }
                rows = try Row.fetchAll(db.cachedStatement(sql: """
                    SELECT * FROM clients WHERE deleted_at IS NULL
                    AND (created_at, id) > (SELECT created_at, id FROM clients WHERE id = ?) ORDER BY created_at, id LIMIT ?
                    """), arguments: [after, limit + 1])
            } else {
                rows = try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM clients WHERE deleted_at IS NULL ORDER BY created_at, id LIMIT ?"),
                                        arguments: [limit + 1])
            }
            let clients = try rows.prefix(limit).map(Client.init(row:))
            return (clients, rows.count > limit ? clients.last?.id : nil)
        }
    }

    /// The most clients one page lists.
    public static let maximumPage = 1000

    /// Deletes a client; 404 `not_found` if there is no such (live) client, 409 `last_admin`
    /// for the only admin left (nobody could administer the service after it).
    public func delete(id: String, by actor: AuditActor) async throws {
        let deletedAt = Timestamp.string(now())
        let audit = self.audit
        defer { tokens.invalidate() }  // after the write has committed (or failed), whatever happens to this task
        try await pool.write { db in
            let client = try Self.fetch(db, id: id)
            if client.role == .admin,
               try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM clients WHERE role = 'admin' AND deleted_at IS NULL")) == 1 {
                throw MSBError(code: "last_admin", status: 409, detail: "this is the last admin client; create another admin first")
            }
            try db.cachedStatement(sql: "UPDATE clients SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL").execute(arguments: [deletedAt, id])
            guard db.changesCount == 1 else { throw MSBError.notFound("no such client") }
            try audit.append(db, actor: actor, action: "client.deleted", object: "client:\(id)")
        }
    }

    /// The live client a bearer token belongs to, or nil.
    public func authenticate(token: String) async throws -> Client? {
        guard !token.isEmpty, token.utf8.count <= 512 else { return nil }
        let tokenHash = Data(Self.tokenHash(token, suite: suite))
        let (cached, generation) = tokens.lookup(tokenHash)
        if let cached { return cached }
        let client = try await pool.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM clients WHERE token_hash = ? AND deleted_at IS NULL"), arguments: [tokenHash])
                .map(Client.init(row:))
        }
        if let client { tokens.store(client, for: tokenHash, readAt: generation) }
        return client
    }

    /// The token → client cache. A deletion empties it once committed and moves it to a new
    /// generation; a lookup that read the database before that cannot store its (stale)
    /// answer after it. Unknown tokens are never cached.
    final class TokenCache: Sendable {
        private let state = Locked<(generation: Int, clients: [Data: Client])>((0, [:]))
        static var capacity: Int { 10_000 }

        func lookup(_ tokenHash: Data) -> (Client?, generation: Int) {
            state.withLock { ($0.clients[tokenHash], $0.generation) }
        }

        func store(_ client: Client, for tokenHash: Data, readAt generation: Int) {
            state.withLock { state in
                guard state.generation == generation else { return }
                if state.clients.count >= Self.capacity { state.clients.removeAll() }
                state.clients[tokenHash] = client
            }
        }

        func invalidate() {
            state.withLock { state in
                state.generation += 1
                state.clients.removeAll()
            }
        }
    }

    private static var codePattern: Regex<Substring> { /[A-Za-z0-9][A-Za-z0-9_.-]{0,63}/ }

    static func validate(_ r: Registration) throws -> (ClientRole, String, String?, String?) {
        guard let role = ClientRole(rawValue: r.role) else {
            throw MSBError.validationFailed("role must be one of \(ClientRole.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let name = try MSBError.requireText(r.name, field: "name", maximum: 200)
        if role == .terminal {
            guard let hall = r.hall else { throw MSBError.validationFailed("hall is required for a terminal") }
            guard hall.wholeMatch(of: codePattern) != nil else {
                throw MSBError.validationFailed("hall must be 1 to 64 letters, digits, '.', '_' or '-'")
            }
            if let window = r.window, window.wholeMatch(of: codePattern) == nil {
                throw MSBError.validationFailed("window must be 1 to 64 letters, digits, '.', '_' or '-'")
            }
        } else if r.hall != nil || r.window != nil {
            throw MSBError.validationFailed("hall and window are only for terminals")
        }
        return (role, name, r.hall, r.window)
    }
}

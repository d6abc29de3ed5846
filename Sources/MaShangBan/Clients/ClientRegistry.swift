import Foundation
import GRDB

/// What a client may do. Checked per route.
public enum ClientRole: String, Sendable, Codable, CaseIterable {
    case admin, issuer, app, terminal
    /// 赋码入企: a government unit's system (bound to its unit code), an enterprise's system or
    /// door terminal (bound to its credit code), and the supervisor who sees every rating.
    case unit, enterprise, supervisor
}

/// A registered API client: a scanner terminal, the app backend, an issuer, or an admin.
public struct Client: Sendable, Equatable {
    public let id: String
    public let role: ClientRole
    public let name: String
    /// Service hall and window, for terminals.
    public let hall: String?
    public let window: String?
    /// For issuers: the issuing authority's unified social credit code, which owns every
    /// licence its clients issue (nil for issuers registered before codes were required), and
    /// the licence types it may issue (nil: any, for those older issuers).
    public let issuerCode: String?
    public let licenceTypes: [String]?
    /// The party a `unit` client speaks for (its unit code) or an `enterprise` client (its
    /// credit code); nil for every other role.
    public let party: String?
    public let createdAt: Timestamp

    init(id: String, role: ClientRole, name: String, hall: String?, window: String?, issuerCode: String?, licenceTypes: [String]?,
         party: String? = nil, createdAt: Timestamp) {
        (self.id, self.role, self.name, self.hall, self.window) = (id, role, name, hall, window)
        (self.issuerCode, self.licenceTypes, self.party, self.createdAt) = (issuerCode, licenceTypes, party, createdAt)
    }
}

/// Registers clients and resolves bearer tokens. Tokens are 256 random bits, shown once;
/// only their profile hash is stored. A deleted client's token stops working at once.
public struct ClientRegistry: Sendable {
    static let tokenPrefix = "msb_"
    let transactions: Transactions
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
        /// Issuers only, and required for them.
        public var issuerCode: String?
        public var licenceTypes: [String]?
        /// Units only, and required for them: the registered unit's code.
        public var unit: String?
        /// Enterprises only, and required for them: the enterprise's credit code.
        public var enterprise: String?
        public init(role: String, name: String, hall: String? = nil, window: String? = nil, issuerCode: String? = nil,
                    licenceTypes: [String]? = nil, unit: String? = nil, enterprise: String? = nil) {
            (self.role, self.name, self.hall, self.window, self.issuerCode, self.licenceTypes) =
                (role, name, hall, window, issuerCode, licenceTypes)
            (self.unit, self.enterprise) = (unit, enterprise)
        }
    }

    /// A registration checked against the rules of its role.
    struct Valid {
        let role: ClientRole
        let name: String
        let hall: String?
        let window: String?
        let issuerCode: String?
        let licenceTypes: [String]?
        let party: String?
    }

    /// Creates a client and returns it with its token (the only time the token is seen).
    public func create(_ registration: Registration, by actor: AuditActor) async throws -> (client: Client, token: String) {
        let valid = try Self.validate(registration)
        let id = random.identifier(prefix: "cli")
        let token = Self.makeToken(random)
        let tokenHash = Self.tokenHash(token, suite: suite)
        let createdAt = Timestamp.string(now())
        let audit = self.audit
        let client = try await transactions.write { db in
            if let types = valid.licenceTypes, let unknown = try types.first(where: { try LicenceTypeRegistry.find(db, code: $0) == nil }) {
                throw MSBError(.unknownLicenceType, "licence_types names \(unknown.prefix(64)), not a known licence type")
            }
            if valid.role == .unit, let unit = valid.party, try UnitStore.unit(unit, db) == nil {
                throw MSBError(.unitUnknown, "unit \(unit) is not registered")
            }
            try Self.insert(db, id: id, valid, tokenHash: tokenHash, createdAt: createdAt)
            var detail: [String: JSONValue] = ["role": .string(valid.role.rawValue)]
            if let hall = valid.hall { detail["hall"] = .string(hall) }
            if let code = valid.issuerCode { detail["issuer_code"] = .string(code) }
            if valid.role == .unit, let unit = valid.party { detail["unit"] = .string(unit) }  // an enterprise's code is not logged
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

    static func insert(_ db: Database, id: String, _ client: Valid, tokenHash: [UInt8], createdAt: String) throws {
        try ClientStore.insert(id: id, role: client.role, name: client.name, hall: client.hall, window: client.window,
                               issuerCode: client.issuerCode, licenceTypes: client.licenceTypes, party: client.party, tokenHash: tokenHash,
                               createdAt: createdAt, db)
    }

    static func fetch(_ db: Database, id: String, includingDeleted: Bool = false) throws -> Client {
        guard let client = try ClientStore.client(id, includingDeleted: includingDeleted, db) else {
            throw MSBError.notFound("no such client")
        }
        return client
    }

    /// A page of live clients in the order they were made, after the client `after` (nil:
    /// from the start): at most `limit` of them, and the id to ask after for the next page
    /// (nil on the last). 404 `not_found` if `after` names no client.
    public func list(after: String? = nil, limit: Int = ClientRegistry.maximumPage) async throws -> (clients: [Client], next: String?) {
        let limit = min(max(1, limit), Self.maximumPage)
        return try await transactions.read { db in
            if let after, try !ClientStore.exists(after, db) { throw MSBError.notFound("no such client to list after") }
            let rows = try ClientStore.page(after: after, limit: limit + 1, db)
            let clients = Array(rows.prefix(limit))
            return (clients, rows.count > limit ? clients.last?.id : nil)
        }
    }

    /// The most clients one page lists.
    public static let maximumPage = 1000

    /// Deletes a client; 404 `not_found` if there is no such (live) client, 409 `last_admin`
    /// for the only admin left (nobody could administer the service after it). What the
    /// client was granted ends with it, in the same transaction: an app's live consents are
    /// withdrawn (their unscanned codes die) and its holder sessions end; a terminal's waiting
    /// window sessions expire.
    public func delete(id: String, by actor: AuditActor) async throws {
        let deletedAt = now()
        let audit = self.audit
        defer { tokens.invalidate() }  // after the write has committed (or failed), whatever happens to this task
        try await transactions.write { db in
            let client = try Self.fetch(db, id: id)
            if client.role == .admin, try ClientStore.liveAdminCount(db) == 1 {
                throw MSBError(.lastAdmin, "this is the last admin client; create another admin first")
            }
            guard try ClientStore.delete(id, at: deletedAt, db) else { throw MSBError.notFound("no such client") }
            var chain = try audit.chain(db)
            try chain.append(actor: actor, action: "client.deleted", object: "client:\(id)")
            switch client.role {
            case .app:
                for consent in try ConsentStore.live(clientID: id, at: deletedAt, db) {
                    try Consents.end(consent, at: deletedAt, actor: actor, chain: &chain, db)
                }
                try HolderSessionStore.endAll(clientID: id, at: deletedAt, db)
            case .terminal:
                try WindowSessionStore.expireWaiting(terminalID: id, at: deletedAt, db)
            case .admin, .issuer, .unit, .enterprise, .supervisor:
                break
            }
        }
    }

    /// The live client a bearer token belongs to, or nil.
    public func authenticate(token: String) async throws -> Client? {
        guard !token.isEmpty, token.utf8.count <= 512 else { return nil }
        let hash = Self.tokenHash(token, suite: suite)
        let tokenHash = Data(hash)
        let (cached, generation) = tokens.lookup(tokenHash)
        if let cached { return cached }
        let client = try await transactions.read { db in try ClientStore.client(tokenHash: hash, db) }
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


    static func validate(_ r: Registration) throws -> Valid {
        guard let role = ClientRole(rawValue: r.role) else {
            throw MSBError.validationFailed("role must be one of \(ClientRole.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let name = try MSBError.requireText(r.name, field: "name", maximum: 200)
        if role == .terminal {
            guard let hall = r.hall else { throw MSBError.validationFailed("hall is required for a terminal") }
            try Hall.validate(hall, field: "hall")
            if let window = r.window, !CodeShape.identifier.matches(window) {
                throw MSBError.validationFailed("window must be 1 to 64 letters, digits, '.', '_' or '-'")
            }
        } else if r.hall != nil || r.window != nil {
            throw MSBError.validationFailed("hall and window are only for terminals")
        }
        var (issuerCode, licenceTypes): (String?, [String]?) = (nil, nil)
        if role == .issuer {
            guard let code = r.issuerCode else { throw MSBError.validationFailed("issuer_code is required for an issuer") }
            do { issuerCode = try CreditCode(code).value } catch { throw MSBError.invalidCreditCode("issuer_code", error) }
            guard let types = r.licenceTypes, !types.isEmpty, types.count <= 100, Set(types).count == types.count else {
                throw MSBError.validationFailed("licence_types must list 1 to 100 different licence types an issuer may issue")
            }
            licenceTypes = types
        } else if r.issuerCode != nil || r.licenceTypes != nil {
            throw MSBError.validationFailed("issuer_code and licence_types are only for issuers")
        }
        var party: String?
        switch role {
        case .unit:
            guard let unit = r.unit, r.enterprise == nil else { throw MSBError.validationFailed("a unit client needs unit (and no enterprise)") }
            party = try UnitRegistry.validateCode(unit, field: "unit")
        case .enterprise:
            guard let code = r.enterprise, r.unit == nil else {
                throw MSBError.validationFailed("an enterprise client needs enterprise, a credit code (and no unit)")
            }
            do { party = try CreditCode(code).value } catch { throw MSBError.invalidCreditCode("enterprise", error) }
        default:
            if r.unit != nil || r.enterprise != nil { throw MSBError.validationFailed("unit and enterprise are only for unit and enterprise clients") }
        }
        return Valid(role: role, name: name, hall: r.hall, window: r.window, issuerCode: issuerCode, licenceTypes: licenceTypes, party: party)
    }
}

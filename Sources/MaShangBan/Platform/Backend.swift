import Foundation
import GRDB
import Logging

/// What the domain services are tuned by: one struct, which `serve` fills from its flags
/// and environment (`ServeConfiguration`) and the bench and tests set directly.
public struct BackendSettings: Sendable, Equatable {
    /// Display masks per field class.
    public var masks: MaskTable = .standard
    /// The 6-digit region code QR tokens carry (`iss`).
    public var region = "430400"
    /// QR token lifetime in seconds (30–600).
    public var tokenLifetime = 120
    /// The lowest face-recognition score accepted.
    public var faceThreshold = 0.80
    /// The furthest an agent authorisation's `valid_until` may lie ahead, in days.
    public var maxAgentDays = EnterpriseAgents.defaultMaximumDays
    /// Webhook delivery: attempts, timeouts, concurrency, backoff.
    public var delivery = DeliverySettings()
    /// Request rate limits (per client role, address and holder).
    public var rateLimits = RateLimits.standard

    public init() {}
}

/// How to open a data directory.
public struct BackendOptions: Sendable {
    public var dataDirectory: DataDirectory
    /// The crypto profile asked for; nil takes the recorded one (or `intl` on first start).
    public var crypto: CryptoProfile?
    /// The admin token to create on first start (`MSB_ADMIN_TOKEN`); nil generates one.
    public var adminToken: String?
    public var now: Now
    public var random: any RandomSource
    public var logger: Logger
    public var settings: BackendSettings

    public init(dataDirectory: DataDirectory, crypto: CryptoProfile? = nil, adminToken: String? = nil,
                settings: BackendSettings = BackendSettings(), now: @escaping Now = { Date() },
                random: any RandomSource = SystemRandom(), logger: Logger = Logger(label: "mashangban")) {
        self.dataDirectory = dataDirectory
        self.crypto = crypto
        self.adminToken = adminToken
        self.settings = settings
        self.now = now
        self.random = random
        self.logger = logger
    }
}

/// An opened data directory: the database, the crypto profile, keys, the audit log and
/// the domain services built on them. The server and the CLI commands both start here.
public struct Backend: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// A backend holds keys and the first admin token: printing one (a log line, a
    /// debugger's `po`) shows where its data lives and nothing else.
    public var description: String { "Backend(\(dataDirectory.url.path))" }
    public var debugDescription: String { description }

    public let dataDirectory: DataDirectory
    public let pool: DatabasePool
    public let suite: CryptoSuite
    public let keyring: Keyring
    public let audit: AuditLog
    /// Reading the audit log while serving: pages, the latest checkpoint, the cached chain check.
    public let auditTrail: AuditTrail
    public let clients: ClientRegistry
    public let licenceTypes: LicenceTypeRegistry
    public let library: LicenceLibrary
    public let wallet: Wallet
    public let masks: MaskTable
    public let approvalSystems: ApprovalSystemRegistry
    public let items: ItemRegistry
    public let faceAuth: FaceAuth
    public let agents: EnterpriseAgents
    public let holderSessions: HolderSessions
    public let consents: Consents
    public let presentations: Presentations
    public let scans: Scans
    public let deliveries: Deliveries
    public let windowSessions: WindowSessions
    public let holderReference: HolderReference
    /// Facts fixed once per data directory (`serve --demo` records its sample data here).
    public let meta: MetaStore
    /// Seals personal data at rest (keys derived from `DIR/keys/data.key`).
    let vault: DataVault
    /// Request rate limits: per client and per address here, per holder inside the domain.
    public let limiter: RateLimiter
    /// Failed authentications, counted per address and audited at most once a minute each.
    public let authFailures: AuthFailures
    public let now: Now
    public let random: any RandomSource
    /// The admin token created by this start, or nil when the directory existed already.
    public let createdAdminToken: String?

    /// Opens `options.dataDirectory`, creating it on first start: database, `keys/`, the first
    /// signing key, data and holder-reference keys, and the admin client with its token in
    /// `admin-token` (0600). The crypto profile is fixed at first start.
    public static func open(_ options: BackendOptions) throws -> Backend {
        let directory = options.dataDirectory
        // Files this process makes are its own only (the database, its WAL, keys, checkpoints).
        umask(0o077)
        try directory.create()
        let pool = try Storage.open(at: directory.database)
        let widened = try directory.restrictPermissions()
        if !widened.isEmpty {
            options.logger.warning("the data directory was readable by others; set to owner only (0700 folders, 0600 files)",
                                   metadata: ["paths": "\(widened.prefix(10).map { $0.isEmpty ? "." : $0 })"])
        }
        let profile = try fixProfile(pool, asked: options.crypto, directory: directory)
        let suite = CryptoSuite(profile: profile)
        let keyring = try Keyring.load(pool, directory: directory, suite: suite, now: options.now)
        let dataKey = try directory.symmetricKey(directory.dataKey, random: options.random)
        let holderKey = try directory.symmetricKey(directory.holderKey, random: options.random)
        let audit = AuditLog(suite: suite, keyring: keyring, directory: directory, now: options.now,
                             logger: options.logger)
        let clients = ClientRegistry(pool: pool, suite: suite, audit: audit, random: options.random, now: options.now)
        let vault = DataVault(suite: suite, dataKey: dataKey)
        try KeySeparation.migrate(pool, from: .undivided(suite: suite, dataKey: dataKey), to: vault)
        let holderReference = HolderReference(suite: suite, key: holderKey)
        let writes = GroupCommit(pool: pool)
        let limiter = RateLimiter(limits: options.settings.rateLimits, now: options.now, writes: writes, audit: audit)
        let library = LicenceLibrary(pool: pool, writes: writes, vault: vault, holderReference: holderReference, audit: audit,
                                     random: options.random, now: options.now)
        let adminToken = try bootstrapAdmin(pool, directory: directory, suite: suite, audit: audit, options: options)
        let faceAuth = FaceAuth(pool: pool, writes: writes, holderReference: holderReference, audit: audit, random: options.random,
                                now: options.now, threshold: options.settings.faceThreshold, limiter: limiter)
        let approvalSystems = ApprovalSystemRegistry(pool: pool, vault: vault, audit: audit, random: options.random, now: options.now)
        let deliveries = Deliveries(pool: pool, writes: writes, vault: vault, suite: suite, audit: audit,
                                    random: options.random, now: options.now, settings: options.settings.delivery)
        let recentConsents = RecentConsents()
        let presentations = Presentations(pool: pool, writes: writes, keyring: keyring, audit: audit, random: options.random, now: options.now,
                                          region: options.settings.region, tokenLifetime: options.settings.tokenLifetime, limiter: limiter,
                                          recentConsents: recentConsents)
        let scans = Scans(library: library, keyring: keyring, masks: options.settings.masks, region: options.settings.region, delivery: deliveries.wake)
        return Backend(dataDirectory: directory, pool: pool, suite: suite, keyring: keyring, audit: audit,
                       auditTrail: AuditTrail(pool: pool, suite: suite, checkpointFile: directory.checkpointFile), clients: clients,
                       licenceTypes: LicenceTypeRegistry(pool: pool, audit: audit), library: library,
                       wallet: Wallet(library: library), masks: options.settings.masks,
                       approvalSystems: approvalSystems,
                       items: ItemRegistry(pool: pool, audit: audit, now: options.now),
                       faceAuth: faceAuth, agents: EnterpriseAgents(library: library, faceAuth: faceAuth, maximumDays: options.settings.maxAgentDays),
                       holderSessions: HolderSessions(pool: pool, writes: writes, faceAuth: faceAuth, library: library, suite: suite),
                       consents: Consents(library: library, faceAuth: faceAuth, recent: recentConsents),
                       presentations: presentations, scans: scans, deliveries: deliveries,
                       windowSessions: WindowSessions(scans: scans, presentations: presentations),
                       holderReference: holderReference, meta: MetaStore(pool: pool), vault: vault, limiter: limiter,
                       authFailures: AuthFailures(writes: writes, audit: audit, holderReference: holderReference, now: options.now),
                       now: options.now, random: options.random, createdAdminToken: adminToken)
    }

    /// Records the profile on first start; refuses a later start that asks for the other one.
    static func fixProfile(_ pool: DatabasePool, asked: CryptoProfile?, directory: DataDirectory) throws -> CryptoProfile {
        try pool.write { db in
            if let recorded = try MetaStore.value(of: "crypto_profile", db) {
                guard let profile = CryptoProfile(rawValue: recorded) else {
                    throw StartupError("the database records an unknown crypto profile '\(recorded)'")
                }
                if let asked, asked != profile {
                    throw StartupError("""
                        \(directory.url.path) was created with --crypto \(profile.rawValue); it cannot be opened with \
                        --crypto \(asked.rawValue). The profile is fixed at first start: drop the flag or use a new data directory.
                        """)
                }
                return profile
            }
            let profile = asked ?? .intl
            try MetaStore.insert("crypto_profile", profile.rawValue, db)
            return profile
        }
    }

    static func bootstrapAdmin(_ pool: DatabasePool, directory: DataDirectory, suite: CryptoSuite, audit: AuditLog,
                               options: BackendOptions) throws -> String? {
        let done = try pool.read { db in try MetaStore.value(of: "admin_bootstrapped", db) != nil }
        if done { return nil }
        let token: String
        if let given = options.adminToken {
            guard given.utf8.count >= 16, given.utf8.count <= 512, given.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
                throw StartupError("MSB_ADMIN_TOKEN must be 16 to 512 printable ASCII characters without spaces")
            }
            token = given
        } else {
            token = ClientRegistry.makeToken(options.random)
        }
        let id = options.random.identifier(prefix: "cli")
        let createdAt = Timestamp.string(options.now())
        try pool.write { db in
            try ClientRegistry.insert(db, id: id, try ClientRegistry.validate(.init(role: "admin", name: "bootstrap admin")),
                                      tokenHash: ClientRegistry.tokenHash(token, suite: suite), createdAt: createdAt)
            try MetaStore.insert("admin_bootstrapped", id, db)
            try audit.append(db, actor: .system, action: "client.created", object: "client:\(id)", detail: ["role": "admin"])
        }
        let file = directory.adminToken
        try? FileManager.default.removeItem(at: file)
        try directory.writeSecret(Array((token + "\n").utf8), to: file)
        return token
    }

    /// Whether the database answers (for `/readyz`).
    public func isReady() async -> Bool {
        (try? await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }) == 1
    }
}


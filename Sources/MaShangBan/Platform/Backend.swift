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
    /// 赋码入企: the joint-inspection window and the frequent-visit warning.
    public var visits = VisitRuleSettings()
    /// 码上问: the default time limit and when units are reminded.
    public var questions = QuestionSettings()
    /// 跨域通办: how long a peer region has to answer (`--peer-timeout`).
    public var peerTimeout: Duration = .seconds(3)
    /// How long a warm read snapshot serves scans and claims before a fresh one is taken
    /// (`WarmSnapshots`); nil: every scan works out its disclosure in its write unit.
    public var warmSnapshots: Duration? = .milliseconds(1000)

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
    /// How peer regions are called (跨域通办); by default none is ever reached.
    public var peerTransport: any PeerTransport

    public init(dataDirectory: DataDirectory, crypto: CryptoProfile? = nil, adminToken: String? = nil,
                settings: BackendSettings = BackendSettings(), now: @escaping Now = { Date() },
                random: any RandomSource = SystemRandom(), logger: Logger = Logger(label: "mashangban"),
                peerTransport: any PeerTransport = NoPeerTransport()) {
        self.peerTransport = peerTransport
        self.dataDirectory = dataDirectory
        self.crypto = crypto
        self.adminToken = adminToken
        self.settings = settings
        self.now = now
        self.random = random
        self.logger = logger
    }
}

/// The domain services, one stored property each: what the server wires its routes from
/// (each route group gets only the ones it calls) and the CLI uses. None of them hands out
/// the database pool or key bytes.
public struct Services: Sendable {
    public let clients: ClientRegistry
    public let signingKeys: SigningKeys
    public let auditTrail: AuditTrail
    public let licenceTypes: LicenceTypeRegistry
    public let library: LicenceLibrary
    public let wallet: Wallet
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
    /// 赋码入企: units, officials, protected enterprises, filings; visits and their codes.
    public let units: UnitRegistry
    public let visits: Visits
    /// 码上问: the working-day calendar, and questions on its clocks.
    public let calendars: WorkingCalendars
    public let questions: Questions
    /// 惠企政策 码上查.
    public let policies: Policies
    /// 跨域通办: peer regions and their pinned keys; region-to-region requests signed and checked.
    public let peers: PeerRegistry
    public let regionRequests: RegionRequests
    /// Witnessing: the checkpoint peers' witnesses read, and their cosignatures.
    public let witnessing: Witnessing
    /// "Who saw my data": a holder's disclosures with their audit proofs.
    public let disclosures: HolderDisclosures
    public let stats: Stats
    /// Request rate limits: per client and per address at the edge, per holder inside the domain.
    public let limiter: RateLimiter
    /// Failed authentications, counted per address and audited at most once a minute each.
    public let authFailures: AuthFailures
    /// Client addresses as keyed digests, for rate-limit and audit keys.
    public let holderReference: HolderReference
    /// Whether the database answers (`/readyz`).
    public let health: StorageHealth
    /// Facts fixed once per data directory (`serve --demo` records its sample data here).
    public let meta: MetaStore
    /// Display masks per field class.
    public let masks: MaskTable
    /// The clock every service reads.
    public let now: Now
}

/// An opened data directory: the database, the crypto profile, keys, the audit log and
/// the domain services built on them. The server and the CLI commands both start here;
/// outside this module only `services`, the directory and the profile are visible.
public struct Backend: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// A backend holds keys and the first admin token: printing one (a log line, a
    /// debugger's `po`) shows where its data lives and nothing else.
    public var description: String { "Backend(\(dataDirectory.url.path))" }
    public var debugDescription: String { description }

    public let dataDirectory: DataDirectory
    public let suite: CryptoSuite
    public let services: Services
    /// The admin token created by this start, or nil when the directory existed already.
    public let createdAdminToken: String?

    let transactions: Transactions
    let keyring: Keyring
    let audit: AuditLog
    /// Seals personal data at rest (keys derived from `DIR/keys/data.key`).
    let vault: DataVault
    let holderReference: HolderReference
    var now: Now { services.now }

    /// Opens `options.dataDirectory`, creating it on first start: database, `keys/`, the first
    /// signing key, data and holder-reference keys, and the admin client with its token in
    /// `admin-token` (0600). The crypto profile is fixed at first start.
    public static func open(_ options: BackendOptions) throws -> Backend {
        let directory = options.dataDirectory
        let (now, random, settings) = (options.now, options.random, options.settings)
        // Files this process makes are its own only (the database, its WAL, keys, checkpoints).
        umask(0o077)
        try directory.create()
        let transactions = try Transactions.open(at: directory.database, warmSnapshots: settings.warmSnapshots)
        let widened = try directory.restrictPermissions()
        if !widened.isEmpty {
            options.logger.warning("the data directory was readable by others; set to owner only (0700 folders, 0600 files)",
                                   metadata: ["paths": "\(widened.prefix(10).map { $0.isEmpty ? "." : $0 })"])
        }
        let profile = try fixProfile(transactions, asked: options.crypto, directory: directory)
        let suite = CryptoSuite(profile: profile)
        let keyring = try Keyring.load(transactions, directory: directory, suite: suite, now: now)
        let vaults = try KeyFiles.vaults(directory, suite: suite, random: random)
        let audit = AuditLog(suite: suite, keyring: keyring, directory: directory, region: settings.region, now: now, logger: options.logger)
        transactions.writes.wrapUnits { db, units in try audit.signingAhead(db, units: units) }
        let vault = vaults.current
        try KeySeparation.migrate(transactions, from: vaults.undivided, to: vault)
        let holderReference = try KeyFiles.holderReference(directory, suite: suite, random: random)
        let limiter = RateLimiter(limits: settings.rateLimits, now: now, transactions: transactions, audit: audit)
        let library = LicenceLibrary(transactions: transactions, vault: vault, holderReference: holderReference, audit: audit,
                                     random: random, now: now, masks: settings.masks)
        let adminToken = try bootstrapAdmin(transactions, directory: directory, suite: suite, audit: audit, options: options)
        let faceAuth = FaceAuth(transactions: transactions, holderReference: holderReference, audit: audit, random: random,
                                now: now, threshold: settings.faceThreshold, limiter: limiter)
        let regionRequests = RegionRequests(transactions: transactions, signing: keyring.active, now: now, random: random)
        let peerCalls = PeerCalls(regionRequests: regionRequests, transport: options.peerTransport, timeout: settings.peerTimeout)
        let deliveries = Deliveries(transactions: transactions, vault: vault, suite: suite, audit: audit,
                                    random: random, now: now, settings: settings.delivery, region: settings.region, peerCalls: peerCalls)
        let recentConsents = RecentConsents()
        let calendars = WorkingCalendars(transactions: transactions, audit: audit, now: now)
        let presentations = Presentations(transactions: transactions, keyring: keyring, audit: audit, random: random, now: now,
                                          region: settings.region, tokenLifetime: settings.tokenLifetime, limiter: limiter,
                                          recentConsents: recentConsents)
        let scans = Scans(transactions: transactions, library: library, vault: vault, audit: audit, random: random, now: now,
                          keyring: keyring, masks: settings.masks, region: settings.region, delivery: deliveries.wake, peerCalls: peerCalls)
        let services = Services(
            clients: ClientRegistry(transactions: transactions, suite: suite, audit: audit, random: random, now: now),
            signingKeys: SigningKeys(transactions: transactions, region: settings.region),
            auditTrail: AuditTrail(transactions: transactions, audit: audit, suite: suite, checkpointFile: directory.checkpointFile),
            licenceTypes: LicenceTypeRegistry(transactions: transactions, audit: audit, now: now),
            library: library,
            wallet: Wallet(transactions: transactions, library: library, holderReference: holderReference, audit: audit, now: now,
                           masks: settings.masks),
            approvalSystems: ApprovalSystemRegistry(transactions: transactions, vault: vault, audit: audit, random: random, now: now),
            items: ItemRegistry(transactions: transactions, audit: audit, now: now, region: settings.region),
            faceAuth: faceAuth,
            agents: EnterpriseAgents(transactions: transactions, library: library, faceAuth: faceAuth, holderReference: holderReference,
                                     audit: audit, now: now, maximumDays: settings.maxAgentDays),
            holderSessions: HolderSessions(transactions: transactions, faceAuth: faceAuth, library: library, holderReference: holderReference,
                                           audit: audit, random: random, now: now, suite: suite),
            consents: Consents(transactions: transactions, faceAuth: faceAuth, vault: vault, holderReference: holderReference, audit: audit,
                               random: random, now: now, recent: recentConsents),
            presentations: presentations, scans: scans, deliveries: deliveries,
            windowSessions: WindowSessions(scans: scans, presentations: presentations, transactions: transactions, vault: vault,
                                           audit: audit, random: random, now: now),
            units: UnitRegistry(transactions: transactions, vault: vault, holderReference: holderReference, audit: audit, random: random,
                                now: now),
            visits: Visits(transactions: transactions, vault: vault, holderReference: holderReference, faceAuth: faceAuth, keyring: keyring,
                           audit: audit, notices: Notices(random: random, wake: deliveries.wake), random: random, now: now,
                           region: settings.region, settings: settings.visits),
            calendars: calendars,
            questions: Questions(transactions: transactions, vault: vault, holderReference: holderReference, audit: audit, calendars: calendars,
                                 notices: Notices(random: random, wake: deliveries.wake), random: random, now: now, settings: settings.questions),
            policies: Policies(transactions: transactions, audit: audit, now: now),
            peers: PeerRegistry(transactions: transactions, audit: audit, now: now, region: settings.region, regionRequests: regionRequests),
            regionRequests: regionRequests,
            witnessing: Witnessing(transactions: transactions, suite: suite, now: now),
            disclosures: HolderDisclosures(transactions: transactions, holderReference: holderReference, suite: suite),
            stats: Stats(transactions: transactions, now: now),
            limiter: limiter,
            authFailures: AuthFailures(transactions: transactions, audit: audit, holderReference: holderReference, now: now),
            holderReference: holderReference,
            health: StorageHealth(transactions: transactions),
            meta: MetaStore(transactions: transactions),
            masks: settings.masks,
            now: now)
        return Backend(dataDirectory: directory, suite: suite, services: services, createdAdminToken: adminToken,
                       transactions: transactions, keyring: keyring, audit: audit, vault: vault,
                       holderReference: holderReference)
    }

    /// Records the profile on first start; refuses a later start that asks for the other one.
    static func fixProfile(_ transactions: Transactions, asked: CryptoProfile?, directory: DataDirectory) throws -> CryptoProfile {
        try transactions.writeNow { db in
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

    static func bootstrapAdmin(_ transactions: Transactions, directory: DataDirectory, suite: CryptoSuite, audit: AuditLog,
                               options: BackendOptions) throws -> String? {
        let done = try transactions.readNow { db in try MetaStore.value(of: "admin_bootstrapped", db) != nil }
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
        try transactions.writeNow { db in
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
}

import ArgumentParser
import Foundation
import Logging
import MaShangBan
import MaShangBanDemo

/// Settings of `mashangban serve`, in one place: each is declared once as a flag (`Flags`,
/// whose help shows the default from here), read once from the flag or its `MSB_*`
/// environment variable (`resolve`: flags override the environment, which overrides the
/// defaults below), and handed on as this value. The domain's own settings are one
/// `BackendSettings`, passed to the backend as they are.
struct ServeConfiguration: Sendable, Equatable {
    var dataDirectory = "./data"
    var host = "127.0.0.1"
    var port = 8080
    /// nil: the profile recorded in the data directory, or `intl` on first start.
    var crypto: CryptoProfile?
    /// Region, token lifetime, face threshold, agent days, delivery, rate limits.
    var backend = BackendSettings()
    /// Proxies whose `X-Forwarded-For` names the client (`--trusted-proxy CIDR`).
    var trustedProxies = TrustedProxies()
    var idleTimeout = 60
    /// Seconds from a request's first byte to the end of its head, and from the head to the
    /// end of its body (plus a second per 64 KiB received).
    var headerTimeout = 10
    var bodyTimeout = 30
    var maxConnections = 1024
    var maxConnectionsPerAddress = 256
    var maxHeaderBytes = 16 * 1024
    var checkpointSeconds = 10
    /// Seconds a peer region has to answer (`--peer-timeout`).
    var peerTimeoutSeconds = 3
    var peerTimeout: Duration { .seconds(peerTimeoutSeconds) }
    /// Seconds between reads of the peers' keys (`--peer-refresh`).
    var peerRefreshSeconds = 600
    var logLevel = "info"
    /// Load the demo data and serve the stand-in approval system (`--demo`, `MSB_DEMO=1`).
    var demo = false
    /// With `demo`: peer regions to pin on first sight and offer cross-region items to
    /// (`--peer REGION=URL`, `MSB_PEERS`): a two-region demo on one machine.
    var demoPeers: [Demo.Peer] = []
    /// `MSB_ADMIN_TOKEN`: the admin token to create on first start (environment only, so it
    /// does not show in `ps`).
    var adminToken: String?

    /// The defaults, for the flags' help.
    static let defaults = ServeConfiguration()

    /// The flags as given on the command line (nil = not given). Each flag's environment
    /// variable is `MSB_` + its name in upper case with `-` as `_` (lists: plural).
    struct Flags: ParsableArguments {
        private static var d: ServeConfiguration { ServeConfiguration.defaults }

        @Option(help: "Data directory (env MSB_DATA; default \(d.dataDirectory)).") var data: String?
        @Option(help: "Address to bind (env MSB_HOST; default \(d.host)).") var host: String?
        @Option(help: "Port; 0 picks a free one (env MSB_PORT; default \(d.port)).") var port: Int?
        @Option(help: "Crypto profile, fixed at first start: intl or gm (env MSB_CRYPTO; default intl).") var crypto: String?
        @Option(help: "6-digit region code, the `iss` of QR tokens (env MSB_REGION; default \(d.backend.region)).")
        var region: String?
        @Option(name: .customLong("token-ttl"),
                help: "QR token lifetime in seconds, 30-600 (env MSB_TOKEN_TTL; default \(d.backend.tokenLifetime)).")
        var tokenTTL: Int?
        @Option(name: .customLong("face-threshold"),
                help: "Lowest face-recognition score accepted, 0-1 (env MSB_FACE_THRESHOLD; default \(d.backend.faceThreshold)).")
        var faceThreshold: Double?
        @Option(name: .customLong("max-agent-days"),
                help: "Furthest an agent authorisation's valid_until may lie ahead, in days (env MSB_MAX_AGENT_DAYS; default \(d.backend.maxAgentDays)).")
        var maxAgentDays: Int?
        @Option(name: .customLong("joint-window-days"),
                help: "Days within which two inspections of a matter are duplicates (env MSB_JOINT_WINDOW_DAYS; default \(d.backend.visits.jointWindowDays)).")
        var jointWindowDays: Int?
        @Option(name: .customLong("frequent-visits"),
                help: "More visits than this to one enterprise in 30 days is a warning (env MSB_FREQUENT_VISITS; default \(d.backend.visits.frequentVisits)).")
        var frequentVisits: Int?
        @Option(name: .customLong("remind-before"),
                help: "Hours before a question's deadline its unit is reminded (env MSB_REMIND_BEFORE; default \(d.backend.questions.remindBeforeHours)).")
        var remindBefore: Int?
        @Option(name: .customLong("trusted-proxy"),
                help: "A proxy (IP or CIDR) whose X-Forwarded-For names the client; repeatable (env MSB_TRUSTED_PROXIES, ','-separated; default none).")
        var trustedProxies: [String] = []
        @Option(name: .customLong("delivery-attempts"),
                help: "Webhook attempts before a submission is dead (env MSB_DELIVERY_ATTEMPTS; default \(d.backend.delivery.maxAttempts)).")
        var deliveryAttempts: Int?
        @Option(name: .customLong("delivery-timeout"),
                help: "Seconds for one webhook request (env MSB_DELIVERY_TIMEOUT; default \(d.backend.delivery.requestTimeout.components.seconds)).")
        var deliveryTimeout: Int?
        @Option(name: .customLong("delivery-concurrency"),
                help: "Webhook requests in flight per approval system (env MSB_DELIVERY_CONCURRENCY; default \(d.backend.delivery.concurrencyPerSystem)).")
        var deliveryConcurrency: Int?
        @Option(name: .customLong("delivery-retry-max"),
                help: "Longest wait between webhook attempts, seconds (env MSB_DELIVERY_RETRY_MAX; default \(Int(d.backend.delivery.retryMax))).")
        var deliveryRetryMax: Int?
        @Option(name: .customLong("rate-limit"), help: ArgumentHelp(
            "Rate limit SCOPE=N/s|N/min|N/h[,BURST] or SCOPE=off, repeatable. Scopes: admin, issuer, app, terminal (per client), address, "
                + "challenges, consents, codes (per holder); all=off lifts them (env MSB_RATE_LIMITS, ';'-separated).",
            valueName: "scope=spec"))
        var rateLimits: [String] = []
        @Option(name: .customLong("idle-timeout"),
                help: "Seconds before an idle HTTP connection is closed (env MSB_IDLE_TIMEOUT; default \(d.idleTimeout)).")
        var idleTimeout: Int?
        @Option(name: .customLong("header-timeout"),
                help: "Seconds from a request's first byte to the end of its headers (env MSB_HEADER_TIMEOUT; default \(d.headerTimeout)).")
        var headerTimeout: Int?
        @Option(name: .customLong("body-timeout"),
                help: "Seconds for a request body, plus one per 64 KiB received (env MSB_BODY_TIMEOUT; default \(d.bodyTimeout)).")
        var bodyTimeout: Int?
        @Option(name: .customLong("max-connections-per-address"),
                help: "Open connections per source address (env MSB_MAX_CONNECTIONS_PER_ADDRESS; default \(d.maxConnectionsPerAddress)).")
        var maxConnectionsPerAddress: Int?
        @Option(name: .customLong("max-connections"),
                help: "Maximum open connections (env MSB_MAX_CONNECTIONS; default \(d.maxConnections)).")
        var maxConnections: Int?
        @Option(name: .customLong("peer-timeout"),
                help: "Seconds a peer region has to answer (env MSB_PEER_TIMEOUT; default \(d.peerTimeoutSeconds)).")
        var peerTimeout: Int?
        @Option(name: .customLong("warm-snapshots"),
                help: "Milliseconds a warm read snapshot serves scans and claims; 0: off (env MSB_WARM_SNAPSHOTS; default 1000).")
        var warmSnapshots: Int?
        @Option(name: .customLong("peer-refresh"),
                help: "Seconds between reads of the peer regions' keys (env MSB_PEER_REFRESH; default \(d.peerRefreshSeconds)).")
        var peerRefresh: Int?
        @Option(name: .customLong("max-header-bytes"),
                help: "Maximum size of request headers (env MSB_MAX_HEADER_BYTES; default \(d.maxHeaderBytes)).")
        var maxHeaderBytes: Int?
        @Flag(help: "Load demo data (once) and serve a stand-in approval system; prints a walkthrough (env MSB_DEMO=1).")
        var demo = false
        @Option(name: .customLong("peer"),
                help: "With --demo: a peer region, REGION=URL, whose key the demo pins on first sight (repeatable; env MSB_PEERS, comma-separated).")
        var peers: [String] = []
        @Option(name: .customLong("log-level"),
                help: "trace, debug, info, notice, warning, error or critical (env MSB_LOG_LEVEL; default \(d.logLevel)).")
        var logLevel: String?
    }

    struct Invalid: Error, CustomStringConvertible {
        let description: String
    }

    /// A flag's value, else its environment variable's (empty counts as unset).
    private struct Source {
        let environment: [String: String]

        static func variable(_ flag: String) -> String { "MSB_" + flag.uppercased().replacingOccurrences(of: "-", with: "_") }

        func text(_ given: String?, _ flag: String) -> String? {
            given ?? environment[Self.variable(flag)].flatMap { $0.isEmpty ? nil : $0 }
        }

        func number(_ given: Int?, _ flag: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let raw = text(given.map(String.init), flag) else { return nil }
            guard let value = Int(raw), range.contains(value) else {
                throw Invalid(description: "--\(flag) / \(Self.variable(flag)) must be a whole number from \(range.lowerBound) to "
                    + "\(range.upperBound) (got '\(raw)')")
            }
            return value
        }

        /// A repeatable flag's values, else its (plural) variable's, split at `separators`.
        func list(_ given: [String], _ variable: String, separators: Set<Character>) -> [String] {
            guard given.isEmpty else { return given }
            return (environment[variable] ?? "").split(whereSeparator: { separators.contains($0) })
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
    }

    static func resolve(flags: Flags, environment: [String: String]) throws -> ServeConfiguration {
        var c = ServeConfiguration()
        let source = Source(environment: environment)
        if let v = source.text(flags.data, "data") { c.dataDirectory = v }
        if let v = source.text(flags.host, "host") { c.host = v }
        if let v = try source.number(flags.port, "port", 0...65535) { c.port = v }
        if let v = source.text(flags.crypto, "crypto") {
            guard let profile = CryptoProfile(rawValue: v) else { throw Invalid(description: "--crypto / MSB_CRYPTO must be intl or gm (got '\(v)')") }
            c.crypto = profile
        }
        if let v = source.text(flags.region, "region") {
            guard v.count == 6, v.allSatisfy(\.isASCIIDigit) else {
                throw Invalid(description: "--region / MSB_REGION must be a 6-digit region code (got '\(v)')")
            }
            c.backend.region = v
        }
        if let v = try source.number(flags.tokenTTL, "token-ttl", 30...600) { c.backend.tokenLifetime = v }
        if let raw = source.text(flags.faceThreshold.map { String($0) }, "face-threshold") {
            guard let v = Double(raw), (0...1).contains(v) else {
                throw Invalid(description: "--face-threshold / MSB_FACE_THRESHOLD must be a number from 0 to 1 (got '\(raw)')")
            }
            c.backend.faceThreshold = v
        }
        for proxy in source.list(flags.trustedProxies, "MSB_TRUSTED_PROXIES", separators: [";", ","]) {
            guard c.trustedProxies.add(proxy) else {
                throw Invalid(description: "--trusted-proxy / MSB_TRUSTED_PROXIES must be an IP address or CIDR range (got '\(proxy)')")
            }
        }
        if let v = try source.number(flags.maxAgentDays, "max-agent-days", 1...3660) { c.backend.maxAgentDays = v }
        if let v = try source.number(flags.jointWindowDays, "joint-window-days", 0...366) { c.backend.visits.jointWindowDays = v }
        if let v = try source.number(flags.frequentVisits, "frequent-visits", 1...366) { c.backend.visits.frequentVisits = v }
        if let v = try source.number(flags.remindBefore, "remind-before", 0...72) { c.backend.questions.remindBeforeHours = v }
        if let v = try source.number(flags.deliveryAttempts, "delivery-attempts", 1...1000) { c.backend.delivery.maxAttempts = v }
        if let v = try source.number(flags.deliveryTimeout, "delivery-timeout", 1...300) { c.backend.delivery.requestTimeout = .seconds(v) }
        if let v = try source.number(flags.deliveryConcurrency, "delivery-concurrency", 1...64) {
            c.backend.delivery.concurrencyPerSystem = v
        }
        if let v = try source.number(flags.deliveryRetryMax, "delivery-retry-max", 1...86_400) { c.backend.delivery.retryMax = Double(v) }
        for setting in source.list(flags.rateLimits, "MSB_RATE_LIMITS", separators: [";"]) {
            try Self.applyRateLimit(setting, to: &c.backend.rateLimits)
        }
        if let v = try source.number(flags.peerRefresh, "peer-refresh", 10...86_400) { c.peerRefreshSeconds = v }
        if let v = try source.number(flags.peerTimeout, "peer-timeout", 1...60) { c.peerTimeoutSeconds = v }
        if let v = try source.number(flags.warmSnapshots, "warm-snapshots", 0...10_000) { c.backend.warmSnapshots = v == 0 ? nil : .milliseconds(v) }
        if let v = try source.number(flags.idleTimeout, "idle-timeout", 1...3600) { c.idleTimeout = v }
        if let v = try source.number(flags.maxConnections, "max-connections", 1...1_000_000) { c.maxConnections = v }
        if let v = try source.number(flags.headerTimeout, "header-timeout", 1...600) { c.headerTimeout = v }
        if let v = try source.number(flags.bodyTimeout, "body-timeout", 1...3600) { c.bodyTimeout = v }
        if let v = try source.number(flags.maxConnectionsPerAddress, "max-connections-per-address", 1...1_000_000) {
            c.maxConnectionsPerAddress = v
        }
        if let v = try source.number(flags.maxHeaderBytes, "max-header-bytes", 1024...1_048_576) { c.maxHeaderBytes = v }
        if let v = source.text(flags.logLevel, "log-level") {
            guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(v) else {
                throw Invalid(description: "--log-level / MSB_LOG_LEVEL must be trace, debug, info, notice, warning, error or critical")
            }
            c.logLevel = v
        }
        c.demo = flags.demo || ["1", "true", "yes"].contains(environment["MSB_DEMO"]?.lowercased() ?? "")
        for peer in source.list(flags.peers, "MSB_PEERS", separators: [","]) {
            let parts = peer.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, parts[0].count == 6, parts[0].allSatisfy(\.isASCIIDigit), parts[0] != c.backend.region,
                  let url = URLComponents(string: parts[1]), url.scheme == "http" || url.scheme == "https", url.host?.isEmpty == false
            else {
                throw Invalid(description: "--peer / MSB_PEERS takes REGION=URL, a 6-digit region other than this one and an http(s) URL (got '\(peer)')")
            }
            c.demoPeers.append(Demo.Peer(region: parts[0], url: parts[1].hasSuffix("/") ? String(parts[1].dropLast()) : parts[1]))
        }
        if !c.demoPeers.isEmpty, !c.demo {
            throw Invalid(description: "--peer is for --demo, which pins a peer's key on first sight; a real deployment pins the fingerprints "
                + "it checked with POST /v1/peers")
        }
        c.adminToken = environment["MSB_ADMIN_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        return c
    }
}

extension ServeConfiguration {
    /// How the backend is opened for these settings (the server and the tests both use it).
    func backendOptions(logger: Logger, now: @escaping Now = { Date() }) -> BackendOptions {
        var settings = backend
        settings.peerTimeout = peerTimeout
        return BackendOptions(dataDirectory: DataDirectory(path: dataDirectory), crypto: crypto, adminToken: adminToken,
                              settings: settings, now: now, logger: logger, peerTransport: AsyncHTTPClientTransport.peers)
    }

    static let rateScopes = ["admin", "issuer", "app", "terminal", "address", "challenges", "consents", "codes", "all"]

    /// One `--rate-limit` setting: `SCOPE=N/s|N/min|N/h[,BURST]` or `SCOPE=off`; `all=off` lifts every limit.
    static func applyRateLimit(_ setting: String, to limits: inout RateLimits) throws {
        let parts = setting.split(separator: "=", maxSplits: 1).map(String.init)
        let invalid = Invalid(description: "--rate-limit / MSB_RATE_LIMITS takes SCOPE=N/s, N/min or N/h (optionally ,BURST) or SCOPE=off, "
            + "with SCOPE one of \(rateScopes.joined(separator: ", ")) (got '\(setting)')")
        guard parts.count == 2, rateScopes.contains(parts[0]) else { throw invalid }
        let limit: RateLimit?
        if parts[1] == "off" { limit = nil } else {
            guard let parsed = RateLimit(parts[1]), parts[0] != "all" else { throw invalid }
            limit = parsed
        }
        switch parts[0] {
        case "all": limits = .unlimited
        case "address": limits.perAddress = limit
        case "challenges": limits.challengesPerHolder = limit
        case "consents": limits.consentsPerHolder = limit
        case "codes": limits.codesPerHolder = limit
        default: if let role = ClientRole(rawValue: parts[0]) { limits.perRole[role] = limit }
        }
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

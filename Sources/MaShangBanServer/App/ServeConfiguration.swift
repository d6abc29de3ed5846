import Foundation
import Logging
import MaShangBan

/// Settings of `mashangban serve`, resolved once at the edge: command-line flags override
/// `MSB_*` environment variables, which override the defaults below.
struct ServeConfiguration: Sendable, Equatable {
    var dataDirectory = "./data"
    var host = "127.0.0.1"
    var port = 8080
    /// nil: the profile recorded in the data directory, or `intl` on first start.
    var crypto: CryptoProfile?
    var region = "430400"
    var tokenTTL = 120
    /// The lowest face-recognition score accepted (0–1).
    var faceThreshold = 0.80
    /// The furthest an agent authorisation may run, in days.
    var maxAgentDays = EnterpriseAgents.defaultMaximumDays
    /// Proxies whose `X-Forwarded-For` names the client (`--trusted-proxy CIDR`).
    var trustedProxies = TrustedProxies()
    var delivery = DeliverySettings()
    var rateLimits = RateLimits.standard
    var idleTimeout = 60
    /// Seconds from a request's first byte to the end of its head, and from the head to the
    /// end of its body (plus a second per 64 KiB received).
    var headerTimeout = 10
    var bodyTimeout = 30
    var maxConnections = 1024
    var maxConnectionsPerAddress = 256
    var maxHeaderBytes = 16 * 1024
    var checkpointSeconds = 10
    var logLevel = "info"
    /// Load the demo data and serve the stand-in approval system (`--demo`, `MSB_DEMO=1`).
    var demo = false
    /// `MSB_ADMIN_TOKEN`: the admin token to create on first start (environment only, so it
    /// does not show in `ps`).
    var adminToken: String?

    /// The flags as given on the command line (nil = not given).
    struct Flags: Sendable {
        var data: String?
        var host: String?
        var port: Int?
        var crypto: String?
        var region: String?
        var tokenTTL: Int?
        var faceThreshold: Double?
        var maxAgentDays: Int?
        /// `--trusted-proxy CIDR`, repeatable.
        var trustedProxies: [String] = []
        var deliveryAttempts: Int?
        var deliveryTimeout: Int?
        var deliveryConcurrency: Int?
        var deliveryRetryMax: Int?
        /// `--rate-limit SCOPE=SPEC`, repeatable.
        var rateLimits: [String] = []
        var idleTimeout: Int?
        var headerTimeout: Int?
        var bodyTimeout: Int?
        var maxConnections: Int?
        var maxConnectionsPerAddress: Int?
        var maxHeaderBytes: Int?
        var logLevel: String?
        var demo = false
    }

    struct Invalid: Error, CustomStringConvertible {
        let description: String
    }

    static func resolve(flags: Flags, environment: [String: String]) throws -> ServeConfiguration {
        var c = ServeConfiguration()
        func pick(_ flag: String?, _ key: String) -> String? { flag ?? environment[key].flatMap { $0.isEmpty ? nil : $0 } }
        func number(_ flag: Int?, _ key: String, _ range: ClosedRange<Int>, _ name: String) throws -> Int? {
            let raw = flag.map(String.init) ?? environment[key]
            guard let raw, !raw.isEmpty else { return nil }
            guard let value = Int(raw), range.contains(value) else {
                throw Invalid(description: "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound) (got '\(raw)')")
            }
            return value
        }
        if let v = pick(flags.data, "MSB_DATA") { c.dataDirectory = v }
        if let v = pick(flags.host, "MSB_HOST") { c.host = v }
        if let v = try number(flags.port, "MSB_PORT", 0...65535, "--port / MSB_PORT") { c.port = v }
        if let v = pick(flags.crypto, "MSB_CRYPTO") {
            guard let profile = CryptoProfile(rawValue: v) else { throw Invalid(description: "--crypto / MSB_CRYPTO must be intl or gm (got '\(v)')") }
            c.crypto = profile
        }
        if let v = pick(flags.region, "MSB_REGION") {
            guard v.count == 6, v.allSatisfy(\.isASCIIDigit) else {
                throw Invalid(description: "--region / MSB_REGION must be a 6-digit region code (got '\(v)')")
            }
            c.region = v
        }
        if let v = try number(flags.tokenTTL, "MSB_TOKEN_TTL", 30...600, "--token-ttl / MSB_TOKEN_TTL") { c.tokenTTL = v }
        if let raw = flags.faceThreshold.map({ String($0) }) ?? environment["MSB_FACE_THRESHOLD"].flatMap({ $0.isEmpty ? nil : $0 }) {
            guard let v = Double(raw), (0...1).contains(v) else {
                throw Invalid(description: "--face-threshold / MSB_FACE_THRESHOLD must be a number from 0 to 1 (got '\(raw)')")
            }
            c.faceThreshold = v
        }
        let proxies = flags.trustedProxies.isEmpty
            ? (environment["MSB_TRUSTED_PROXIES"] ?? "").split(whereSeparator: { $0 == ";" || $0 == "," }).map { $0.trimmingCharacters(in: .whitespaces) }
            : flags.trustedProxies
        for proxy in proxies where !proxy.isEmpty {
            guard c.trustedProxies.add(proxy) else {
                throw Invalid(description: "--trusted-proxy / MSB_TRUSTED_PROXIES must be an IP address or CIDR range (got '\(proxy)')")
            }
        }
        if let v = try number(flags.maxAgentDays, "MSB_MAX_AGENT_DAYS", 1...3660, "--max-agent-days / MSB_MAX_AGENT_DAYS") { c.maxAgentDays = v }
        if let v = try number(flags.deliveryAttempts, "MSB_DELIVERY_ATTEMPTS", 1...1000, "--delivery-attempts / MSB_DELIVERY_ATTEMPTS") {
            c.delivery.maxAttempts = v
        }
        if let v = try number(flags.deliveryTimeout, "MSB_DELIVERY_TIMEOUT", 1...300, "--delivery-timeout / MSB_DELIVERY_TIMEOUT") {
            c.delivery.requestTimeout = .seconds(v)
        }
        if let v = try number(flags.deliveryConcurrency, "MSB_DELIVERY_CONCURRENCY", 1...64,
                              "--delivery-concurrency / MSB_DELIVERY_CONCURRENCY") {
            c.delivery.concurrencyPerSystem = v
        }
        if let v = try number(flags.deliveryRetryMax, "MSB_DELIVERY_RETRY_MAX", 1...86_400, "--delivery-retry-max / MSB_DELIVERY_RETRY_MAX") {
            c.delivery.retryMax = Double(v)
        }
        let rateSettings = flags.rateLimits.isEmpty
            ? (environment["MSB_RATE_LIMITS"] ?? "").split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            : flags.rateLimits
        for setting in rateSettings where !setting.isEmpty { try Self.applyRateLimit(setting, to: &c.rateLimits) }
        if let v = try number(flags.idleTimeout, "MSB_IDLE_TIMEOUT", 1...3600, "--idle-timeout / MSB_IDLE_TIMEOUT") { c.idleTimeout = v }
        if let v = try number(flags.maxConnections, "MSB_MAX_CONNECTIONS", 1...1_000_000, "--max-connections / MSB_MAX_CONNECTIONS") {
            c.maxConnections = v
        }
        if let v = try number(flags.headerTimeout, "MSB_HEADER_TIMEOUT", 1...600, "--header-timeout / MSB_HEADER_TIMEOUT") { c.headerTimeout = v }
        if let v = try number(flags.bodyTimeout, "MSB_BODY_TIMEOUT", 1...3600, "--body-timeout / MSB_BODY_TIMEOUT") { c.bodyTimeout = v }
        if let v = try number(flags.maxConnectionsPerAddress, "MSB_MAX_CONNECTIONS_PER_ADDRESS", 1...1_000_000,
                              "--max-connections-per-address / MSB_MAX_CONNECTIONS_PER_ADDRESS") {
            c.maxConnectionsPerAddress = v
        }
        if let v = try number(flags.maxHeaderBytes, "MSB_MAX_HEADER_BYTES", 1024...1_048_576, "--max-header-bytes / MSB_MAX_HEADER_BYTES") {
            c.maxHeaderBytes = v
        }
        if let v = pick(flags.logLevel, "MSB_LOG_LEVEL") {
            guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(v) else {
                throw Invalid(description: "--log-level / MSB_LOG_LEVEL must be trace, debug, info, notice, warning, error or critical")
            }
            c.logLevel = v
        }
        c.demo = flags.demo || ["1", "true", "yes"].contains(environment["MSB_DEMO"]?.lowercased() ?? "")
        c.adminToken = environment["MSB_ADMIN_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        return c
    }
}

extension ServeConfiguration {
    /// How the backend is opened for these settings (the server and the tests both use it).
    func backendOptions(logger: Logger, now: @escaping Now = { Date() }) -> BackendOptions {
        var options = BackendOptions(dataDirectory: DataDirectory(path: dataDirectory), crypto: crypto, adminToken: adminToken,
                                     now: now, logger: logger)
        options.region = region
        options.tokenLifetime = tokenTTL
        options.faceThreshold = faceThreshold
        options.maxAgentDays = maxAgentDays
        options.delivery = delivery
        options.rateLimits = rateLimits
        return options
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

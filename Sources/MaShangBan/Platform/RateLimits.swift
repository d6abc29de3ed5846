import Foundation
import GRDB

/// A token bucket's shape: up to `burst` requests at once, refilled at `perSecond`.
public struct RateLimit: Sendable, Equatable, CustomStringConvertible {
    public var perSecond: Double
    public var burst: Double

    public init(perSecond: Double, burst: Double) {
        (self.perSecond, self.burst) = (perSecond, burst)
    }

    public static func perMinute(_ count: Double, burst: Double? = nil) -> RateLimit {
        RateLimit(perSecond: count / 60, burst: burst ?? count)
    }

    /// `N/s`, `N/min` or `N/h`, with an optional burst after a comma (`20/min,5`); the burst
    /// defaults to N. Used by the `--rate-*` flags.
    public init?(_ text: String) {
        let parts = text.split(separator: ",", maxSplits: 1).map(String.init)
        let rate = parts[0].split(separator: "/").map(String.init)
        guard rate.count == 2, let count = Double(rate[0]), count > 0, count.isFinite else { return nil }
        let seconds: Double
        switch rate[1] {
        case "s": seconds = 1
        case "min": seconds = 60
        case "h": seconds = 3600
        default: return nil
        }
        let burst = parts.count == 2 ? Double(parts[1]) : count
        guard let burst, burst >= 1, burst.isFinite else { return nil }
        self.init(perSecond: count / seconds, burst: burst)
    }

    public var description: String { String(format: "%g/s, burst %g", perSecond, burst) }
}

/// What is limited, and how much (docs/DESIGN.md "Bounded everything"). nil means unlimited.
public struct RateLimits: Sendable, Equatable {
    /// Every request of a client, by its role (checked once the bearer token is resolved).
    public var perRole: [ClientRole: RateLimit]
    /// Every request from one source address, before authentication (token guessing).
    public var perAddress: RateLimit?
    /// Face-check challenges per holder and app client: brute-forcing a face check must be
    /// slow, and one app cannot use up a holder's challenges at another.
    public var challengesPerHolder: RateLimit?
    /// Consents granted per holder and app client, counted once the face check has passed.
    public var consentsPerHolder: RateLimit?
    /// Codes issued per holder (一码出示), whichever app asks.
    public var codesPerHolder: RateLimit?

    public init(perRole: [ClientRole: RateLimit] = [:], perAddress: RateLimit? = nil, challengesPerHolder: RateLimit? = nil,
                consentsPerHolder: RateLimit? = nil, codesPerHolder: RateLimit? = nil) {
        (self.perRole, self.perAddress, self.challengesPerHolder, self.consentsPerHolder, self.codesPerHolder) =
            (perRole, perAddress, challengesPerHolder, consentsPerHolder, codesPerHolder)
    }

    /// The defaults: a terminal scans at most 10 codes a second (a person takes longer than
    /// that at a window); the app backend speaks for many holders, so its own limit is wide
    /// and the per-holder limits do the work.
    public static let standard = RateLimits(
        perRole: [
            .terminal: RateLimit(perSecond: 10, burst: 20),
            .app: RateLimit(perSecond: 200, burst: 400),
            .issuer: RateLimit(perSecond: 20, burst: 40),
            .admin: RateLimit(perSecond: 50, burst: 100),
            .unit: RateLimit(perSecond: 20, burst: 40),
            .enterprise: RateLimit(perSecond: 10, burst: 20),
            .supervisor: RateLimit(perSecond: 20, burst: 40),
        ],
        perAddress: RateLimit(perSecond: 500, burst: 1000),
        challengesPerHolder: .perMinute(10),
        consentsPerHolder: .perMinute(10),
        codesPerHolder: .perMinute(20))

    public static let unlimited = RateLimits()
}

/// What a bucket counts.
public enum RateScope: String, Sendable {
    case client, address, challenge, consent, code
}

/// The token buckets, in memory (one process owns a data directory). A refusal is 429
/// `rate_limited` with `Retry-After`; trips are audited as `rate_limit.tripped`, at most one
/// record per bucket a minute carrying the number of trips since the last one, under a
/// subject that names no person (a client id, a holder reference, a keyed digest of an address).
public final class RateLimiter: Sendable {
    public let limits: RateLimits
    let now: Now
    let transactions: Transactions
    let audit: AuditLog
    private let buckets = Locked<[String: Bucket]>([:])
    /// Past this many buckets, the full (idle) ones are dropped; a full bucket is no different from a missing one.
    static let maximumBuckets = 100_000
    static let reportInterval: TimeInterval = 60

    struct Bucket {
        var tokens: Double
        var at: Date
        var trips = 0
        var reportedAt: Date?
    }

    init(limits: RateLimits, now: @escaping Now, transactions: Transactions, audit: AuditLog) {
        (self.limits, self.now, self.transactions, self.audit) = (limits, now, transactions, audit)
    }

    /// Takes one request from `subject`'s bucket in `scope`, or throws 429 `rate_limited`.
    /// With `spend` false it only checks that one is left (the caller spends it with `spend`
    /// once the request has passed the checks that should count). `subject` must already
    /// name no person (see the type's note).
    public func take(_ scope: RateScope, _ subject: String, limit: RateLimit?, spend: Bool = true) async throws {
        guard let limit else { return }
        let instant = now()
        let key = "\(scope.rawValue):\(subject)"
        let (wait, report) = buckets.withLock { buckets -> (Double?, Int?) in
            var bucket = buckets[key] ?? Bucket(tokens: limit.burst, at: instant)
            bucket.tokens = min(limit.burst, bucket.tokens + max(0, instant.timeIntervalSince(bucket.at)) * limit.perSecond)
            bucket.at = instant
            if bucket.tokens >= 1 {
                if spend { bucket.tokens -= 1 }
                Self.store(bucket, key, in: &buckets)
                return (nil, nil)
            }
            bucket.trips += 1
            var report: Int?
            if bucket.reportedAt.map({ instant.timeIntervalSince($0) >= Self.reportInterval }) ?? true {
                report = bucket.trips
                bucket.trips = 0
                bucket.reportedAt = instant
            }
            Self.store(bucket, key, in: &buckets)
            return ((1 - bucket.tokens) / limit.perSecond, report)
        }
        guard let wait else { return }
        if let trips = report {
            let audit = self.audit
            _ = try await transactions.unit { db in
                try audit.append(db, actor: .system, action: "rate_limit.tripped", object: key,
                                 detail: ["scope": .string(scope.rawValue), "trips": .int(Int64(trips))])
            }
        }
        throw MSBError.rateLimited(retryAfter: Int(wait.rounded(.up)))
    }

    /// Spends one request from a bucket checked with `take(…, spend: false)`, never below empty.
    public func spend(_ scope: RateScope, _ subject: String, limit: RateLimit?) {
        guard let limit else { return }
        let instant = now()
        let key = "\(scope.rawValue):\(subject)"
        buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: limit.burst, at: instant)
            bucket.tokens = min(limit.burst, bucket.tokens + max(0, instant.timeIntervalSince(bucket.at)) * limit.perSecond)
            bucket.at = instant
            bucket.tokens = max(0, bucket.tokens - 1)
            Self.store(bucket, key, in: &buckets)
        }
    }

    private static func store(_ bucket: Bucket, _ key: String, in buckets: inout [String: Bucket]) {
        buckets[key] = bucket
        if buckets.count > maximumBuckets {
            // Keep the buckets that are limiting someone; the rest would be full anyway soon.
            buckets = buckets.filter { $0.value.tokens < 1 || $0.value.trips > 0 }
            if buckets.count > maximumBuckets { buckets.removeAll() }
        }
    }
}

extension MSBError {
    public static func rateLimited(retryAfter seconds: Int) -> MSBError {
        var error = MSBError(.rateLimited, "too many requests; retry after \(max(1, seconds)) s")
        error.retryAfter = max(1, seconds)
        return error
    }
}

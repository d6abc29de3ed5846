import Foundation

/// Failed bearer-token authentications, counted in memory per source address and written to
/// the audit log as `auth.failed` at most once per address a minute, with how many failed
/// and why, through the group commit like every other write. An unauthenticated flood
/// therefore costs a counter increment per request, not a transaction and an fsync. At most
/// `maximumAddressesPerMinute` addresses get a record of their own in a minute; failures from
/// further addresses are counted together under `address:other`. Counts not yet written go
/// out on `flush` (the checkpoint timer, and shutdown).
public final class AuthFailures: Sendable {
    let transactions: Transactions
    let audit: AuditLog
    let holderReference: HolderReference
    let now: Now
    private let state = Locked<State>(State())
    static let interval: TimeInterval = 60
    static let maximumAddressesPerMinute = 100
    static let other = "address:other"

    struct Pending {
        var reasons: [String: Int] = [:]
        var reportedAt: Date?
        var count: Int { reasons.values.reduce(0, +) }

        /// Whether a record may be written for it: never written, or a minute since the last.
        func minutePassed(at instant: Date) -> Bool {
            reportedAt.map { instant.timeIntervalSince($0) >= AuthFailures.interval } ?? true
        }
    }

    struct State {
        var addresses: [String: Pending] = [:]
        /// The minute that `reported` counts the addresses of.
        var minute: Date?
        var reported = 0
    }

    init(transactions: Transactions, audit: AuditLog, holderReference: HolderReference, now: @escaping Now) {
        (self.transactions, self.audit, self.holderReference, self.now) = (transactions, audit, holderReference, now)
    }

    /// Counts one failure from `address` (a client key from `ClientAddress`, nil when
    /// unknown) for `reason`, and writes the address's record if its minute has passed.
    public func record(address: String?, reason: String) async throws {
        let instant = now()
        let subject = "address:" + (address.map { holderReference.ref("address:" + $0) } ?? "unknown")
        let due = state.withLock { state -> (String, [String: Int])? in
            if let minute = state.minute, instant.timeIntervalSince(minute) < Self.interval {} else {
                (state.minute, state.reported) = (instant, 0)
            }
            var key = subject
            if state.addresses[key] == nil, state.reported >= Self.maximumAddressesPerMinute { key = Self.other }
            var pending = state.addresses[key] ?? Pending()
            pending.reasons[reason, default: 0] += 1
            defer { state.addresses[key] = pending }
            guard pending.minutePassed(at: instant) else { return nil }
            let reasons = pending.reasons
            pending.reasons = [:]
            pending.reportedAt = instant
            if key != Self.other { state.reported += 1 }
            return (key, reasons)
        }
        if let (key, reasons) = due { try await write([(key, reasons)]) }
    }

    /// Writes every count not yet written (all of them when `everything`, else those whose
    /// minute has passed) and forgets addresses quiet for a minute.
    public func flush(everything: Bool = false) async throws {
        let instant = now()
        let due = state.withLock { state -> [(String, [String: Int])] in
            var due: [(String, [String: Int])] = []
            for (key, var pending) in state.addresses {
                let minutePassed = pending.minutePassed(at: instant)
                if pending.count > 0, everything || minutePassed {
                    due.append((key, pending.reasons))
                    pending.reasons = [:]
                    pending.reportedAt = instant
                    state.addresses[key] = pending
                } else if pending.count == 0, minutePassed {
                    state.addresses[key] = nil
                }
            }
            return due.sorted { $0.0 < $1.0 }
        }
        if !due.isEmpty { try await write(due) }
    }

    private func write(_ records: [(String, [String: Int])]) async throws {
        let audit = self.audit
        try await transactions.unit { db in
            var chain = try audit.chain(db)
            for (subject, reasons) in records {
                try chain.append(actor: .system, action: "auth.failed", object: subject,
                                 detail: ["count": .int(Int64(reasons.values.reduce(0, +))),
                                          "reasons": .object(reasons.mapValues { .int(Int64($0)) })])
            }
        }
    }
}

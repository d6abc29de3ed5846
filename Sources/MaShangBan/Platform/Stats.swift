import Foundation
import GRDB

/// `GET /v1/stats`: counts of consents, presentations, scans (accepted, and refused by
/// code) and submissions by delivery state, in all and per item.
public struct Stats: Sendable {
    let transactions: Transactions
    let now: Now

    /// The counts of one item.
    public struct ItemCounts: Sendable, Equatable {
        public var consents: Int64 = 0
        public var scansAccepted: Int64 = 0
        public var scansRejected: [String: Int64] = [:]
        public var submissions: [SubmissionState: Int64] = [:]
    }

    /// Every count at one instant.
    public struct Report: Sendable, Equatable {
        public var consentsGranted: Int64 = 0
        public var consentsWithdrawn: Int64 = 0
        public var consentsLive: Int64 = 0
        public var presentationsIssued: Int64 = 0
        public var presentationsScanned: Int64 = 0
        public var presentationsRevoked: Int64 = 0
        public var scansAccepted: Int64 = 0
        /// Refused scans and claims by problem code.
        public var scansRejected: [String: Int64] = [:]
        public var submissions: [SubmissionState: Int64] = [:]
        /// Per item: every item registered, and nothing else.
        public var items: [String: ItemCounts] = [:]
    }

    public func collect() async throws -> Report {
        let instant = now()
        return try await transactions.read { db in try Self.collect(db, at: instant) }
    }

    static func collect(_ db: Database, at instant: Date) throws -> Report {
        var report = Report()
        var items: [String: ItemCounts] = [:]
        for code in try StatsStore.itemCodes(db) { items[code] = ItemCounts() }
        for (item, n) in try StatsStore.consentsPerItem(db) where items[item] != nil { items[item]?.consents = n }
        // An accepted scan (or claim) is its submission, made in the same transaction; the
        // `scans` table holds the refused ones.
        for (item, state, n) in try StatsStore.submissions(db) {
            report.submissions[state, default: 0] += n
            report.scansAccepted += n
            items[item]?.submissions[state] = n
            items[item]?.scansAccepted += n
        }
        for (item, code, n) in try StatsStore.refusals(db) {
            report.scansRejected[code, default: 0] += n
            if let item { items[item]?.scansRejected[code] = n }
        }
        report.items = items
        (report.consentsGranted, report.consentsWithdrawn, report.consentsLive) = try StatsStore.consents(at: instant, db)
        (report.presentationsIssued, report.presentationsScanned, report.presentationsRevoked) = try StatsStore.presentations(db)
        return report
    }
}

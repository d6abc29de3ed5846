import Foundation

/// Where a visit stands. Stored as the moments it was approved, joined and withdrawn; the
/// status is the latest of those that applies.
public enum VisitStatus: String, Sendable, CaseIterable {
    /// Applied for, waiting for the head's approval.
    case applied
    case approved
    /// Merged into another unit's inspection (one joint visit under the other's code).
    case joined
    /// Withdrawn by its unit: its code is dead.
    case withdrawn
}

/// An official visit to a protected enterprise (赋码入企), as stored.
public struct Visit: Sendable, Equatable {
    public let id: String
    public let unit: String
    public let enterprise: String
    public let type: VisitType
    public let matter: String
    public let legalBasis: String
    public let purpose: String
    public let from: CalendarDate
    public let until: CalendarDate
    /// The days the unit proposed (码上约), and the ones the enterprise proposed back.
    public let proposedDays: [CalendarDate]
    public let counterDays: [CalendarDate]?
    public let bookedDay: CalendarDate?
    public let unannounced: Bool
    public let approvedAt: Timestamp?
    /// 1 for the first visit approved here, 2 for the next…: which of two duplicates came first.
    let approvalOrder: Int64?
    public let decision: EnterpriseDecision?
    public let decisionReason: String?
    public let decidedAt: Timestamp?
    /// The visit this one asked to join (and, once `joinedAt` is set, was merged into).
    public let joins: String?
    public let joinedAt: Timestamp?
    public let withdrawnAt: Timestamp?
    /// The single id its codes carry, from the first code drawn.
    public let jti: String?
    /// The appointment (an enterprise's request) this visit answers.
    public let appointment: String?
    public let createdAt: Timestamp

    public var status: VisitStatus {
        if withdrawnAt != nil { return .withdrawn }
        if joinedAt != nil { return .joined }
        return approvedAt != nil ? .approved : .applied
    }
}

/// A door event: an entry, an exit, or a refused scan.
public struct VisitEvent: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case enter, exit, refused
    }

    public let kind: Kind
    public let day: CalendarDate
    public let at: Timestamp
    /// For a refused scan: why.
    public let reasons: [String]
    /// Where: the name of the door terminal (enterprise client) that scanned (亮码入企 logs
    /// the place as well as the time); nil for an event not read back yet.
    public var door: String? = nil
}

/// A visit as its unit (or an admin, or the enterprise visited) reads it: the stored visit,
/// its officials (with those of visits merged into it), its colour now, and its timeline.
public struct VisitView: Sendable {
    public let visit: Visit
    public let unitName: String
    public let officials: [Official]
    public let verdict: VisitVerdict
    /// Visits merged into this one, and those asking to be.
    public let members: [String]
    public let joinRequests: [String]
    public let timeline: [VisitEvent]
}

/// A code for a visit (`POST /v1/visits/{id}/code`).
public struct VisitCode: Sendable {
    public let visit: String
    public let verdict: VisitVerdict
    public let token: String
    public let expiresAt: Timestamp
}

/// What the door terminal shows after a scan: the colour and why, the visit (without
/// anything the enterprise may not see), and the entry or exit recorded (nil when red).
public struct VisitScan: Sendable {
    public let verdict: VisitVerdict
    public let view: VisitView
    public let event: VisitEvent?
}

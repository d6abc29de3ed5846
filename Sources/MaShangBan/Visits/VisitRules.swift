/// 赋码入企: the rules that colour an official visit's code. Pure functions over the facts
/// a visit has when its code is drawn or scanned: green when every rule holds, red with a
/// machine-readable reason for each rule that does not; warnings keep the colour but are
/// shown and counted.
public enum VisitType: String, Sendable, CaseIterable {
    /// 执法检查: needs two officials with credentials, counts against the annual filing.
    case inspection
    /// 调研 and 参观: need the enterprise's agreement.
    case survey, tour
    /// 服务: a visit the enterprise asked for, or agreed to.
    case service

    /// Whether the enterprise must agree first.
    var needsEnterpriseAgreement: Bool { self == .survey || self == .tour }
}

/// Why a code is red.
public enum VisitReason: String, Sendable, CaseIterable {
    case headNotApproved = "head_not_approved"
    case enterpriseRefused = "enterprise_refused"
    case enterpriseNotAsked = "enterprise_not_asked"
    case overAnnualFiling = "over_annual_filing"
    case duplicateInspection = "duplicate_inspection"
    case outsideWindow = "outside_window"
    case officialWithdrawn = "official_withdrawn"
    /// The unit withdrew the visit: its code is dead.
    case visitWithdrawn = "visit_withdrawn"
}

/// What keeps the colour but is shown and counted.
public enum VisitWarning: String, Sendable, CaseIterable {
    /// More than the allowed visits of any kind to one enterprise in 30 days.
    case frequentVisits = "frequent_visits"
    /// An inspection the head approved without booking (counted and listed separately).
    case unannounced
}

/// The enterprise's answer to a survey or tour.
public enum EnterpriseDecision: String, Sendable {
    case agree, refuse
}

/// Another unit's approved inspection of the same enterprise.
public struct OtherInspection: Sendable, Equatable {
    public let visit: String
    public let matter: String
    public let from: CalendarDate
    public let until: CalendarDate

    public init(visit: String, matter: String, from: CalendarDate, until: CalendarDate) {
        (self.visit, self.matter, self.from, self.until) = (visit, matter, from, until)
    }
}

/// Everything the rules look at.
public struct VisitFacts: Sendable {
    public var type: VisitType
    public var matter: String
    public var from: CalendarDate
    public var until: CalendarDate
    public var headApproved = false
    public var enterpriseDecision: EnterpriseDecision?
    /// The unit's filed inspections of this enterprise for the visit's year (nil: none filed).
    public var filedCount: Int?
    /// The unit's other inspections of this enterprise that year, counted already.
    public var inspectionsCounted = 0
    /// Another unit's inspection this one was merged with (one joint visit): not a duplicate.
    public var joinedWith: Set<String> = []
    public var otherInspections: [OtherInspection] = []
    /// The booked day (码上约); nil before the enterprise confirms one.
    public var bookedDay: CalendarDate?
    /// Approved by the head without booking.
    public var unannounced = false
    /// An official listed on the visit has since left the unit.
    public var officialWithdrawn = false
    /// Visits of any kind to this enterprise in the 30 days before the visit (this one not included).
    public var recentVisits = 0
    /// Withdrawn by its unit.
    public var withdrawn = false

    public init(type: VisitType, matter: String, from: CalendarDate, until: CalendarDate) {
        (self.type, self.matter, self.from, self.until) = (type, matter, from, until)
    }
}

/// The settings the rules take (`serve --joint-window-days`, `--frequent-visits`).
public struct VisitRuleSettings: Sendable, Equatable {
    /// Inspections of the same matter this many days apart or closer are one joint inspection's.
    public var jointWindowDays = 30
    /// More visits than this in 30 days is a warning.
    public var frequentVisits = 3

    public init() {}
}

/// A code's colour and why.
public struct VisitVerdict: Sendable, Equatable {
    public let reasons: [VisitReason]
    public let warnings: [VisitWarning]
    /// Other units' inspections this one could be joined with (for `duplicate_inspection`).
    public let jointCandidates: [String]

    public var isGreen: Bool { reasons.isEmpty }
}

public enum VisitRules {
    /// The verdict when the code is drawn (`day` nil) or scanned at the door on `day`.
    public static func judge(_ facts: VisitFacts, on day: CalendarDate? = nil, settings: VisitRuleSettings = VisitRuleSettings())
        -> VisitVerdict
    {
        var reasons: [VisitReason] = []
        var warnings: [VisitWarning] = []
        if !facts.headApproved { reasons.append(.headNotApproved) }
        if facts.type.needsEnterpriseAgreement {
            switch facts.enterpriseDecision {
            case .agree: break
            case .refuse: reasons.append(.enterpriseRefused)
            case nil: reasons.append(.enterpriseNotAsked)
            }
        }
        var candidates: [String] = []
        if facts.type == .inspection {
            if facts.inspectionsCounted + 1 > (facts.filedCount ?? 0) { reasons.append(.overAnnualFiling) }
            candidates = facts.otherInspections
                .filter { $0.matter == facts.matter && !facts.joinedWith.contains($0.visit) }
                .filter { within(settings.jointWindowDays, facts.from...facts.until, $0.from...$0.until) }
                .map(\.visit)
            if !candidates.isEmpty { reasons.append(.duplicateInspection) }
            if facts.unannounced { warnings.append(.unannounced) }
        }
        if let day {
            // 码上约: only the confirmed day, unless the head approved it unannounced.
            let onTheDay = facts.unannounced ? (facts.from...facts.until).contains(day) : facts.bookedDay == day
            if !onTheDay { reasons.append(.outsideWindow) }
        }
        if facts.officialWithdrawn { reasons.append(.officialWithdrawn) }
        if facts.withdrawn { reasons.append(.visitWithdrawn) }
        if facts.recentVisits + 1 > settings.frequentVisits { warnings.append(.frequentVisits) }
        return VisitVerdict(reasons: reasons, warnings: warnings, jointCandidates: candidates)
    }

    /// Whether two date ranges overlap or lie at most `days` days apart.
    static func within(_ days: Int, _ a: ClosedRange<CalendarDate>, _ b: ClosedRange<CalendarDate>) -> Bool {
        if a.overlaps(b) { return true }
        let (earlier, later) = a.upperBound < b.lowerBound ? (a, b) : (b, a)
        return earlier.upperBound.adding(days: days) >= later.lowerBound
    }
}

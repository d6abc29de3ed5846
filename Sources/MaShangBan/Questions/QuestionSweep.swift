import Foundation
import GRDB

/// The clocks' sweeper: a clock that passed is flagged overdue when it passes, not when
/// someone happens to read (`serve` runs `sweep` every minute), and the unit's supervisor is
/// told; the unit is reminded `remindBeforeHours` before each deadline, at its own webhook.
/// Each reminder and each overdue notice goes out once (`question_alerts`).
extension Questions {
    /// What one sweep did.
    public struct Sweep: Sendable, Equatable {
        public var overdue = 0
        public var reminders = 0
    }

    public func sweep() async throws -> Sweep {
        let instant = now()
        let (stamp, soon) = (Timestamp(instant), Timestamp(instant.addingTimeInterval(Double(settings.remindBeforeHours) * 3600)))
        let (audit, notices) = (self.audit, self.notices)
        let done = try await transactions.write { db -> Sweep in
            var done = Sweep()
            for clock in QuestionClock.allCases {
                for open in try QuestionStore.passed(clock, before: stamp, db) {
                    try QuestionStore.markOverdue(open.id, clock, at: stamp, db)
                    try audit.append(db, actor: .system, action: "question.overdue", object: "question:\(open.id)",
                                     detail: ["clock": .string(clock.rawValue), "unit": .string(open.unit)])
                    try notices.enqueue(unit: open.unit, event: "question.overdue", body: Self.alert(open, clock), at: instant, db)
                    done.overdue += 1
                }
                for open in try QuestionStore.dueSoon(clock, from: stamp, until: soon, db) {
                    try QuestionStore.recordAlert(open.id, clock, kind: "reminder", at: stamp, db)
                    let sent = try UnitStore.hasWebhook(open.unit, db)
                    if sent { try notices.enqueue(unit: open.unit, event: "question.reminder", body: Self.alert(open, clock), at: instant, to: .unit, db) }
                    try audit.append(db, actor: .system, action: "question.reminded", object: "question:\(open.id)",
                                     detail: ["clock": .string(clock.rawValue), "sent": .bool(sent)])
                    done.reminders += 1
                }
            }
            return done
        }
        if done.overdue + done.reminders > 0 { notices.wake.fire() }
        return done
    }

    /// A notice's body: which question, which clock, when it is (or was) due; no question text.
    static func alert(_ open: QuestionStore.OpenClock, _ clock: QuestionClock) -> [String: JSONValue] {
        ["question": .string(open.id), "unit": .string(open.unit), "clock": .string(clock.rawValue), "due": .string(open.due.text)]
    }
}

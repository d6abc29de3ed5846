import Foundation
import GRDB

/// Where a notice goes: the unit's supervisor (督查), or the unit's own webhook.
public enum NoticeDestination: String, Sendable {
    case supervisor, unit
}

/// Notices about a unit: to its supervisor (a refused visit code, a question's clock that
/// passed) or to the unit itself (a reminder before a deadline). They go out through the same
/// worker, signing and retries as submissions (`Deliveries`), from their own queue
/// (`notices`), each signed with the secret of the webhook it goes to: a notice carries no
/// licence data and needs no seal.
public struct Notices: Sendable {
    let random: any RandomSource
    /// The delivery worker's wake: fired once a notice is committed.
    public let wake: WakeSignal

    /// Queues a notice inside the caller's transaction, due at once. The body gets the
    /// notice's `id` (also its `Idempotency-Key`), `event` and `at`.
    func enqueue(unit: String, event: String, body: [String: JSONValue], at instant: Date, to destination: NoticeDestination = .supervisor,
                 _ db: Database) throws {
        let id = random.identifier(prefix: "ntc")
        var members = body
        members["id"] = .string(id)
        members["event"] = .string(event)
        members["at"] = .string(Timestamp.string(instant))
        try NoticeStore.insert(id: id, unit: unit, event: event, body: JSONValue.object(members).canonicalString, destination: destination,
                               at: instant, db)
    }

    /// The name a notice's webhook is counted under for per-destination concurrency.
    static func destination(_ destination: NoticeDestination, _ unit: String) -> String { "\(destination.rawValue):\(unit)" }

    /// The secret a notice to `destination` of `unit` is signed with.
    static func secret(_ destination: NoticeDestination, unit: String, vault: DataVault, _ db: Database) throws -> String? {
        switch destination {
        case .supervisor: try UnitRegistry.secret(of: unit, vault: vault, db)
        case .unit: try UnitRegistry.webhookSecret(of: unit, vault: vault, db)
        }
    }
}

import Foundation
import GRDB

/// Notices to a unit's supervisor (督查): a refused visit code, and later a passed deadline.
/// They go out through the same worker, signing and retries as submissions (`Deliveries`),
/// from their own queue (`notices`): a notice carries no licence data and needs no seal.
public struct Notices: Sendable {
    let random: any RandomSource
    /// The delivery worker's wake: fired once a notice is committed.
    public let wake: WakeSignal

    /// Queues a notice inside the caller's transaction, due at once. The body gets the
    /// notice's `id` (also its `Idempotency-Key`), `event` and `at`.
    func enqueue(unit: String, event: String, body: [String: JSONValue], at instant: Date, _ db: Database) throws {
        let id = random.identifier(prefix: "ntc")
        var members = body
        members["id"] = .string(id)
        members["event"] = .string(event)
        members["at"] = .string(Timestamp.string(instant))
        try NoticeStore.insert(id: id, unit: unit, event: event, body: JSONValue.object(members).canonicalString, at: instant, db)
    }

    /// The destination name a notice is counted under for per-destination concurrency.
    static func destination(_ unit: String) -> String { "supervisor:\(unit)" }
}

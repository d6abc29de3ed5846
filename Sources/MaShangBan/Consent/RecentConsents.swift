import Foundation

/// What a code's token is made from, for consents granted or used lately: the client, the
/// hall and the end, none of which change once a consent is granted. A code is then signed
/// before its turn on the one writer, which checks these facts against the stored consent
/// and signs again when they differ. A missing or stale entry costs time, never
/// correctness, so nothing here is ever invalidated.
///
/// Two generations of at most `capacity` entries each: when the newer one is full it
/// becomes the older one, so the consents seen last are the ones kept.
public final class RecentConsents: Sendable {
    struct Facts: Sendable, Equatable {
        let clientID: String
        let hall: String?
        let expiresAt: Date
    }

    private let generations = Locked<(newer: [String: Facts], older: [String: Facts])>(([:], [:]))
    /// A code follows its consent within seconds or minutes; this covers many minutes of a
    /// busy region's consents in a few MB.
    static var capacity: Int { 10_000 }

    public init() {}

    func facts(_ consentID: String) -> Facts? {
        generations.withLock { $0.newer[consentID] ?? $0.older[consentID] }
    }

    func remember(_ consent: Consent) {
        guard let end = consent.expiresAt.date else { return }
        let facts = Facts(clientID: consent.clientID, hall: consent.hall, expiresAt: end)
        generations.withLock { generations in
            if generations.newer.count >= Self.capacity {
                generations.older = generations.newer
                generations.newer = [:]
            }
            generations.newer[consent.id] = facts
        }
    }
}

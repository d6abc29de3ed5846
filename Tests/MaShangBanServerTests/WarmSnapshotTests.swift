import Foundation
import GRDB
import HummingbirdTesting
@testable import MaShangBan
import Testing
@testable import MaShangBanServer

/// Issue 26: a scan or a claim works out its disclosure on a warm read snapshot (up to its
/// lifetime old) before its write unit. What the snapshot saw that has changed since never
/// decides an answer: a code used or cancelled since, a licence revoked since. The snapshots
/// here live ten minutes, so every scan after the first few reads one taken before the change.
@Suite struct WarmSnapshotTests {
    @Test func aSnapshotTakenBeforeAChangeNeverDecidesAnAnswer() async throws {
        let server = try TestServer { $0.backend.warmSnapshots = .seconds(600) }
        try await server.test { client in
            let hall = try await Hall.open(client)
            // Every code first (each of its own consent), so that every snapshot sees them all active.
            var codes: [(id: String, token: String)] = []
            for _ in 0..<(ProcessInfo.processInfo.activeProcessorCount + 3) { codes.append(try await hall.present(try await hall.consent())) }
            let (used, cancelled, revoked) = (codes[codes.count - 3], codes[codes.count - 2], codes[codes.count - 1])
            // One scan per snapshot slot opens them all now.
            for code in codes.dropLast(3) { #expect(try await hall.scan(code.token).status == .created) }
            // Used since: the snapshot still sees it active.
            #expect(try await hall.scan(used.token).status == .created)
            try await hall.scan(used.token).expectProblem(409, "token_used")
            try await hall.scan(used.token).expectProblem(409, "token_used")
            // Cancelled since.
            #expect(try await client.call(.delete, "/v1/presentations/\(cancelled.id)", token: hall.app).status == .noContent)
            try await hall.scan(cancelled.token).expectProblem(410, "token_revoked")
            // A licence the consent carries revoked since (the snapshot sees it valid).
            #expect(try await client.call(.post, "/v1/licences/\(hall.licences[0])/revoke", token: hall.issuer,
                                          json: #"{"reason":"replaced"}"#).status == .ok)
            try await hall.scan(revoked.token).expectProblem(409, "licence_revoked")
        }
        // One submission per accepted scan, each with its audit record; the chain holds.
        let submissions = try await server.backend.transactions.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM submissions") }
        #expect(submissions == ProcessInfo.processInfo.activeProcessorCount + 1)
        #expect(try await server.backend.services.auditTrail.verify().ok)
    }

    /// A code issued after the snapshot was taken is not in it: the write unit works the scan
    /// out itself, and the window gets its answer as without snapshots. A claim likewise.
    @Test func aCodeTheSnapshotHasNotSeenIsScannedAllTheSame() async throws {
        let server = try TestServer { $0.backend.warmSnapshots = .seconds(600) }
        try await server.test { client in
            let hall = try await Hall.open(client)
            let first = try await hall.present(try await hall.consent())
            #expect(try await hall.scan(first.token).status == .created)
            for _ in 0..<3 {
                let later = try await hall.present(try await hall.consent())
                let scanned = try await hall.scan(later.token)
                #expect(scanned.status == .created, "\(scanned.text)")
                #expect(try scanned.json()["submission"] as? String != nil)
            }
            let session = try await hall.openSession()
            #expect(try await hall.claim(session.token, consent: try await hall.consent()).status == .ok)
        }
    }
}

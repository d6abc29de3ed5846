import Foundation
import GRDB
import HummingbirdTesting
@testable import MaShangBan
import Testing
@testable import MaShangBanServer
import MaShangBanTestSupport
import Spawn

/// Issue 8, disk full: the data directory on a small tmpfs (mounting needs root, as in CI).
/// Writes answer 503 `storage_unavailable`, reads keep working, nothing is half-written,
/// and once space returns the service writes again without a restart; the audit chain verifies.
@Suite struct DiskFullTests {
    static func run(_ tool: String, _ arguments: [String]) throws -> Int32 {
        try ChildProcess.run(tool, arguments).status
    }

    /// Writes 64 KiB blocks to `file` until the disk refuses one.
    static func fill(_ file: URL) {
        guard let handle = FileHandle(forWritingAtPath: file.path) ?? {
            _ = FileManager.default.createFile(atPath: file.path, contents: nil)
            return FileHandle(forWritingAtPath: file.path)
        }() else { return }
        defer { try? handle.close() }
        let block = Data(repeating: 0x55, count: 64 * 1024)
        while (try? handle.write(contentsOf: block)) != nil {}
        let small = Data(repeating: 0x55, count: 512)
        while (try? handle.write(contentsOf: small)) != nil {}
    }

    @Test(.enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
    func aFullDiskRefusesWritesKeepsReadsAndRecoversWithoutRestart() async throws {
        let mountPoint = try TemporaryDirectory()
        try #require(try Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", mountPoint.url.path]) == 0)
        defer { _ = try? Self.run("/bin/umount", ["-l", mountPoint.url.path]) }
        let data = mountPoint.url.appendingPathComponent("data")
        let server = try TestServer { $0.dataDirectory = data.path }
        let filler = mountPoint.url.appendingPathComponent("filler")
        try await server.test { client in
            let hall = try await Hall.open(client)
            _ = try await hall.submit()
            Self.fill(filler)
            // The WAL may still have room for a few frames; keep writing until the disk says no.
            var refused: TestResponse?
            var created = 0
            for i in 0..<2000 {
                let response = try await client.call(.post, "/v1/clients", json: #"{"role":"app","name":"app \#(i) \#(String(repeating: "x", count: 150))"}"#)
                if response.status == .created { created += 1; continue }
                refused = response
                break
            }
            let answer = try #require(refused, "no write was refused on a full disk")
            try answer.expectProblem(503, "storage_unavailable")
            // Another kind of write, through the group commit, is refused the same way. It may
            // first fit where the log starts again (once a checkpoint has reached the log's end,
            // which depends on when read snapshots close), so it too is sent until the disk says no.
            var challenges = 0
            while true {
                let response = try await client.call(.post, "/v1/face-auth/challenges", token: hall.app,
                                                     json: #"{"subject":"\#(Sample.person)"}"#)
                guard response.status == .created, challenges < 2000 else {
                    try response.expectProblem(503, "storage_unavailable")
                    break
                }
                challenges += 1
            }
            // Reads keep working.
            let listed = try #require(try await client.call(.get, "/v1/clients").json()["clients"] as? [[String: Any]])
            #expect(listed.count == 4 + created)  // admin, issuer, app, terminal and those made before the disk filled
            #expect(try await client.call(.get, "/v1/licence-types").status == .ok)
            // Space returns: writes work again, no restart.
            try FileManager.default.removeItem(at: filler)
            #expect(try await client.call(.post, "/v1/clients", json: #"{"role":"app","name":"after"}"#).status == .created)
            _ = try await hall.submit()
        }
        let integrity = try await server.backend.transactions.pool.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") }
        #expect(integrity == "ok")
        let backend = server.backend
        _ = try await backend.transactions.pool.write { db in try backend.audit.checkpointIfNeeded(db) }
        let verification = try AuditVerifier.verify(reader: server.backend.transactions.pool, suite: server.backend.suite,
                                                    checkpointFile: server.backend.dataDirectory.checkpointFile)
        #expect(verification.ok, "\(verification)")
    }
}

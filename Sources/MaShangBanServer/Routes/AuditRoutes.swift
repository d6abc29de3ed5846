import Hummingbird
import MaShangBan

/// `GET /v1/audit/entries`, `/checkpoints/latest`, `/verify` (admin).
struct AuditRoutes {
    let backend: Backend
    static let maximumPage = 1000

    struct EntriesResponse: Encodable {
        let entries: [AuditRecord]
        let next: Int64?

        enum CodingKeys: String, CodingKey { case entries, next }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(entries, forKey: .entries)
            try c.encode(next, forKey: .next)
        }
    }

    func register(on router: Router<AppRequestContext>) {
        let group = router.group("v1/audit").add(middleware: Authorize(.admin, backend: backend))
        group.get("entries") { request, _ in
            let after = try request.integerParameter("after", default: 0, in: 0...Int64.max)
            let limit = Int(try request.integerParameter("limit", default: 100, in: 1...Int64(Self.maximumPage)))
            let page = try await backend.pool.read { db in try AuditLog.entries(db, after: after, limit: limit + 1) }
            let entries = Array(page.prefix(limit))
            let next = page.count > limit ? entries.last?.seq : nil
            return try JSONResponse.make(EntriesResponse(entries: entries, next: next))
        }
        group.get("checkpoints/latest") { _, _ in
            guard let checkpoint = try await backend.pool.read({ db in try AuditLog.latestCheckpoint(db) }) else {
                throw MSBError.notFound("no checkpoint has been written yet")
            }
            return try JSONResponse.make(checkpoint)
        }
        group.get("verify") { _, _ in
            let result = try AuditVerifier.verify(reader: backend.pool, suite: backend.suite, checkpointFile: backend.dataDirectory.checkpointFile)
            return try JSONResponse.make(result)
        }
    }
}

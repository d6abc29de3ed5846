import Hummingbird
import MaShangBan

/// `GET /v1/audit/entries`, `/checkpoints/latest`, `/verify` (admin).
struct AuditRoutes {
    let auth: Authenticator
    let auditTrail: AuditTrail
    static let maximumPage = 1000

    func register(on router: Router<AppRequestContext>) {
        let group = router.group("v1/audit").add(middleware: Authorize(.admin, auth: auth))
        group.get("entries") { request, _ in
            let after = try request.integerParameter("after", default: 0, in: 0...Int64.max)
            let limit = Int(try request.integerParameter("limit", default: 100, in: 1...Int64(Self.maximumPage)))
            let page = try await auditTrail.entries(after: after, limit: limit)
            return JSONResponse.make(AuditPageBody(entries: page.entries, next: page.next))
        }
        group.get("checkpoints/latest") { _, _ in
            guard let checkpoint = try await auditTrail.latestCheckpoint() else {
                throw MSBError.notFound("no checkpoint has been written yet")
            }
            return JSONResponse.make(CheckpointBody(checkpoint: checkpoint))
        }
        group.get("verify") { _, _ in
            JSONResponse.make(VerificationBody(verification: try await auditTrail.verify()))
        }
    }
}

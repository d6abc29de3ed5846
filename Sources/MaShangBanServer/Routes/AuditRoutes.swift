import Hummingbird
import MaShangBan

/// `GET /v1/audit/entries`, `/checkpoints/latest`, `/verify`, `/proofs/inclusion`,
/// `/proofs/consistency` (admin).
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
        group.get("proofs/inclusion") { request, _ in
            guard let seq = try request.integerParameter("seq", in: 1...Int64.max) else {
                throw MSBError.badRequest("query parameter `seq` is required")
            }
            let size = try request.integerParameter("size", in: 1...Int64.max)
            return JSONResponse.make(try await auditTrail.inclusionProof(seq: seq, size: size))
        }
        group.get("proofs/consistency") { request, _ in
            guard let from = try request.integerParameter("from", in: 1...Int64.max) else {
                throw MSBError.badRequest("query parameter `from` is required")
            }
            let to = try request.integerParameter("to", in: 1...Int64.max)
            return JSONResponse.make(try await auditTrail.consistencyProof(from: from, to: to))
        }
        group.get("verify") { _, _ in
            JSONResponse.make(VerificationBody(verification: try await auditTrail.verify()))
        }
    }
}

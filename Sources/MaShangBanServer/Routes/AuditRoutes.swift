import Hummingbird
import MaShangBan

/// `GET /v1/audit/entries`, `/checkpoints/latest`, `/checkpoints/cosigned`, `/verify`,
/// `/proofs/inclusion`, `/proofs/consistency` (admin); `POST /v1/audit/cosignatures` (a
/// peer region's signed request: its witness's cosignature of a checkpoint).
struct AuditRoutes {
    let auth: Authenticator
    let auditTrail: AuditTrail
    let witnessing: Witnessing
    let regionRequests: RegionRequests
    static let maximumPage = 1000

    struct CosignatureRequest: Decodable {
        let size: Int64
        let cosignature: String
    }

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
        group.get("checkpoints/cosigned") { _, _ in
            guard let cosigned = try await witnessing.latestCosigned() else { throw MSBError.notFound("no checkpoint has been cosigned yet") }
            return JSONResponse.make(CosignedCheckpointBody(checkpoint: cosigned.checkpoint, note: cosigned.note, cosignatures: cosigned.cosignatures))
        }
        router.group("v1/audit/cosignatures").add(middleware: RegionSignature(regionRequests: regionRequests)).post { request, context in
            let body = try await request.decodeJSON(CosignatureRequest.self)
            let peer = try context.requirePeerRegion()
            let created = try await witnessing.receive(size: body.size, line: body.cosignature, from: peer)
            return JSONResponse.make(CosignatureBody(size: body.size, region: peer), status: created ? .created : .ok)
        }
    }
}

/// A cosignature taken (`POST /v1/audit/cosignatures`).
struct CosignatureBody: ResponseBody {
    let size: Int64
    let region: String
    var json: JSONValue { .object(["size": .int(size), "region": .string(region)]) }
}

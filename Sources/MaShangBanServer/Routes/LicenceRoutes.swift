import Hummingbird
import MaShangBan

/// Issuer routes (电子证照库): `POST /v1/licences`, `POST /v1/licences:batch` (NDJSON),
/// `POST /v1/licences/{id}/revoke`.
struct LicenceRoutes {
    let auth: Authenticator
    let library: LicenceLibrary

    struct RevokeRequest: Decodable { let reason: String }

    func register(on router: Router<AppRequestContext>) {
        let group = router.group("v1/licences").add(middleware: Authorize(.issuer, auth: auth))
        group.post { request, context in
            let submission = try await request.decodeJSON(LicenceSubmission.self)
            let imported = try await library.importLicence(submission, by: try LicenceIssuer(context.requireClient()))
            return JSONResponse.make(LicenceStateBody(id: imported.id, status: imported.status), status: imported.created ? .created : .ok)
        }
        router.group("v1/licences:batch").add(middleware: Authorize(.issuer, auth: auth)).post { request, context in
            // The body is streamed: lines are imported as they arrive, never held whole.
            if let declared = request.headers[.contentLength].flatMap(Int.init), declared > BodyLimit.batch {
                throw MSBError.payloadTooLarge(limit: BodyLimit.batch)
            }
            let importer = BatchImport(library: library, issuer: try LicenceIssuer(context.requireClient()))
            var received = 0
            for try await buffer in request.body {
                received += buffer.readableBytes
                // Batches already stored stay stored; re-sending is safe (upsert by type + number).
                guard received <= BodyLimit.batch else { throw MSBError.payloadTooLarge(limit: BodyLimit.batch) }
                try await importer.feed(buffer.readableBytesView)
            }
            return JSONResponse.make(BatchResultBody(result: try await importer.finish()))
        }
        group.post("{id}/revoke") { request, context in
            let body = try await request.decodeJSON(RevokeRequest.self)
            let id = try context.parameters.require("id")
            let status = try await library.revoke(id: id, reason: body.reason, by: try LicenceIssuer(context.requireClient()))
            return JSONResponse.make(LicenceStateBody(id: id, status: status))
        }
    }
}

import Hummingbird
import MaShangBan

/// The window terminal: `POST /v1/scans` (一码出示 scanned at the window) and its
/// submissions' delivery state; the admin's retry of a dead submission and `GET /v1/stats`.
struct ScanRoutes {
    let auth: Authenticator
    let deliveries: Deliveries
    let scans: Scans
    let stats: Stats

    struct ScanRequest: FlatStringBody {
        let token: String
        let item: String

        init?(strings: [String: String]) {
            guard let token = strings["token"], let item = strings["item"] else { return nil }
            (self.token, self.item) = (token, item)
        }
    }

    func register(on router: Router<AppRequestContext>) {
        router.group("v1/scans").add(middleware: Authorize(.terminal, auth: auth)).post { request, context in
            let body = try await request.decodeJSON(ScanRequest.self)
            let view = try await scans.scan(token: body.token, item: body.item, terminal: try context.requireClient())
            return JSONResponse.make(WindowViewBody(view: view), status: .created)
        }
        let submissions = router.group("v1/submissions")
        submissions.add(middleware: Authorize(.terminal, .admin, auth: auth)).get("{id}") { _, context in
            JSONResponse.make(SubmissionBody(submission: try await deliveries.status(of: try context.parameters.require("id"),
                                                                                   for: try context.requireClient())))
        }
        router.group("v1/submissions").add(middleware: Authorize(.admin, auth: auth)).post("{id}/retry") { _, context in
            JSONResponse.make(SubmissionBody(submission: try await deliveries.retry(try context.parameters.require("id"), by: context.actor)))
        }
        router.group("v1/stats").add(middleware: Authorize(.admin, auth: auth)).get { _, _ in
            JSONResponse.make(StatsBody(report: try await stats.collect()))
        }
    }
}

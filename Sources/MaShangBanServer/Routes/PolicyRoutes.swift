import Hummingbird
import MaShangBan

/// 惠企政策 码上查: units and admins publish (`/v1/policies`, `/v1/policies:batch`), anyone
/// searches; an enterprise keeps a profile and reads the policies it qualifies for.
struct PolicyRoutes {
    let auth: Authenticator
    let policies: Policies

    struct Profile: Decodable {
        let industry: String
        let region: String
        let scale: String
    }

    func register(on router: Router<AppRequestContext>) {
        let publishers = Authorize(.admin, .unit, auth: auth)
        router.group("v1/policies").add(middleware: publishers).post { request, context in
            let (policy, created) = try await policies.publish(try await request.decodeJSON(Policies.Publication.self),
                                                               client: try context.requireClient())
            return JSONResponse.make(PolicyBody(policy: policy), status: created ? .created : .ok)
        }
        router.group("v1/policies:batch").add(middleware: Authorize(.admin, .unit, auth: auth)).post { request, context in
            let body = try await request.collectBody(limit: BodyLimit.batch)
            return JSONResponse.make(BatchResultBody(result: try await policies.publish(ndjson: Array(body.readableBytesView),
                                                                                        client: try context.requireClient())))
        }
        router.group("v1/policies").add(middleware: Authorize(.admin, .unit, auth: auth)).delete("{id}") { _, context in
            try await policies.withdraw(try context.parameters.require("id"), client: try context.requireClient())
            return Response(status: .noContent)
        }
        router.group("v1/policies").add(middleware: Authorize.anyRole(auth)).get { request, _ in
            let query = request.uri.queryParameters
            let validOn = try query.get("valid_on").map { text in
                guard let day = CalendarDate(text) else { throw MSBError.validationFailed("valid_on must be a date YYYY-MM-DD") }
                return day
            }
            let limit = Int(try request.integerParameter("limit", default: 20, in: 1...Int64(Policies.maximumPage)))
            let page = try await policies.search(.init(text: query.get("q"), industry: query.get("industry"), region: query.get("region"),
                                                       scale: query.get("scale"), validOn: validOn, limit: limit, after: query.get("after")))
            return JSONResponse.make(PolicyPageBody(hits: page.hits, next: page.next))
        }
        let enterprise = router.group("v1/enterprise").add(middleware: Authorize(.enterprise, auth: auth))
        enterprise.put("profile") { request, context in
            let body = try await request.decodeJSON(Profile.self)
            let profile = try await policies.setProfile(industry: body.industry, region: body.region, scale: body.scale,
                                                        client: try context.requireClient())
            return JSONResponse.make(ProfileBody(profile: profile))
        }
        enterprise.get("policies") { request, context in
            let limit = Int(try request.integerParameter("limit", default: 20, in: 1...Int64(Policies.maximumPage)))
            let page = try await policies.forEnterprise(client: try context.requireClient(), limit: limit,
                                                        after: request.uri.queryParameters.get("after"))
            return JSONResponse.make(PolicyPageBody(hits: page.hits, next: page.next))
        }
    }
}

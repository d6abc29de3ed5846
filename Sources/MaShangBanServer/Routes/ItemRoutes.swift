import Hummingbird
import MaShangBan

/// Items (事项) and approval systems (审批系统): `POST/GET /v1/items`, `GET /v1/items/{code}`,
/// `POST/GET /v1/approval-systems`. Admins create; every role may read items.
struct ItemRoutes {
    let auth: Authenticator
    let approvalSystems: ApprovalSystemRegistry
    let items: ItemRegistry

    func register(on router: Router<AppRequestContext>) {
        let admin = Authorize(.admin, auth: auth)
        let anyone = Authorize.anyRole(auth)

        router.group("v1/items").add(middleware: admin).post { request, context in
            let definition = try await request.decodeJSON(ItemRegistry.Definition.self)
            return JSONResponse.make(ItemBody(item: try await items.create(definition, by: context.actor)), status: .created)
        }
        let reading = router.group("v1/items").add(middleware: anyone)
        reading.get { _, _ in JSONResponse.make(ListBody(items: try await items.list())) }
        reading.get("{code}") { _, context in
            JSONResponse.make(ItemBody(item: try await items.find(try context.parameters.require("code"))))
        }

        let systems = router.group("v1/approval-systems").add(middleware: admin)
        systems.post { request, context in
            let registration = try await request.decodeJSON(ApprovalSystemRegistry.Registration.self)
            let (system, secret) = try await approvalSystems.create(registration, by: context.actor)
            return JSONResponse.make(ApprovalSystemBody(system: system, secret: secret), status: .created)
        }
        systems.get { _, _ in
            JSONResponse.make(ListBody(systems: try await approvalSystems.list()))
        }
    }
}

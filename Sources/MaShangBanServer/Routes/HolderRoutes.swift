import Hummingbird
import MaShangBan

/// App-backend routes acting for a holder: the library (display-masked) and the wallet.
struct HolderRoutes {
    let backend: Backend

    func register(on router: Router<AppRequestContext>) {
        let group = router.group("v1/holders/{holder}").add(middleware: Authorize(.app, backend: backend))
        group.get("library") { _, context in
            let holder = try holderID(context)
            let licences = try await backend.library.library(of: holder)
            let today = backend.library.today
            return try JSONResponse.make(JSONValue.object([
                "licences": .array(licences.map { DisclosureView.display($0, masks: backend.masks, today: today) }),
            ]))
        }
        group.post("wallet/sync") { _, context in
            let holder = try holderID(context)
            let (added, wallet) = try await backend.wallet.sync(holder, by: context.actor)
            return try JSONResponse.make(JSONValue.object([
                "added": .array(added.map { .string($0) }),
                "wallet": walletView(wallet),
            ]))
        }
        group.get("wallet") { _, context in
            let wallet = try await backend.wallet.list(try holderID(context))
            return try JSONResponse.make(JSONValue.object(["wallet": walletView(wallet)]))
        }
        group.delete("wallet/{licence}") { _, context in
            let holder = try holderID(context)
            try await backend.wallet.remove(holder, licence: try context.parameters.require("licence"), by: context.actor)
            return Response(status: .noContent)
        }
    }

    private func holderID(_ context: AppRequestContext) throws -> HolderID {
        try HolderID(either: try context.parameters.require("holder"), field: "the holder in the path", today: backend.now())
    }

    private func walletView(_ licences: [Licence]) -> JSONValue {
        let today = backend.library.today
        return .array(licences.map { DisclosureView.summary($0, masks: backend.masks, today: today) })
    }
}

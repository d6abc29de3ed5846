import Hummingbird
import MaShangBan

/// 一码获取: the window opens a session and shows its code; the holder's app claims it; the
/// window long-polls for the result.
struct WindowSessionRoutes {
    let auth: Authenticator
    let windowSessions: WindowSessions

    struct OpenRequest: FlatStringBody {
        let item: String

        init?(strings: [String: String]) {
            guard let item = strings["item"] else { return nil }
            self.item = item
        }
    }

    struct ClaimRequest: FlatStringBody {
        let token: String
        let consent: String

        init?(strings: [String: String]) {
            guard let token = strings["token"], let consent = strings["consent"] else { return nil }
            (self.token, self.consent) = (token, consent)
        }
    }

    func register(on router: Router<AppRequestContext>) {
        let terminal = router.group("v1/window-sessions").add(middleware: Authorize(.terminal, auth: auth))
        terminal.post { request, context in
            let body = try await request.decodeJSON(OpenRequest.self)
            let session = try await windowSessions.open(item: body.item, terminal: try context.requireClient())
            return JSONResponse.make(CodeBody(id: session.id, token: session.token, expiresAt: session.expiresAt,
                                              base: "/v1/window-sessions"), status: .created)
        }
        terminal.get("{id}") { request, context in
            let wait: Int
            if let raw = request.uri.queryParameters.get("wait") {
                guard let value = Int(raw), (0...WindowSessions.maximumWait).contains(value) else {
                    throw MSBError.badRequest("wait must be a whole number of seconds from 0 to \(WindowSessions.maximumWait)")
                }
                wait = value
            } else {
                wait = 0
            }
            let state = try await windowSessions.state(of: try context.parameters.require("id"), terminal: try context.requireClient(),
                                                                wait: wait)
            return JSONResponse.make(WindowSessionStateBody(state: state))
        }
        ConsentRoutes.addQRImages(to: terminal) { id, client in try await windowSessions.token(of: id, terminal: client) }
        router.group("v1/window-sessions/claim").add(middleware: Authorize(.app, auth: auth)).post { request, context in
            let body = try await request.decodeJSON(ClaimRequest.self)
            let (session, submission) = try await windowSessions.claim(token: body.token, consent: body.consent,
                                                                               client: try context.requireClient())
            return JSONResponse.make(ClaimBody(session: session, submission: submission))
        }
    }
}

import MaShangBan

/// A holder session's token (shown once) and its end.
struct HolderSessionBody: ResponseBody {
    let token: String
    let expiresAt: Timestamp
    var json: JSONValue { .object(["token": .string(token), "expires_at": .time(expiresAt)]) }
}

/// An agent's authorisation.
struct AgentBody: ResponseBody {
    let authorisation: EnterpriseAgents.Authorisation
    var json: JSONValue {
        .object(["enterprise": .string(authorisation.enterprise), "agent": .string(authorisation.agent),
                 "valid_until": .string(authorisation.validUntil), "status": .string("active")])
    }
}

/// A consent granted.
struct ConsentBody: ResponseBody {
    let consent: Consent
    var json: JSONValue {
        .object([
            "id": .string(consent.id), "expires_at": .time(consent.expiresAt), "licences": .array(consent.licenceIDs.map(JSONValue.string)),
            "item": .string(consent.item), "hall": .string(consent.hall), "holder_kind": .string(consent.holderKind.rawValue),
        ])
    }
}

/// A new code (a presentation or a window session) and where its QR images are.
struct CodeBody: ResponseBody {
    let id: String
    let token: String
    let expiresAt: Timestamp
    /// The route the images hang under (`/v1/presentations`).
    let base: String
    var json: JSONValue {
        .object(["id": .string(id), "token": .string(token), "expires_at": .time(expiresAt),
                 "qr_png": .string("\(base)/\(id)/qr.png"), "qr_svg": .string("\(base)/\(id)/qr.svg")])
    }
}

/// What the window sees of a scan or claim (display-masked); delivery has just begun.
struct WindowViewBody: ResponseBody {
    let view: WindowView
    var json: JSONValue {
        .object([
            "submission": .string(view.submission), "item": .string(view.item), "approval_system": .string(view.approvalSystem),
            "holder": .object(["kind": .string(view.holderKind.rawValue), "id": .string(view.holderID), "name": .string(view.holderName)]),
            "agent": view.agentID.map { .object(["id": .string($0)]) } ?? .null,
            "licences": .array(view.licences.map { MaskedLicenceBody(licence: $0).json }),
            "delivery": .object(["status": .string(SubmissionState.pending.rawValue)]),
        ])
    }

    /// `json`'s canonical form, written directly: every scan answers with it.
    var canonicalBytes: [UInt8] {
        var writer = CanonicalWriter()
        write(into: &writer)
        return writer.bytes
    }

    /// `json`, member by member in RFC 8785's order (a test compares the two).
    func write(into writer: inout CanonicalWriter) {
        writer.object { w in
            w.member("agent")
            if let agent = view.agentID {
                w.object { w in
                    w.member("id")
                    w.string(agent)
                }
            } else {
                w.string(nil)
            }
            w.member("approval_system")
            w.string(view.approvalSystem)
            w.member("delivery")
            w.object { w in
                w.member("status")
                w.string(SubmissionState.pending.rawValue)
            }
            w.member("holder")
            w.object { w in
                w.member("id")
                w.string(view.holderID)
                w.member("kind")
                w.string(view.holderKind.rawValue)
                w.member("name")
                w.string(view.holderName)
            }
            w.member("item")
            w.string(view.item)
            w.member("licences")
            w.array(view.licences) { w, licence in MaskedLicenceBody(licence: licence).write(into: &w) }
            w.member("submission")
            w.string(view.submission)
        }
    }
}

/// `GET /v1/window-sessions/{id}`: waiting, expired, or claimed with the window's view.
struct WindowSessionStateBody: ResponseBody {
    let state: WindowSessionState
    var json: JSONValue {
        switch state {
        case .waiting: .object(["status": .string("waiting"), "result": .null])
        case .expired: .object(["status": .string("expired"), "result": .null])
        case .claimed(let view): .object(["status": .string("claimed"), "result": WindowViewBody(view: view).json])
        }
    }
}

/// A claimed window session (一码获取, the holder's side).
struct ClaimBody: ResponseBody {
    let session: String
    let submission: String
    var json: JSONValue { .object(["session": .string(session), "status": .string("claimed"), "submission": .string(submission)]) }
}

/// A submission's delivery state.
struct SubmissionBody: ResponseBody {
    let submission: SubmissionStatus
    var json: JSONValue {
        .object([
            "id": .string(submission.id), "item": .string(submission.item), "approval_system": .string(submission.approvalSystem),
            "status": .string(submission.status.rawValue), "attempts": .int(Int64(submission.attempts)),
            "last_error": .string(submission.lastError), "delivered_at": .time(submission.deliveredAt),
            "created_at": .time(submission.createdAt),
            "cross_region": .array(submission.crossRegion.map { side in
                .object([
                    "region": .string(side.region), "role": .string(side.role), "request": .string(side.request),
                    "peer_request": .string(side.peerRequest), "peer_status": .string(side.peerStatus),
                    "peer_attempts": side.peerAttempts.map { .int(Int64($0)) } ?? .null, "peer_delivered_at": .time(side.peerDeliveredAt),
                    "checked_at": .time(side.checkedAt),
                ])
            }),
        ])
    }
}

/// A forwarded submission as the deciding region answers its sender (异地代收).
struct ReceivedSubmissionBody: ResponseBody {
    let submission: SubmissionStatus
    var json: JSONValue {
        .object([
            "submission": .string(submission.id), "status": .string(submission.status.rawValue), "attempts": .int(Int64(submission.attempts)),
            "delivered_at": .time(submission.deliveredAt),
        ])
    }
}

/// Every problem code the API answers with: its HTTP status, the problem document's
/// `title`, and when it happens. This is the only list; `MSBError` takes a case, never a
/// string, and docs/errors.md and openapi.yaml's `Problem.code` are checked against it.
public enum ProblemCode: String, CaseIterable, Sendable {
    // Generic
    case badRequest = "bad_request"
    case unauthorized
    case forbidden
    case notFound = "not_found"
    case methodNotAllowed = "method_not_allowed"
    case payloadTooLarge = "payload_too_large"
    case validationFailed = "validation_failed"
    case rateLimited = "rate_limited"
    case storageUnavailable = "storage_unavailable"
    case `internal`
    // Clients and registries
    case lastAdmin = "last_admin"
    case licenceTypeExists = "licence_type_exists"
    case unknownLicenceType = "unknown_licence_type"
    case approvalSystemExists = "approval_system_exists"
    case unknownApprovalSystem = "unknown_approval_system"
    case itemExists = "item_exists"
    case itemUnknown = "item_unknown"
    case faceAuthProviderExists = "face_auth_provider_exists"
    // Identity and licences
    case invalidCitizenID = "invalid_citizen_id"
    case invalidCreditCode = "invalid_credit_code"
    case licenceTypeNotPermitted = "licence_type_not_permitted"
    case licenceOwnedByOtherIssuer = "licence_owned_by_other_issuer"
    case licenceHolderImmutable = "licence_holder_immutable"
    case licenceNotInWallet = "licence_not_in_wallet"
    case licenceRevoked = "licence_revoked"
    case licenceExpired = "licence_expired"
    // Face authentication, holder sessions and agents
    case attestationInvalid = "attestation_invalid"
    case nonceInvalid = "nonce_invalid"
    case faceAuthFailed = "face_auth_failed"
    case holderSessionRequired = "holder_session_required"
    case holderSessionMismatch = "holder_session_mismatch"
    case businessLicenceMissing = "business_licence_missing"
    case agentNotAuthorized = "agent_not_authorized"
    // Consents, codes and scans
    case consentWithdrawn = "consent_withdrawn"
    case consentExpired = "consent_expired"
    case consentScope = "consent_scope"
    case tokenInvalid = "token_invalid"
    case tokenExpired = "token_expired"
    case tokenUsed = "token_used"
    case tokenRevoked = "token_revoked"
    case wrongHall = "wrong_hall"
    // Delivery
    case submissionNotDead = "submission_not_dead"
    // 赋码入企: units, officials, protected enterprises and visits
    case unitExists = "unit_exists"
    case unitUnknown = "unit_unknown"
    case officialExists = "official_exists"
    case officialUnknown = "official_unknown"
    case enterpriseNotProtected = "enterprise_not_protected"
    case officialsInsufficient = "officials_insufficient"
    case visitStateConflict = "visit_state_conflict"
    case visitEventOutOfOrder = "visit_event_out_of_order"
    case visitAlreadyRated = "visit_already_rated"
    // 码上问
    case questionStateConflict = "question_state_conflict"
    case questionAlreadyRated = "question_already_rated"
    case profileMissing = "profile_missing"
    // 跨域通办
    case regionSignatureInvalid = "region_signature_invalid"
    case regionRequestReplayed = "region_request_replayed"
    case peerUnavailable = "peer_unavailable"
    case idempotencyKeyReused = "idempotency_key_reused"
    case cosignatureInvalid = "cosignature_invalid"

    /// The HTTP status, the problem's `title`, and when the API answers with it.
    public var entry: (status: Int, title: String, meaning: String) {
        switch self {
        case .badRequest: (400, "Bad request", "Malformed JSON, a field of the wrong type, or a request that could not be read.")
        case .unauthorized: (401, "Unauthorized", "No bearer token, or one that is unknown or deleted.")
        case .forbidden: (403, "Forbidden", "A known token whose role may not use this route.")
        case .notFound: (404, "Not found", "No such route, or no such object among the caller's own (another party's is not found either).")
        case .methodNotAllowed: (405, "Method not allowed", "The route exists but not with this method.")
        case .payloadTooLarge: (413, "Payload too large", "A body over 1 MiB (a batch import: 64 MiB), or a batch line over 1 MiB.")
        case .validationFailed: (422, "Validation failed", "A well-formed request that breaks a field rule; `detail` names the field.")
        case .rateLimited: (429, "Too many requests", "Over a rate limit (per address, client or holder); `Retry-After` says when to try again.")
        case .storageUnavailable: (503, "Storage unavailable", "The disk is full or the database busy; reads keep working.")
        case .internal: (500, "Internal error", "A failure of the server's own; `detail` carries the request id to look up in the log.")
        case .lastAdmin: (409, "Last admin", "Deleting the last admin client.")
        case .licenceTypeExists: (422, "Licence type exists", "A licence type with this code exists already.")
        case .unknownLicenceType: (422, "Unknown licence type", "A licence, item or issuer names a licence type that does not exist.")
        case .approvalSystemExists: (422, "Approval system exists", "An approval system with this code exists already.")
        case .unknownApprovalSystem: (422, "Unknown approval system", "An item names an approval system that does not exist.")
        case .itemExists: (422, "Item exists", "An item with this code exists already.")
        case .itemUnknown: (404, "Item unknown", "A consent, scan or window session names an item that does not exist.")
        case .faceAuthProviderExists: (422, "Face auth provider exists", "A face-auth provider with this public key is registered already.")
        case .invalidCitizenID: (422, "Invalid citizen id", "Not an 18-character citizen ID number (GB 11643) with a valid check character.")
        case .invalidCreditCode: (422, "Invalid credit code", "Not an 18-character unified social credit code (GB 32100) with a valid check character.")
        case .licenceTypeNotPermitted: (403, "Licence type not permitted", "The issuer client may not issue this licence type.")
        case .licenceOwnedByOtherIssuer: (403, "Licence owned by other issuer", "The licence was issued by another issuing authority.")
        case .licenceHolderImmutable: (409, "Licence holder immutable", "An update names another holder; a licence's holder never changes.")
        case .licenceNotInWallet: (422, "Licence not in wallet", "A consent names a licence that is not in the holder's wallet.")
        case .licenceRevoked: (409, "Licence revoked", "The licence was revoked by its issuer.")
        case .licenceExpired: (409, "Licence expired", "The licence is past its `valid_until`.")
        case .attestationInvalid: (422, "Attestation invalid", "A bad signature, an unknown or revoked provider, a wrong subject or a stale `iat`.")
        case .nonceInvalid: (422, "Nonce invalid", "The challenge nonce is unknown, used, expired, or for another subject, purpose or app.")
        case .faceAuthFailed: (403, "Face auth failed", "The attestation's result is not `pass` or its score is under the threshold.")
        case .holderSessionRequired: (401, "Holder session required", "No live `MSB-Holder-Session` for a route that acts for a holder.")
        case .holderSessionMismatch: (403, "Holder session mismatch", "The holder session is another app's, or another holder's.")
        case .businessLicenceMissing: (422, "Business licence missing", "The enterprise has no valid business licence naming its legal representative.")
        case .agentNotAuthorized: (403, "Agent not authorized", "The person is not a live agent of the enterprise.")
        case .consentWithdrawn: (410, "Consent withdrawn", "The consent was withdrawn.")
        case .consentExpired: (403, "Consent expired", "The consent's time ran out.")
        case .consentScope: (403, "Consent scope", "The consent names another item, or lacks a licence type the item needs.")
        case .tokenInvalid: (422, "Token invalid", "A malformed QR token, a bad signature, an unknown `kid`, or a wrong `typ` or `iss`.")
        case .tokenExpired: (410, "Token expired", "The QR token is past its `exp`.")
        case .tokenUsed: (409, "Token used", "The QR token (or window session) was consumed already.")
        case .tokenRevoked: (410, "Token revoked", "The QR token was replaced, deleted, or died with its consent.")
        case .wrongHall: (403, "Wrong hall", "The code or window session is bound to another service hall.")
        case .submissionNotDead: (409, "Submission not dead", "Only a dead submission can be re-queued.")
        case .unitExists: (422, "Unit exists", "A unit with this code is registered already.")
        case .unitUnknown: (422, "Unit unknown", "A client, appointment or transfer names a unit that is not registered.")
        case .officialExists: (422, "Official exists", "The unit has an official with this id already.")
        case .officialUnknown: (422, "Official unknown", "A visit lists an official who is not (or no longer) one of the unit's.")
        case .enterpriseNotProtected: (422, "Enterprise not protected", "Visits and their codes are only for protected enterprises.")
        case .officialsInsufficient: (422, "Officials insufficient", "An inspection lists fewer than two officials with credential numbers.")
        case .visitStateConflict: (409, "Visit state conflict", "The visit or appointment is not in a state that allows this (withdrawn, decided, joined…).")
        case .visitAlreadyRated: (409, "Visit already rated", "The enterprise has rated this visit already (码上评 is once per visit).")
        case .questionStateConflict: (409, "Question state conflict", "The question is not in a state that allows this (accepted already, completed…).")
        case .profileMissing: (409, "Profile missing", "The enterprise has not set its profile (industry, region, scale) yet.")
        case .regionSignatureInvalid: (401, "Region signature invalid",
                                       "A region-to-region request without a valid RFC 9421 signature by a pinned key of a peer region.")
        case .regionRequestReplayed: (401, "Region request replayed",
                                      "A region-to-region request signed more than 5 minutes ago (or ahead), or whose nonce was seen before.")
        case .peerUnavailable: (503, "Peer unavailable",
                                "A peer region did not answer in time (or refused this region's request); nothing was consumed, try again.")
        case .cosignatureInvalid: (422, "Cosignature invalid",
                                   "Not a C2SP cosignature of that checkpoint by the witness name and a pinned key of the signing region.")
        case .idempotencyKeyReused: (422, "Idempotency key reused", "The Idempotency-Key came before with a different request.")
        case .questionAlreadyRated: (409, "Question already rated", "The enterprise has rated this answer already (once per question).")
        case .visitEventOutOfOrder: (409, "Visit event out of order", "An entry when already inside today, or an exit without an entry.")
        }
    }

    public var status: Int { entry.status }
    public var title: String { entry.title }
}

extension ProblemCode {
    /// docs/errors.md: every code with its status, title and meaning, in catalogue order.
    /// Checked by a test; regenerate with `make docs`.
    public static var markdown: String {
        var out = """
            # Problem codes

            Every error the API answers with is an RFC 9457 problem document
            (`application/problem+json`): `{"type":"urn:mashangban:problem:<code>","title","status","detail","code"}`.
            `code` is stable; `detail` is for people and may change. This page is generated from
            `Sources/MaShangBan/Errors/ProblemCode.swift` (`make docs`); a test keeps the two equal.

            | code | status | title | when |
            |---|---|---|---|

            """
        for code in allCases {
            out += "| `\(code.rawValue)` | \(code.status) | \(code.title) | \(code.entry.meaning) |\n"
        }
        return out
    }
}

import MaShangBan

/// A client (`POST`/`GET /v1/clients`); the token only in the answer that created it.
struct ClientBody: ResponseBody {
    let client: Client
    var token: String?

    var json: JSONValue {
        var members: [String: JSONValue] = [
            "id": .string(client.id), "role": .string(client.role.rawValue), "name": .string(client.name),
            "hall": .string(client.hall), "window": .string(client.window), "created_at": .time(client.createdAt),
        ]
        if client.role == .issuer {  // null for an issuer registered before issuers had codes
            members["issuer_code"] = .string(client.issuerCode)
            members["licence_types"] = client.licenceTypes.map { .array($0.map(JSONValue.string)) } ?? .null
        }
        if client.role == .unit || client.role == .enterprise { members[client.role.rawValue] = .string(client.party) }
        if let token { members["token"] = .string(token) }
        return .object(members)
    }
}

/// A page of clients and the id to ask after for the next (`null` on the last).
struct ClientPageBody: ResponseBody {
    let clients: [Client]
    let next: String?
    var json: JSONValue { .object(["clients": .array(clients.map { ClientBody(client: $0).json }), "next": .string(next)]) }
}

/// `GET /v1/keys`.
struct KeysBody: ResponseBody {
    let region: String
    let keys: [PublishedKey]
    var json: JSONValue {
        .object([
            "region": .string(region),
            "keys": .array(keys.map { key in
                .object(["kid": .string(key.kid), "alg": .string(key.alg), "public_key_pem": .string(key.publicKeyPEM),
                         "fingerprint": key.fingerprint.map(JSONValue.string) ?? .null, "status": .string(key.status),
                         "retired_at": .time(key.retiredAt)])
            }),
        ])
    }
}

/// An audit record as the chain holds it (the form its hash covers, with the hash).
struct AuditRecordBody: ResponseBody {
    let record: AuditRecord
    var json: JSONValue {
        .object([
            "seq": .int(record.seq), "ts": .string(record.ts), "actor": .string(record.actor), "action": .string(record.action),
            "object": .string(record.object), "detail": record.detail, "prev": .string(record.prev), "hash": .string(record.hash),
        ])
    }
}

/// `GET /v1/audit/entries`: a page and the `after` of the next (`null` on the last).
struct AuditPageBody: ResponseBody {
    let entries: [AuditRecord]
    let next: Int64?
    var json: JSONValue {
        .object(["entries": .array(entries.map { AuditRecordBody(record: $0).json }), "next": next.map(JSONValue.int) ?? .null])
    }
}

/// A signed checkpoint, as the checkpoint file holds it.
struct CheckpointBody: ResponseBody {
    let checkpoint: AuditCheckpoint
    var json: JSONValue { checkpoint.json }
}

/// `GET /v1/audit/proofs/inclusion` and `/consistency`.
extension AuditProofs.Inclusion: ResponseBody {}
extension AuditProofs.Consistency: ResponseBody {}

/// `GET /v1/audit/verify`.
struct VerificationBody: ResponseBody {
    let verification: AuditVerification
    var json: JSONValue {
        if verification.ok {
            return .object(["ok": .bool(true), "size": .int(verification.size ?? 0), "head": .string(verification.head)])
        }
        var members: [String: JSONValue] = ["ok": .bool(false), "first_bad_seq": verification.firstBadSeq.map(JSONValue.int) ?? .null,
                                            "reason": .string(verification.reason)]
        if let detail = verification.detail { members["detail"] = .string(detail) }
        return .object(members)
    }
}

/// `GET /v1/stats`.
struct StatsBody: ResponseBody {
    let report: Stats.Report

    static func submissions(_ counts: [SubmissionState: Int64]) -> JSONValue {
        .object(Dictionary(uniqueKeysWithValues: SubmissionState.allCases.map { ($0.rawValue, JSONValue.int(counts[$0] ?? 0)) }))
    }

    static func scans(accepted: Int64, rejected: [String: Int64]) -> JSONValue {
        .object(["accepted": .int(accepted), "rejected": .object(rejected.mapValues(JSONValue.int))])
    }

    var json: JSONValue {
        .object([
            "consents": .object(["granted": .int(report.consentsGranted), "withdrawn": .int(report.consentsWithdrawn),
                                 "live": .int(report.consentsLive)]),
            "presentations": .object(["issued": .int(report.presentationsIssued), "scanned": .int(report.presentationsScanned),
                                      "revoked": .int(report.presentationsRevoked)]),
            "scans": Self.scans(accepted: report.scansAccepted, rejected: report.scansRejected),
            "submissions": Self.submissions(report.submissions),
            "items": .object(report.items.mapValues { item in
                .object(["consents": .int(item.consents), "scans": Self.scans(accepted: item.scansAccepted, rejected: item.scansRejected),
                         "submissions": Self.submissions(item.submissions)])
            }),
        ])
    }
}

/// A year of the working-day calendar, its days sorted.
struct CalendarYearBody: ResponseBody {
    let year: WorkingCalendar.Year
    let updatedAt: Timestamp
    var json: JSONValue {
        .object(["year": .int(Int64(year.year)), "holidays": .array(year.holidays.sorted().map { .string($0.text) }),
                 "workdays": .array(year.workdays.sorted().map { .string($0.text) }), "updated_at": .time(updatedAt)])
    }
}

/// `GET /readyz`: ready, and what an operator should see to (a missing calendar year).
struct ReadyBody: ResponseBody {
    let warnings: [String]
    var json: JSONValue { .object(["status": .string("ready"), "warnings": .array(warnings.map(JSONValue.string))]) }
}

/// A peer region with its pins and keys (`/v1/peers`).
struct PeerBody: ResponseBody {
    let peer: Peer
    var json: JSONValue {
        .object([
            "region": .string(peer.region), "name": .string(peer.name), "base_url": .string(peer.baseURL),
            "key_fingerprints": .array(peer.pins.map(JSONValue.string)), "created_at": .time(peer.createdAt),
            "refreshed_at": .time(peer.refreshedAt), "refresh_error": peer.refreshError.map(JSONValue.string) ?? .null,
            "keys": .array(peer.keys.map { key in
                .object(["kid": .string(key.kid), "alg": .string(key.alg), "fingerprint": .string(key.fingerprint), "status": .string(key.status),
                         "retired_at": .time(key.retiredAt)])
            }),
            "items": .array(peer.items.map { item in
                .object(["national_code": .string(item.nationalCode), "name": .string(item.name), "required": .array(item.required.map(JSONValue.string))])
            }),
        ])
    }
}

/// What a refresh did to one peer's keys (`POST /v1/peers/refresh`).
struct RefreshedBody: ResponseBody {
    let refreshed: PeerRegistry.Refreshed
    var json: JSONValue {
        let list = { (kids: [String]) in JSONValue.array(kids.map(JSONValue.string)) }
        return .object(["region": .string(refreshed.region), "added": list(refreshed.added), "retired": list(refreshed.retired),
                        "refused": list(refreshed.refused), "items": refreshed.items.map { JSONValue.int(Int64($0)) } ?? .null,
                        "error": refreshed.error.map(JSONValue.string) ?? .null,
                        "witness": refreshed.witness.map { witness in
                            .object(["status": .string(witness.status), "size": witness.size.map(JSONValue.int) ?? .null,
                                     "detail": .string(witness.detail)])
                        } ?? .null])
    }
}

/// The newest checkpoint peers cosigned (`GET /v1/audit/checkpoints/cosigned`).
struct CosignedCheckpointBody: ResponseBody {
    let checkpoint: AuditCheckpoint
    let note: String
    let cosignatures: [(region: String, timestamp: Int64)]
    var json: JSONValue {
        guard case .object(var members) = checkpoint.json else { return checkpoint.json }
        members["note"] = .string(note)
        members["cosignatures"] = .array(cosignatures.map { .object(["region": .string($0.region), "timestamp": .int($0.timestamp)]) })
        return .object(members)
    }
}

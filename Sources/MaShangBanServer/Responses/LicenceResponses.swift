import MaShangBan

/// One imported or revoked licence: its id and state.
struct LicenceStateBody: ResponseBody {
    let id: String
    let status: LicenceStatus
    var json: JSONValue { .object(["id": .string(id), "status": .string(status.rawValue)]) }
}

/// A batch import's outcome: lines stored, and the refused ones with why.
struct BatchResultBody: ResponseBody {
    let result: BatchImport.Result
    var json: JSONValue {
        .object([
            "accepted": .int(Int64(result.accepted)), "rejected_count": .int(Int64(result.rejectedCount)),
            "rejected": .array(result.rejected.map { .object(["line": .int(Int64($0.line)), "code": .string($0.code),
                                                               "detail": .string($0.detail)]) }),
        ])
    }
}

/// A display-masked licence: as a wallet entry (`summary`), or with its fields, issuer and
/// start (the library and the window).
struct MaskedLicenceBody: ResponseBody {
    let licence: MaskedLicence
    var summary = false

    var json: JSONValue {
        var members: [String: JSONValue] = [
            "id": .string(licence.id), "type": .string(licence.type), "name": .string(licence.name), "number": .string(licence.number),
            "status": .string(licence.status.rawValue), "valid_until": .date(licence.validUntil),
        ]
        if !summary {
            members["fields"] = .object(licence.fields.mapValues(JSONValue.string))
            members["issuer"] = .string(licence.issuer)
            members["valid_from"] = .string(licence.validFrom.text)
        }
        return .object(members)
    }

    /// `json`, member by member in RFC 8785's order (a test compares the two).
    func write(into writer: inout CanonicalWriter) {
        writer.object { w in
            if !summary {
                w.member("fields")
                w.strings(licence.fields)
            }
            w.member("id")
            w.string(licence.id)
            if !summary {
                w.member("issuer")
                w.string(licence.issuer)
            }
            w.member("name")
            w.string(licence.name)
            w.member("number")
            w.string(licence.number)
            w.member("status")
            w.string(licence.status.rawValue)
            w.member("type")
            w.string(licence.type)
            if !summary {
                w.member("valid_from")
                w.string(licence.validFrom.text)
            }
            w.member("valid_until")
            w.string(licence.validUntil?.text)
        }
    }
}

/// `GET /v1/holders/{holder}/library`.
struct LibraryBody: ResponseBody {
    let licences: [MaskedLicence]
    var json: JSONValue { .object(["licences": .array(licences.map { MaskedLicenceBody(licence: $0).json })]) }
}

/// A wallet, and after a sync the ids it added.
struct WalletBody: ResponseBody {
    let wallet: [MaskedLicence]
    var added: [String]?
    var json: JSONValue {
        var members: [String: JSONValue] = ["wallet": .array(wallet.map { MaskedLicenceBody(licence: $0, summary: true).json })]
        if let added { members["added"] = .array(added.map(JSONValue.string)) }
        return .object(members)
    }
}

/// A holder's disclosures (`GET /v1/holders/{holder}/disclosures`).
struct DisclosuresBody: ResponseBody {
    let listing: HolderDisclosures.Listing
    var json: JSONValue {
        .object([
            "checkpoint": listing.checkpoint.map { checkpoint in
                .object(["size": .int(checkpoint.size), "root": .string(checkpoint.root), "note": .string(listing.cosignedNote)])
            } ?? .null,
            "disclosures": .array(listing.disclosures.map { d in
                .object([
                    "kind": .string(d.kind), "id": .string(d.id), "at": .time(d.at), "item": .string(d.item), "item_name": .string(d.itemName),
                    "recipient": .object(["kind": .string(d.recipientKind), "id": .string(d.recipient)]),
                    "fields": .object(d.fields.mapValues(JSONValue.string)), "seq": d.seq.map(JSONValue.int) ?? .null,
                    "proof": d.proof?.json ?? .null,
                ])
            }),
        ])
    }
}

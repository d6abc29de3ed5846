/// A licence as a window or the holder's app sees it: its number and every field
/// display-masked by class (a field whose class hides it is left out).
public struct MaskedLicence: Sendable, Equatable {
    public let id: String
    public let type: String
    /// The type's name (居民身份证, …).
    public let name: String
    public let number: String
    public let status: LicenceStatus
    public let validFrom: CalendarDate
    public let validUntil: CalendarDate?
    public let issuer: String
    public let fields: [String: String]
}

/// What the window sees of a scan or claim: the submission it made, the holder and agent
/// display-masked, and the licences the item needed, masked. Delivery is pending then.
public struct WindowView: Sendable, Equatable {
    public let submission: String
    public let item: String
    /// Nil when another region decides the item (异地代收).
    public let approvalSystem: String?
    public let holderKind: HolderKind
    /// A person's masked citizen ID, or an enterprise's credit code (public).
    public let holderID: String
    /// A person's masked name, or the enterprise's name; nil when no licence carries one.
    public let holderName: String?
    /// The agent's masked citizen ID, for an enterprise's consent.
    public let agentID: String?
    public let licences: [MaskedLicence]
}

/// What others see of a licence. Pure functions over the display masks.
public enum DisclosureView {
    /// A licence display-masked.
    public static func masked(_ licence: Licence, masks: MaskTable, today: CalendarDate) -> MaskedLicence {
        var fields: [String: String] = [:]
        for field in licence.type.fields {
            guard let value = licence.fields[field.name], let masked = masks.mask(value, as: field.fieldClass) else { continue }
            fields[field.name] = masked
        }
        return MaskedLicence(id: licence.id, type: licence.type.code, name: licence.type.name,
                             number: masks.mask(licence.number, as: licence.type.numberClass) ?? "",
                             status: licence.status(today: today), validFrom: licence.validFrom, validUntil: licence.validUntil,
                             issuer: licence.issuer, fields: fields)
    }

    /// The window's view of a hand-over.
    static func window(submission: String, item: Item, holder: HolderID, agent: CitizenID?, licences: [Licence], masks: MaskTable,
                       today: CalendarDate) -> WindowView {
        let holderID: String
        let holderName: String?
        switch holder {
        case .person(let id):
            holderID = masks.mask(id.value, as: .citizenID) ?? ""
            holderName = licences.lazy.compactMap { $0.fields["name"] }.first.flatMap { masks.mask($0, as: .personName) }
        case .enterprise(let code):
            holderID = code.value
            holderName = licences.lazy.compactMap { $0.fields["enterprise_name"] }.first
        }
        return WindowView(submission: submission, item: item.code, approvalSystem: item.approvalSystem, holderKind: holder.kind,
                          holderID: holderID, holderName: holderName, agentID: agent.map { masks.mask($0.value, as: .citizenID) ?? "" },
                          licences: licences.map { masked($0, masks: masks, today: today) })
    }
}

extension WindowView {
    /// How a claimed window session keeps its view, sealed, until the window reads it (a
    /// storage form; the API's is drawn by the server): canonical JSON, written directly,
    /// since a claim writes one on every hand-over. `init(stored:)` reads it back.
    var storedText: String {
        var writer = CanonicalWriter()
        writer.object { w in
            w.member("agent")
            if let agentID {
                w.object { w in
                    w.member("id")
                    w.string(agentID)
                }
            } else {
                w.string(nil)
            }
            w.member("approval_system")
            w.string(approvalSystem)
            w.member("holder")
            w.object { w in
                w.member("id")
                w.string(holderID)
                w.member("kind")
                w.string(holderKind.rawValue)
                w.member("name")
                w.string(holderName)
            }
            w.member("item")
            w.string(item)
            w.member("licences")
            w.array(licences) { w, licence in licence.writeStored(into: &w) }
            w.member("submission")
            w.string(submission)
        }
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// `storedText` as a value, for an answer that embeds it (a peer's redemption, not a hot
    /// path). The writer's text always parses (`StoredViewTests`).
    var stored: JSONValue { JSONValue.parse(Array(storedText.utf8)) ?? .null }

    init?(stored value: JSONValue) {
        guard let submission = value["submission"]?.stringValue, let item = value["item"]?.stringValue,
              let holder = value["holder"],
              let kind = holder["kind"]?.stringValue.flatMap(HolderKind.init(rawValue:)), let holderID = holder["id"]?.stringValue,
              case .array(let licences)? = value["licences"]
        else { return nil }
        let parsed = licences.compactMap(MaskedLicence.init(stored:))
        guard parsed.count == licences.count else { return nil }
        self.init(submission: submission, item: item, approvalSystem: value["approval_system"]?.stringValue, holderKind: kind, holderID: holderID,
                  holderName: holder["name"]?.stringValue, agentID: value["agent"]?["id"]?.stringValue, licences: parsed)
    }
}

extension MaskedLicence {
    /// The licence in a stored window view (`WindowView.storedText`), members in RFC 8785's order.
    func writeStored(into writer: inout CanonicalWriter) {
        writer.object { w in
            w.member("fields")
            w.strings(fields)
            w.member("id")
            w.string(id)
            w.member("issuer")
            w.string(issuer)
            w.member("name")
            w.string(name)
            w.member("number")
            w.string(number)
            w.member("status")
            w.string(status.rawValue)
            w.member("type")
            w.string(type)
            w.member("valid_from")
            w.string(validFrom.text)
            w.member("valid_until")
            w.string(validUntil?.text)
        }
    }

    init?(stored value: JSONValue) {
        guard let id = value["id"]?.stringValue, let type = value["type"]?.stringValue, let name = value["name"]?.stringValue,
              let number = value["number"]?.stringValue, let status = value["status"]?.stringValue.flatMap(LicenceStatus.init(rawValue:)),
              let validFrom = value["valid_from"]?.stringValue.flatMap(CalendarDate.init), let issuer = value["issuer"]?.stringValue,
              case .object(let fields)? = value["fields"]
        else { return nil }
        self.init(id: id, type: type, name: name, number: number, status: status, validFrom: validFrom,
                  validUntil: value["valid_until"]?.stringValue.flatMap(CalendarDate.init), issuer: issuer,
                  fields: fields.compactMapValues(\.stringValue))
    }
}

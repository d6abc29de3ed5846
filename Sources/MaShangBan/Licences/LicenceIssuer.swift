/// An issuer client as the licence library sees it: who owns what it writes, and which types
/// it may issue. Issuers own what they issue (THREAT_MODEL.md): a licence belongs to the
/// issuing authority's credit code; one written before issuers had codes belongs to the
/// client that last wrote it.
public struct LicenceIssuer: Sendable {
    public let clientID: String
    /// The issuing authority's credit code; nil for an issuer registered before codes.
    public let code: String?
    /// The display name licences carry (`issuer`): the client's name, never the body's.
    public let name: String
    /// The types it may issue; nil (any) for an issuer registered before lists.
    public let licenceTypes: Set<String>?

    /// The issuer a client is; 403 `forbidden` for any other role.
    public init(_ client: Client) throws {
        guard client.role == .issuer else { throw MSBError.forbidden("only issuer clients write licences") }
        (clientID, code, name, licenceTypes) = (client.id, client.issuerCode, client.name, client.licenceTypes.map(Set.init))
    }

    var actor: AuditActor { .client(clientID) }

    /// 403 `licence_type_not_permitted` unless this issuer may issue `type`.
    func requirePermitted(_ type: String) throws {
        if let licenceTypes, !licenceTypes.contains(type) {
            throw MSBError(.licenceTypeNotPermitted, "this issuer may not issue licences of this type")
        }
    }

    /// 403 `licence_owned_by_other_issuer` unless this issuer owns a stored licence whose
    /// owner columns are `code` and `client`.
    func requireOwner(code storedCode: String?, client storedClient: String?) throws {
        let owns = storedCode.map { $0 == code } ?? (storedClient == clientID)
        guard owns else {
            throw MSBError(.licenceOwnedByOtherIssuer, "this licence was issued by another issuer")
        }
    }
}

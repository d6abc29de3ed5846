import Foundation
import HummingbirdTesting
@testable import MaShangBan
import MaShangBanTestSupport
import Testing
@testable import MaShangBanServer

/// 赋码入企 set up through the API: two units (应急管理局, head `Sample.person`; 消防救援支队,
/// head `Sample.otherPerson`), their officials, three protected enterprises, the safety
/// unit's filing of two inspections of `enterprise` in 2027, and a client for each party.
struct Visiting {
    static let safety = "hy-safety"
    static let fire = "hy-fire"
    static let enterprise = Sample.enterprise
    static let otherEnterprise = Sample.issuerCode
    static let thirdEnterprise = Sample.otherIssuerCode
    static let matter = "安全生产检查"

    let client: any TestClientProtocol
    /// Unit clients' tokens, by unit code.
    let units: [String: String]
    /// The door terminal of `enterprise`, and of `otherEnterprise`.
    let door: String
    let otherDoor: String
    let supervisor: String
    let provider: any SignatureSigner
    /// Supervisor webhook secrets, by unit code.
    let secrets: [String: String]
    let now: Now

    static func open(_ client: any TestClientProtocol, now: @escaping Now, supervisorWebhook: String = "http://127.0.0.1:9/notices")
        async throws -> Visiting
    {
        var secrets: [String: String] = [:]
        for (code, name, head) in [(safety, "衡阳市应急管理局", Sample.person), (fire, "衡阳市消防救援支队", Sample.otherPerson)] {
            let created = try await client.call(.post, "/v1/units", json: #"""
                {"code":"\#(code)","name":"\#(name)","head":"\#(head)","supervisor_webhook":"\#(supervisorWebhook)"}
                """#)
            #expect(created.status == .created, "\(created.text)")
            secrets[code] = try #require(try created.json()["secret"] as? String)
        }
        for (unit, id, name, credential) in [(safety, "s1", "李执法", "43040001"), (safety, "s2", "王检查", "43040002"),
                                             (safety, "s3", "赵文员", nil), (fire, "f1", "周消防", "43040101"),
                                             (fire, "f2", "吴安全", "43040102")] {
            let number = credential.map { #","credential_no":"\#($0)""# } ?? ""
            let added = try await client.call(.post, "/v1/units/\(unit)/officials", json: #"{"id":"\#(id)","name":"\#(name)"\#(number)}"#)
            #expect(added.status == .created, "\(added.text)")
        }
        let batch = [enterprise, otherEnterprise, thirdEnterprise].enumerated()
            .map { #"{"credit_code":"\#($1)","name":"衡阳重点企业\#($0 + 1)"}"# }.joined(separator: "\n")
        let protected = try await client.call(.post, "/v1/protected-enterprises/batch", json: batch)
        #expect(try protected.json()["accepted"] as? Int == 3, "\(protected.text)")
        #expect(try await client.call(.post, "/v1/units/\(safety)/filings",
                                      json: #"{"year":2027,"enterprise":"\#(enterprise)","type":"inspection","count":2}"#).status == .created)
        var units: [String: String] = [:]
        for code in [safety, fire] { units[code] = try await client.createClient(role: "unit", party: code).token }
        return Visiting(client: client, units: units, door: try await client.createClient(role: "enterprise", party: enterprise).token,
                        otherDoor: try await client.createClient(role: "enterprise", party: otherEnterprise).token,
                        supervisor: try await client.createClient(role: "supervisor").token, provider: try await client.registerProvider(),
                        secrets: secrets, now: now)
    }

    func token(_ unit: String) -> String { units[unit] ?? "" }

    /// `POST /v1/visits` by `unit`.
    func apply(_ unit: String = safety, type: String = "inspection", matter: String = Visiting.matter, enterprise: String = Visiting.enterprise,
               officials: [String] = ["s1", "s2"], from: String = "2027-01-20", until: String = "2027-01-29",
               dates: [String]? = ["2027-01-22", "2027-01-23"]) async throws -> TestResponse {
        var body: [String: JSONValue] = ["enterprise": .string(enterprise), "type": .string(type), "matter": .string(matter),
                                         "legal_basis": "《安全生产法》第六十五条", "officials": .array(officials.map(JSONValue.string)),
                                         "from": .string(from), "until": .string(until), "purpose": "年度安全生产执法检查"]
        if let dates { body["dates"] = .array(dates.map(JSONValue.string)) }
        return try await client.call(.post, "/v1/visits", token: token(unit), json: JSONValue.object(body).canonicalString)
    }

    /// Applies and returns the new visit's id.
    func applied(_ unit: String = safety, type: String = "inspection", matter: String = Visiting.matter,
                 enterprise: String = Visiting.enterprise, officials: [String]? = nil, dates: [String]? = ["2027-01-22", "2027-01-23"])
        async throws -> String
    {
        let response = try await apply(unit, type: type, matter: matter, enterprise: enterprise,
                                       officials: officials ?? (unit == Self.safety ? ["s1", "s2"] : ["f1", "f2"]), dates: dates)
        #expect(response.status == .created, "\(response.text)")
        return try #require(try response.json()["id"] as? String)
    }

    /// The unit's head, seen by the face check its unit client asked for.
    func headAttestation(_ unit: String) async throws -> String {
        try await client.attestation(unit == Self.safety ? Sample.person : Sample.otherPerson, app: token(unit), provider: provider,
                                     purpose: "visit_approval", now: now())
    }

    func approve(_ id: String, unit: String = safety, unannounced: Bool = false) async throws -> TestResponse {
        let attestation = try await headAttestation(unit)
        return try await client.call(.post, "/v1/visits/\(id)/approve", token: token(unit),
                                     json: #"{"attestation":"\#(attestation)","unannounced":\#(unannounced)}"#)
    }

    func book(_ id: String, date: String, by party: String? = nil) async throws -> TestResponse {
        try await client.call(.post, "/v1/visits/\(id)/booking", token: party ?? door, json: #"{"date":"\#(date)"}"#)
    }

    /// Applies, books the 22nd and approves: an inspection whose code is green on 2027-01-22.
    func approvedVisit(_ unit: String = safety, type: String = "inspection", enterprise: String = Visiting.enterprise) async throws -> String {
        let id = try await applied(unit, type: type, enterprise: enterprise)
        let door = enterprise == Self.enterprise ? self.door : otherDoor
        #expect(try await book(id, date: "2027-01-22", by: door).status == .ok)
        let approved = try await approve(id, unit: unit)
        #expect(approved.status == .ok, "\(approved.text)")
        return id
    }

    func visit(_ id: String, token: String? = nil) async throws -> [String: Any] {
        try await client.call(.get, "/v1/visits/\(id)", token: token ?? self.token(Self.safety)).json()
    }

    func checks(_ id: String, unit: String = safety) async throws -> [String: Any] {
        try #require(try await visit(id, token: token(unit))["checks"] as? [String: Any])
    }

    func code(_ id: String, unit: String = safety) async throws -> [String: Any] {
        let response = try await client.call(.post, "/v1/visits/\(id)/code", token: token(unit))
        #expect(response.status == .ok, "\(response.text)")
        return try response.json()
    }

    func scan(_ token: String, event: String = "enter", door: String? = nil) async throws -> TestResponse {
        try await client.call(.post, "/v1/visit-scans", token: door ?? self.door, json: #"{"token":"\#(token)","event":"\#(event)"}"#)
    }
}

extension TestClientProtocol {
    /// A unit or enterprise client bound to `party`.
    func createClient(role: String, party: String) async throws -> (id: String, token: String) {
        let response = try await call(.post, "/v1/clients", json: #"{"role":"\#(role)","name":"test","\#(role)":"\#(party)"}"#)
        #expect(response.status == .created, "\(response.text)")
        let json = try response.json()
        return (try #require(json["id"] as? String), try #require(json["token"] as? String))
    }
}

import Foundation
import MaShangBan

/// `mashangban serve --demo`: sample data for a first session, loaded once per data
/// directory — an approval system served by the server itself (a stand-in), two items, two
/// persons and an enterprise with their licences in their wallets, an agent authorised by the
/// enterprise's legal representative, a face-auth stand-in provider whose key is in
/// `DIR/demo/face-auth-stub.pem`, a terminal, an app and an issuer client, and 赋码入企's
/// units, enterprises, visits and clients (`DemoVisits.swift`); the clients' tokens are kept in
/// `DIR/demo/clients.env` (mode 0600) so every start can print them.
public enum Demo {
    public static let approvalSystem = "hengyang-approval"
    public static let webhookPath = "/demo/approval-system/webhook"
    /// Where the demo units' supervisor notices go: a second stand-in on the server.
    public static let supervisorPath = "/demo/supervisor/webhook"
    public static let hall = "HY-ZX-01"
    public static let person = "430405198501011235"        // 王一静
    public static let representative = "430402199003150027"  // 李建国, the enterprise's legal representative
    public static let enterprise = "91430400MA4L0XXX16"     // 衡阳市湘江建设有限公司
    public static let issuerCode = "11430400MB1234567L"     // the demo issuer's authority (a made-up 机关 credit code)

    /// What a demo start needs to print and serve.
    public struct Setup: Sendable {
        public let terminalToken: String
        public let appToken: String
        public let issuerToken: String
        public let approvalSecret: String
        public let providerKey: URL
        /// 赋码入企: the units' and the enterprise's clients, the supervisor's, and the secrets
        /// the units' supervisor notices are signed with (the stand-in checks them too).
        public let unitToken: String
        public let otherUnitToken: String
        public let enterpriseToken: String
        public let supervisorToken: String
        public let supervisorSecrets: [String]
    }

    public static func directory(_ data: DataDirectory) -> URL { data.url.appendingPathComponent("demo", isDirectory: true) }

    /// Loads the sample data unless this data directory has it already; returns the tokens and paths.
    public static func load(_ backend: Backend, webhookBase: String) async throws -> Setup {
        let folder = directory(backend.dataDirectory)
        let providerKey = folder.appendingPathComponent("face-auth-stub.pem")
        let clientsFile = folder.appendingPathComponent("clients.env")
        let loaded = try await backend.services.meta.value(of: "demo_loaded") != nil
        if !loaded {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try await populate(backend, webhookURL: webhookBase + webhookPath, providerKey: providerKey, clientsFile: clientsFile)
        }
        try await loadCalendar(backend)
        if try await backend.services.meta.value(of: "demo_visits_loaded") == nil {
            let provider = try SignatureKeys.loadSigner(privateKeyPEM: String(decoding: try backend.dataDirectory.readSecret(providerKey), as: UTF8.self))
            let lines = try await loadVisits(backend, webhookURL: webhookBase + supervisorPath, provider: provider)
            let env = try backend.dataDirectory.readSecret(clientsFile)
            try backend.dataDirectory.writeSecret(env + Array(lines.utf8), to: clientsFile)
            try await backend.services.meta.insert("demo_visits_loaded", Timestamp.string(backend.services.now()))
        }
        try await loadPolicies(backend)
        let env = String(decoding: try backend.dataDirectory.readSecret(clientsFile), as: UTF8.self)
        var tokens: [String: String] = [:]
        for line in env.split(separator: "\n") {
            let pair = line.split(separator: "=", maxSplits: 1).map(String.init)
            if pair.count == 2 { tokens[pair[0]] = pair[1] }
        }
        var supervisorSecrets: [String] = []
        for unit in [safetyUnit, fireUnit] { supervisorSecrets += [try await backend.services.units.supervisorSecret(of: unit)].compactMap { $0 } }
        guard let terminal = tokens["TERMINAL"], let app = tokens["APP"], let issuer = tokens["ISSUER"], let unit = tokens["UNIT"],
              let otherUnit = tokens["UNIT2"], let door = tokens["ENTERPRISE"], let supervisor = tokens["SUPERVISOR"],
              let secret = try await backend.services.approvalSystems.secret(of: approvalSystem)
        else { throw StartupError("\(folder.path) is incomplete; remove it and the data directory to load the demo again") }
        try await point(backend, at: webhookBase)
        return Setup(terminalToken: terminal, appToken: app, issuerToken: issuer, approvalSecret: secret, providerKey: providerKey,
                     unitToken: unit, otherUnitToken: otherUnit, enterpriseToken: door, supervisorToken: supervisor,
                     supervisorSecrets: supervisorSecrets)
    }

    /// Keeps the demo approval system's webhook, and the units' supervisor webhooks, on this
    /// server's current address (`base`, e.g. `http://127.0.0.1:8080`).
    public static func point(_ backend: Backend, at base: String) async throws {
        try await backend.services.approvalSystems.repoint(approvalSystem, to: base + webhookPath, by: .system)
        for unit in [safetyUnit, fireUnit] { try await backend.services.units.repointSupervisor(unit, to: base + supervisorPath, by: .system) }
    }

    private static func populate(_ backend: Backend, webhookURL: String, providerKey: URL, clientsFile: URL) async throws {
        func decode<T: Decodable>(_ json: String) throws -> T { try JSONDecoder().decode(T.self, from: Data(json.utf8)) }
        let (_, terminal) = try await backend.services.clients.create(.init(role: "terminal", name: "蒸湘区政务服务中心 7号窗口", hall: hall, window: "W07"),
                                                             by: .system)
        let (app, appToken) = try await backend.services.clients.create(.init(role: "app", name: "码上办 app backend (demo)"), by: .system)
        let (issuerClient, issuer) = try await backend.services.clients.create(
            .init(role: "issuer", name: "衡阳市数据资源局 (demo)", issuerCode: issuerCode, licenceTypes: LicenceType.builtIns.map(\.code)),
            by: .system)
        _ = try await backend.services.approvalSystems.create(try decode(#"""
            {"code":"\#(approvalSystem)","name":"衡阳市一体化审批系统 (演示)","webhook_url":"\#(webhookURL)"}
            """#), by: .system)
        _ = try await backend.services.items.create(try decode(#"""
            {"code":"sb-transfer","name":"社保转移接续","approval_system":"\#(approvalSystem)",
             "required":["resident_id_card","social_security_card"],
             "fields":{"resident_id_card.name":"full","resident_id_card.id_number":"full",
                       "social_security_card.card_number":"masked","holder.id":"full"}}
            """#), by: .system)
        _ = try await backend.services.items.create(try decode(#"""
            {"code":"construction-permit","name":"建筑工程施工许可","approval_system":"\#(approvalSystem)",
             "required":["business_licence","planning_permit"],
             "fields":{"business_licence.enterprise_name":"full","business_licence.legal_representative":"masked",
                       "planning_permit.permit_number":"full","planning_permit.project_name":"full",
                       "planning_permit.site_address":"full","holder.id":"full","agent.id":"masked"}}
            """#), by: .system)
        for line in licences {
            _ = try await backend.services.library.importLicence(try decode(line), by: try LicenceIssuer(issuerClient))
        }
        let today = backend.services.now()
        for holder in [HolderID.person(try CitizenID(person, field: "person", today: today)),
                       .person(try CitizenID(representative, field: "person", today: today)),
                       .enterprise(try CreditCode(enterprise))] {
            _ = try await backend.services.wallet.sync(holder, by: .system)
        }
        // The face-auth stand-in provider, its private key in the data directory.
        let provider = try CryptoSuite(profile: .intl).signatures.generate()
        try DataDirectory.writeSecret(Array(try provider.privateKeyPEM().utf8), to: providerKey)
        _ = try await backend.services.faceAuth.registerProvider(name: "人脸识别 stand-in (demo)", publicKeyPEM: try provider.verifier.publicKeyPEM(),
                                                        by: .system)
        // 王一静 acts for the enterprise, authorised by its legal representative's face.
        let (nonce, _) = try await backend.services.faceAuth.challenge(subject: try CitizenID(representative, field: "subject", today: today),
                                                              purpose: .agentGrant, client: app)
        let attestation = try FaceAuth.attestation(
            FaceAuth.Claims(sub: representative, nonce: nonce, result: "pass", score: 0.98, iat: Int64(today.timeIntervalSince1970)),
            signer: provider)
        let until = CalendarDate(today.addingTimeInterval(365 * 86_400)).text
        _ = try await backend.services.agents.authorise(enterprise: try CreditCode(enterprise), agent: try CitizenID(person, field: "agent", today: today),
                                               attestation: attestation, validUntil: until, client: app)
        try backend.dataDirectory.writeSecret(Array("TERMINAL=\(terminal)\nAPP=\(appToken)\nISSUER=\(issuer)\n".utf8), to: clientsFile)
        try await backend.services.meta.insert("demo_loaded", Timestamp.string(today))
    }

    /// The sample licences (check characters valid; numbers made up).
    static let licences = [
        #"""
        {"type":"resident_id_card",
         "number":"430405198501011235",
         "holder":{"kind":"person","id":"430405198501011235"},
         "fields":{"name":"王一静","sex":"女","ethnicity":"汉","birth_date":"1985-01-01","address":"湖南省衡阳市蒸湘区解放大道12号",
          "id_number":"430405198501011235","issuing_authority":"衡阳市公安局蒸湘分局"},
         "valid_from":"2020-01-01",
         "valid_until":"2040-01-01",
         "issuer":"衡阳市公安局"}
        """#,
        #"""
        {"type":"social_security_card",
         "number":"6222020200112233445",
         "holder":{"kind":"person","id":"430405198501011235"},
         "fields":{"name":"王一静","id_number":"430405198501011235","card_number":"6222020200112233445",
          "issuing_region":"430400"},
         "valid_from":"2021-05-01",
         "issuer":"衡阳市人力资源和社会保障局"}
        """#,
        #"""
        {"type":"resident_id_card",
         "number":"430402199003150027",
         "holder":{"kind":"person","id":"430402199003150027"},
         "fields":{"name":"李建国","sex":"男","birth_date":"1990-03-15","address":"湖南省衡阳市雁峰区先锋路8号",
          "id_number":"430402199003150027"},
         "valid_from":"2019-06-01",
         "valid_until":"2039-06-01",
         "issuer":"衡阳市公安局"}
        """#,
        #"""
        {"type":"business_licence",
         "number":"91430400MA4L0XXX16",
         "holder":{"kind":"enterprise","id":"91430400MA4L0XXX16"},
         "fields":{"credit_code":"91430400MA4L0XXX16","enterprise_name":"衡阳市湘江建设有限公司","enterprise_type":"有限责任公司",
          "legal_representative":"李建国","legal_representative_id":"430402199003150027",
          "registered_capital":"5000万元","established_on":"2019-03-01","address":"湖南省衡阳市雁峰区先锋路8号",
          "business_scope":"房屋建筑工程施工"},
         "valid_from":"2019-03-01",
         "issuer":"衡阳市市场监督管理局"}
        """#,
        #"""
        {"type":"planning_permit",
         "number":"建字第430400202500123号",
         "holder":{"kind":"enterprise","id":"91430400MA4L0XXX16"},
         "fields":{"permit_number":"建字第430400202500123号","project_name":"湘江北路安置小区二期","site_address":"湖南省衡阳市石鼓区湘江北路66号",
          "construction_scale":"4.2万平方米"},
         "valid_from":"2025-06-01",
         "valid_until":"2030-06-01",
         "issuer":"衡阳市自然资源和规划局"}
        """#,
    ]
}

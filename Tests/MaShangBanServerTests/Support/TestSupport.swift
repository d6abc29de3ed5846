import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
@testable import MaShangBan
import NIOCore
import Testing
@testable import MaShangBanServer
import MaShangBanTestSupport

let adminToken = testAdminToken

/// A test server on a fresh data directory: `backend`, and helpers, one per endpoint.
struct TestServer {
    let directory: TemporaryDirectory
    let backend: Backend
    let configuration: ServeConfiguration

    init(configure: (inout ServeConfiguration) -> Void = { _ in }, now: @escaping Now = { Date() }) throws {
        directory = try TemporaryDirectory()
        var configuration = ServeConfiguration()
        configuration.dataDirectory = directory.url.path
        configuration.port = 0
        configure(&configuration)
        self.configuration = configuration
        configuration.adminToken = adminToken
        backend = try Backend.open(configuration.backendOptions(logger: Logger(label: "test"), now: now))
    }

    var logger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        return logger
    }

    /// Builds the application and runs `body` against it (in-process router by default).
    func test<T: Sendable>(_ kind: TestingSetup = .router, _ body: @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
        let app = buildApplication(configuration, backend: backend, logger: logger)
        return try await app.test(kind, body)
    }
}

extension TestClientProtocol {
    func call(_ method: HTTPRequest.Method, _ uri: String, token: String? = adminToken, json: String? = nil,
              headers extra: HTTPFields = [:]) async throws -> TestResponse {
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        if json != nil { headers[.contentType] = "application/json" }
        return try await execute(uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) })
    }

    /// POST /v1/clients; returns the new client's id and token. An issuer gets `issuerCode`
    /// and `licenceTypes` (by default every built-in type).
    func createClient(role: String, name: String = "test", hall: String? = nil, issuerCode: String = Sample.issuerCode,
                      licenceTypes: [String] = LicenceType.builtIns.map(\.code), token: String = adminToken) async throws
        -> (id: String, token: String)
    {
        var body: [String: JSONValue] = ["role": .string(role), "name": .string(name)]
        if let hall { body["hall"] = .string(hall) }
        if role == "issuer" {
            body["issuer_code"] = .string(issuerCode)
            body["licence_types"] = .array(licenceTypes.map(JSONValue.string))
        }
        let response = try await call(.post, "/v1/clients", token: token, json: JSONValue.object(body).canonicalString)
        #expect(response.status == .created)
        let json = try response.json()
        return (try #require(json["id"] as? String), try #require(json["token"] as? String))
    }
}

extension TestClientProtocol {
    /// Registers a face-auth stand-in provider (admin) and returns its key.
    func registerProvider(_ profile: CryptoProfile = .intl) async throws -> any SignatureSigner {
        let provider = try CryptoSuite(profile: profile).signatures.generate()
        let pem = try provider.verifier.publicKeyPEM().replacingOccurrences(of: "\n", with: "\\n")
        let registered = try await call(.post, "/v1/face-auth/providers", json: #"{"name":"stub","public_key_pem":"\#(pem)"}"#)
        #expect(registered.status == .created, "\(registered.text)")
        return provider
    }

    /// A face attestation that `person` was seen, over a nonce `app` asked for `purpose`.
    func attestation(_ person: String, app: String, provider: any SignatureSigner, purpose: String, now: Date = Date()) async throws -> String {
        let challenge = try await call(.post, "/v1/face-auth/challenges", token: app,
                                       json: #"{"subject":"\#(person)","purpose":"\#(purpose)"}"#)
        #expect(challenge.status == .created, "\(challenge.text)")
        let nonce = try #require(try challenge.json()["nonce"] as? String)
        let claims = FaceAuth.Claims(sub: person, nonce: nonce, result: "pass", score: 0.95, iat: Int64(now.timeIntervalSince1970))
        return try FaceAuth.attestation(claims, signer: provider)
    }

    /// Opens a holder session for `person` at `app` and returns the header that carries it.
    func holderSession(_ person: String, app: String, provider: any SignatureSigner, now: Date = Date()) async throws -> HTTPFields {
        let attestation = try await attestation(person, app: app, provider: provider, purpose: "holder_session", now: now)
        let opened = try await call(.post, "/v1/holder-sessions", token: app, json: #"{"holder":"\#(person)","attestation":"\#(attestation)"}"#)
        #expect(opened.status == .created, "\(opened.text)")
        return HolderSession.header(try #require(try opened.json()["token"] as? String))
    }
}

enum HolderSession {
    static func header(_ token: String) -> HTTPFields {
        var fields = HTTPFields()
        if let name = HTTPFields.Element.Name(HolderSessions.header) { fields[name] = token }
        return fields
    }
}

extension TestResponse {
    func json() throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(body.readableBytesView))
        return try #require(object as? [String: Any])
    }

    var text: String { String(buffer: body) }

    /// Checks an RFC 9457 problem document with the given status and code.
    func expectProblem(_ status: Int, _ code: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(self.status.code == status, "status", sourceLocation: sourceLocation)
        #expect(headers[.contentType] == "application/problem+json", sourceLocation: sourceLocation)
        let json = try json()
        #expect(json["code"] as? String == code, sourceLocation: sourceLocation)
        #expect(json["status"] as? Int == status, sourceLocation: sourceLocation)
        #expect((json["detail"] as? String)?.isEmpty == false, sourceLocation: sourceLocation)
        #expect(json["title"] is String, sourceLocation: sourceLocation)
        #expect(json["type"] is String, sourceLocation: sourceLocation)
    }
}

import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging
import MaShangBan
import NIOCore

/// The 一码出示 flows over real HTTP: our server (release build, same process) on a loopback
/// port, driven by AsyncHTTPClient over `connections` keep-alive connections. Every request
/// carries its own consent or token, so no answer can be served from a cache.
struct FlowBench {
    let backend: Backend
    let flows: Int
    let connections: Int

    struct Figures {
        let rate: Double
        let p50: Double
        let p99: Double
        let errors: Int
    }

    /// Codes issued and scans, over HTTP.
    func run() async throws -> (codes: Figures, scans: Figures) {
        let (app, terminal, consents) = try await setUp()
        var configuration = ServeConfiguration()
        configuration.port = 0
        configuration.maxConnections = connections * 4
        var logger = Logger(label: "bench")
        logger.logLevel = .critical  // the bench prints figures; shutdown chatter is not one
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let server = buildApplication(configuration, backend: backend, logger: logger) { channel in
            portSink.yield(channel.localAddress?.port ?? 0)
        }
        let serving = Task { try await server.runService(gracefulShutdownSignals: []) }
        defer { serving.cancel() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else { throw ValidationError("the bench server did not start") }
        let base = "http://127.0.0.1:\(port)"

        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)))
        do {
            let codeBodies = consents.map { #"{"consent":"\#($0)"}"# }
            let (codes, codeAnswers) = try await load(client, url: base + "/v1/presentations", token: app, bodies: codeBodies, expect: 201)
            let tokens = codeAnswers.compactMap { answer -> String? in
                guard let json = try? JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any] else { return nil }
                return json["token"] as? String
            }
            let scanBodies = tokens.map { #"{"token":"\#($0)","item":"sb-transfer"}"# }
            let (scans, _) = try await load(client, url: base + "/v1/scans", token: terminal, bodies: scanBodies, expect: 201)
            try await client.shutdown()
            return (codes, scans)
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// Clients, an item, a face-auth provider, one person with two cards in the wallet, and
    /// `flows` consents (each after its own challenge and attestation), made in-process.
    private func setUp() async throws -> (app: String, terminal: String, consents: [String]) {
        let (app, appToken) = try await backend.clients.create(.init(role: "app", name: "bench app"), by: .system)
        let (_, terminalToken) = try await backend.clients.create(.init(role: "terminal", name: "bench window", hall: "HY-ZX-01"), by: .system)
        _ = try await backend.approvalSystems.create(try Self.decode(#"""
            {"code":"hr-social-security","name":"人社审批系统","webhook_url":"http://127.0.0.1:9/webhook"}
            """#), by: .system)
        _ = try await backend.items.create(try Self.decode(#"""
            {"code":"sb-transfer","name":"社保转移接续","approval_system":"hr-social-security",
             "required":["resident_id_card","social_security_card"],"fields":{"resident_id_card.name":"full","holder.id":"full"}}
            """#), by: .system)
        let provider = try backend.suite.signatures.generate()
        _ = try await backend.faceAuth.registerProvider(name: "bench stub", publicKeyPEM: try provider.verifier.publicKeyPEM(), by: .system)
        let person = "430405198501011235"
        for line in [BenchCommand.idCardLine(person), BenchCommand.socialSecurityCardLine(0, holder: person)] {
            _ = try await backend.library.importLicence(try Self.decode(line), by: .system)
        }
        let holder = try HolderID(person, kind: .person, field: "holder", today: backend.now())
        let (licences, _) = try await backend.wallet.sync(holder, by: .system)
        let subject = try CitizenID(person, field: "subject", today: backend.now())
        var consents: [String] = []
        for _ in 0..<flows {
            let (nonce, _) = try await backend.faceAuth.challenge(subject: subject, by: .system)
            let attestation = try FaceAuth.attestation(
                FaceAuth.Claims(sub: person, nonce: nonce, result: "pass", score: 0.95, iat: Int64(backend.now().timeIntervalSince1970)),
                signer: provider)
            let consent = try await backend.consents.grant(
                .init(holder: person, attestation: attestation, licences: licences, item: "sb-transfer", hall: "HY-ZX-01", ttlSeconds: 1800),
                client: app)
            consents.append(consent.id)
        }
        return (appToken, terminalToken, consents)
    }

    static func decode<T: Decodable>(_ json: String) throws -> T { try JSONDecoder().decode(T.self, from: Data(json.utf8)) }

    /// POSTs every body once over `connections` concurrent keep-alive connections; returns
    /// the figures and the answers in order.
    private func load(_ client: HTTPClient, url: String, token: String, bodies: [String], expect: UInt)
        async throws -> (Figures, [String])
    {
        let connections = self.connections
        let start = ContinuousClock.now
        let results = try await withThrowingTaskGroup(of: [(Int, Double, Bool, String)].self) { group in
            for worker in 0..<connections {
                group.addTask {
                    var mine: [(Int, Double, Bool, String)] = []
                    for index in stride(from: worker, to: bodies.count, by: connections) {
                        var request = HTTPClientRequest(url: url)
                        request.method = .POST
                        request.headers.add(name: "Authorization", value: "Bearer \(token)")
                        request.headers.add(name: "Content-Type", value: "application/json")
                        request.body = .bytes(ByteBuffer(string: bodies[index]))
                        let sent = ContinuousClock.now
                        let response = try await client.execute(request, timeout: .seconds(30))
                        let body = try await response.body.collect(upTo: 1 << 20)
                        let elapsed = ContinuousClock.now - sent
                        let ms = Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000
                        mine.append((index, ms, response.status.code == expect, String(buffer: body)))
                    }
                    return mine
                }
            }
            var all: [(Int, Double, Bool, String)] = []
            for try await part in group { all.append(contentsOf: part) }
            return all
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let latencies = results.map(\.1).sorted()
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
        }
        let figures = Figures(rate: Double(results.count) / seconds, p50: percentile(0.50), p99: percentile(0.99),
                              errors: results.filter { !$0.2 }.count)
        return (figures, results.sorted { $0.0 < $1.0 }.map(\.3))
    }

    /// Signatures per second through our crypto layer, on every core.
    static func signatureRates(_ suite: CryptoSuite, seconds: Double = 1) async throws -> (sign: Double, verify: Double) {
        let signer = try suite.signatures.generate()
        let message = Array("eyJhbGciOiJFZERTQSIsImtpZCI6ImJ2cFk5cGhwUmdnIn0.eyJpc3MiOiI0MzA0MDAifQ".utf8)
        let signature = try signer.sign(message)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        func rate(_ work: @escaping @Sendable () throws -> Void) async throws -> Double {
            let start = ContinuousClock.now
            let deadline = start + .milliseconds(Int(seconds * 1000))
            let done = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<cores {
                    group.addTask {
                        var count = 0
                        while ContinuousClock.now < deadline {
                            for _ in 0..<50 { try work() }
                            count += 50
                        }
                        return count
                    }
                }
                return try await group.reduce(0, +)
            }
            let elapsed = ContinuousClock.now - start
            return Double(done) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
        let sign = try await rate { _ = try signer.sign(message) }
        let verifier = signer.verifier
        let verify = try await rate {
            guard verifier.isValidSignature(signature, for: message) else { throw ValidationError("a signature did not verify") }
        }
        return (sign, verify)
    }
}

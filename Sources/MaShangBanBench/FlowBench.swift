import ArgumentParser
import AsyncHTTPClient
import Foundation
import MaShangBan
import NIOCore

/// The 一码出示 / 一码获取 flows over real HTTP: `mashangban serve` in its own process
/// (`ServerUnderTest`) on the bench's data directory, over `connections` keep-alive
/// connections on loopback. Single requests are sent by `wrk` in its own process when it is
/// installed (`WrkLoad`), otherwise by AsyncHTTPClient from this process; whole flows, which
/// sign a face-check attestation between requests, always by AsyncHTTPClient. The set-up
/// (clients, item, consents) is written in-process first. Every request carries its own
/// consent or token, so no answer can be served from a cache.
struct FlowBench {
    let backend: Backend
    let flows: Int
    let connections: Int
    /// The `wrk` executable, or nil to send single requests from this process.
    let wrk: String?
    /// How many generated people have a social-security card among the imported licences
    /// (`BenchCommand.personID`); the consents' holders are drawn from them.
    let people: Int
    /// 码上查: policies published before the server starts.
    let policyCount: Int
    /// Only the scan path's phases (floor, codes, scans, window sessions, claims, the hot
    /// holder, whole flows): no door scans, searches, proofs or peer region.
    var scanPathOnly = false
    /// Consents of the one hot holder, whose codes are issued and scanned in a phase of their own.
    var hotConsents = 30_000
    /// `perf record` of the server during the scan path's phases, when set.
    var profiler: Profiler?

    /// One measured phase: requests (or whole flows) per second and their latencies.
    struct Figures {
        let count: Int
        let rate: Double
        let p50: Double
        let p99: Double
        let p999: Double
        let errors: Int
        /// The server process's CPU seconds per request.
        let cpuPerRequest: Double
        /// The CPU seconds per request of a load generator in its own process.
        var generatorCPUPerRequest: Double? = nil
        /// That generator: wrk, or this bench's own HTTP client (whole flows, searches, proofs).
        var generator = "wrk"

        /// The cores the phase kept busy, server and generator together: its rate times their
        /// CPU per request. Fewer than the floor keeps busy: part of the time every request in
        /// flight waited on one thing (the single writer, its fsync) and a core had nothing to run.
        var coresBusy: Double { rate * (cpuPerRequest + (generatorCPUPerRequest ?? 0)) }

        /// A phase the run left out.
        static let skipped = Figures(count: 0, rate: 0, p50: 0, p99: 0, p999: 0, errors: 0, cpuPerRequest: 0)
    }

    struct Results {
        let floor: Figures
        /// The floor measured again after the scan path's phases (the whole flows).
        let floorAgain: Figures
        let codes: Figures
        let scans: Figures
        let windowOpens: Figures
        let claims: Figures
        let fullFlows: Figures
        /// Codes issued for, and scans of, the one hot holder's consents (`hotConsents` of them).
        let hotCodes: Figures
        let hotScans: Figures
        /// 赋码入企: door scans (entries) of approved visit codes, and how many were red.
        let visitScans: Figures
        let visitRed: Int
        let visitWrites: GroupCommits
        /// 码上查: searches of a two-word Chinese query with one filter over `policies` policies,
        /// and how many hits the first page of each held on average.
        let policySearches: Figures
        /// The same over one connection per core.
        let policySearchesPerCore: Figures
        let policies: Int
        let hitsPerSearch: Double
        /// 跨域通办: RFC 9162 proofs from the audit log's Merkle tree at its latest checkpoint
        /// (of `auditSize` records): inclusion of records spread over it, and consistency from
        /// sizes spread over it.
        let inclusionProofs: Figures
        let consistencyProofs: Figures
        let auditSize: Int
        /// 跨域通办: scans of codes a peer region issued (redeemed by the peer, a second server
        /// process on loopback), and the peer's CPU seconds per such scan.
        let crossRegionScans: Figures
        let peerCPUPerScan: Double
        /// The group commit's work during the codes and during the scans.
        let codeWrites: GroupCommits
        let scanWrites: GroupCommits
        let claimWrites: GroupCommits
        let hotScanWrites: GroupCommits
        /// The whole flows': four units each (challenge, consent, code, scan).
        let fullFlowWrites: GroupCommits
        /// The server process's RSS after the single-request phases, and its peak so far, in MB.
        let serverMemory: (now: Double, peak: Double)
        /// Seconds from starting the server process on the bench's data directory to its
        /// "listening on" line.
        let serverStartup: Double

        /// What the ratios are judged against: the mean of the floor measured before the scan
        /// path's phases and after them.
        var floorRate: Double { (floor.rate + floorAgain.rate) / 2 }
    }

    static let hall = "HY-ZX-01"
    static let item = "sb-transfer"

    func run() async throws -> Results {
        let setUp = try await self.setUp()
        let server = try await ServerUnderTest.start(data: backend.dataDirectory.url, crypto: backend.suite.profile)
        let http = HTTP(base: "http://127.0.0.1:\(server.port)", client: HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections))))
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("msb-wrk-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let load = try wrk.map { executable in
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            return WrkLoad(executable: executable, server: server, connections: connections, directory: scratch)
        }
        do {
            let results = try await measureAll(http, setUp, load, server)
            try await http.client.shutdown()
            await server.stop()
            return results
        } catch {
            try? await http.client.shutdown()
            await server.stop()
            throw error
        }
    }

    private func measureAll(_ http: HTTP, _ s: SetUp, _ load: WrkLoad?, _ server: ServerUnderTest) async throws -> Results {
        let (app, terminal) = (s.appToken, s.terminalToken)
        // The consents are granted through the server, as the app grants them, each after its
        // own challenge and face check: those for the claims first, then those for the codes, so
        // each code follows its consent as closely as the phases allow.
        let claimConsents = try await grantConsents(flows, from: 0, http, s)
        let codeConsents = try await grantConsents(flows, from: flows, http, s)
        // Each phase: method, path, client token, one body per request, expected status, and
        // the answer member the next phase needs. A GET to path "*" sends each body as its path.
        func phase(_ method: String, _ path: String, token: String?, tokens: [String]? = nil, bodies: [String], expect: UInt,
                   keep member: String? = nil) async throws -> (Figures, [String]) {
            if let load {
                return try await load.run(.init(method: method, path: path, token: token, bodies: bodies, tokens: tokens, expect: Int(expect),
                                                keep: member))
            }
            let kept = Answers(bodies.count)
            let figures = try await measure(bodies.count, server) { i in
                let answer = path == "*" ? try await http.call(method, bodies[i], token: tokens?[i] ?? token, body: nil)
                    : try await http.call(method, path, token: tokens?[i] ?? token, body: bodies[i].isEmpty ? nil : bodies[i])
                guard answer.status == expect else { return false }
                guard let member else { return true }
                guard let value = answer.json?[member] as? String else { return false }
                kept[i] = value
                return true
            }
            return (figures, kept.all.filter { !$0.isEmpty })
        }

        let (floor, _) = try await phase("GET", "/healthz", token: nil, bodies: Array(repeating: "", count: flows * 2), expect: 200)
        // The scan path's phases, each under `perf record` when profiling (`Profiler`).
        let pid = server.process.pid
        func profiled<T>(_ name: String, _ body: () async throws -> T) async throws -> T {
            guard let profiler else { return try await body() }
            return try await profiler.record(name, pid: pid, body)
        }
        let beforeCodes = try await http.groupCommits()
        let (codes, tokens) = try await profiled("codes") {
            try await phase("POST", "/v1/presentations", token: app, bodies: codeConsents.map { #"{"consent":"\#($0)"}"# }, expect: 201,
                            keep: "token")
        }
        let afterCodes = try await http.groupCommits()
        let (scans, _) = try await profiled("scans") {
            try await phase("POST", "/v1/scans", token: terminal, bodies: tokens.map { #"{"token":"\#($0)","item":"\#(Self.item)"}"# },
                            expect: 201)
        }
        let afterScans = try await http.groupCommits()
        let (opens, windows) = try await phase("POST", "/v1/window-sessions", token: terminal,
                                               bodies: Array(repeating: #"{"item":"\#(Self.item)"}"#, count: flows), expect: 201, keep: "token")
        let beforeClaims = try await http.groupCommits()
        let (claims, _) = try await profiled("claims") {
            try await phase("POST", "/v1/window-sessions/claim", token: app,
                            bodies: zip(windows, claimConsents).map { #"{"token":"\#($0)","consent":"\#($1)"}"# }, expect: 200)
        }
        let afterClaims = try await http.groupCommits()
        // One holder with `hotConsents` consents (granted in-process before the server
        // started): codes for `flows` of them, then their scans. No query may grow with one
        // holder's history.
        var (hotCodes, hotScans) = (Figures.skipped, Figures.skipped)
        var hotScanWrites = GroupCommits(units: 0, transactions: 0, cpuSeconds: 0, deliveryAttempts: 0)
        if !s.hotConsents.isEmpty {
            let hotTokens: [String]
            (hotCodes, hotTokens) = try await phase("POST", "/v1/presentations", token: app,
                                                    bodies: s.hotConsents.suffix(flows).map { #"{"consent":"\#($0)"}"# }, expect: 201, keep: "token")
            let beforeHotScans = try await http.groupCommits()
            (hotScans, _) = try await phase("POST", "/v1/scans", token: terminal,
                                            bodies: hotTokens.map { #"{"token":"\#($0)","item":"\#(Self.item)"}"# }, expect: 201)
            hotScanWrites = try await http.groupCommits() - beforeHotScans
        }
        var (visitScans, visitRed, visitWrites) = (Figures.skipped, 0, GroupCommits(units: 0, transactions: 0, cpuSeconds: 0, deliveryAttempts: 0))
        var (policySearches, policySearchesPerCore, hits) = (Figures.skipped, Figures.skipped, 0.0)
        var (inclusionProofs, consistencyProofs, auditSize) = (Figures.skipped, Figures.skipped, 0)
        var (crossScans, peerCPUPerScan) = (Figures.skipped, 0.0)
        let memory: (now: Double, peak: Double)
        if scanPathOnly {
            memory = server.process.residentMegabytes
        } else {
            // 赋码入企: each door scans the codes of the visits to its enterprise (an entry each).
            let beforeVisits = try await http.groupCommits()
            (visitScans, _) = try await phase("POST", "/v1/visit-scans", token: nil, tokens: s.visitCodes.map(\.door),
                                              bodies: s.visitCodes.map { #"{"token":"\#($0.code)","event":"enter"}"# }, expect: 200)
            visitWrites = try await http.groupCommits() - beforeVisits
            let visitStats = try await http.call("GET", "/v1/visit-stats", token: s.supervisorToken, body: nil)
            visitRed = (visitStats.json?["units"] as? [[String: Any]])?.compactMap { $0["red_scans"] as? Int }.reduce(0, +) ?? -1
            // 码上查: a two-word Chinese query (both words through the trigram index) and a region filter.
            let queries = PolicyCorpus.paths
            let searchPaths = (0..<flows).map { queries[$0 % queries.count] }
            (policySearches, policySearchesPerCore, hits) = try await searchPhase(http, paths: searchPaths, token: s.appToken, load: load,
                                                                                 server: server)
            let checkpoint = try await http.call("GET", "/v1/audit/checkpoints/latest", token: s.adminToken, body: nil)
            guard let size = checkpoint.json?["size"] as? Int, size > 0 else { throw ValidationError("the server wrote no audit checkpoint") }
            auditSize = size
            let spread = (0..<flows).map { 1 + ($0 * 7_919) % size }
            (inclusionProofs, _) = try await phase("GET", "*", token: s.adminToken,
                                                   bodies: spread.map { "/v1/audit/proofs/inclusion?seq=\($0)&size=\(size)" }, expect: 200)
            (consistencyProofs, _) = try await phase("GET", "*", token: s.adminToken,
                                                     bodies: spread.map { "/v1/audit/proofs/consistency?from=\($0)&to=\(size)" }, expect: 200)
            memory = server.process.residentMegabytes
            // 跨域通办: codes a peer region issued, scanned here (each redeemed by the peer on loopback).
            let peer = try await startPeerRegion(count: min(flows, 5_000), main: http, mainAdmin: s.adminToken)
            let peerCPU = peer.server.cpuSeconds
            do {
                (crossScans, _) = try await phase("POST", "/v1/scans", token: terminal,
                                                  bodies: peer.codes.map { #"{"token":"\#($0)","item":"\#(Self.item)"}"# }, expect: 201)
            } catch {
                await peer.stop()
                throw error
            }
            peerCPUPerScan = (peer.server.cpuSeconds - peerCPU) / Double(max(1, peer.codes.count))
            await peer.stop()
        }

        // The whole 一码出示 flow, as the app and the window do it: challenge → (face check,
        // signed here by the bench's stand-in provider) → consent → code → scan.
        let beforeFull = try await http.groupCommits()
        let full = try await profiled("full-flows") {
            if let load {
                return try await FlowClient.run(.init(port: server.port, appToken: app, terminalToken: terminal,
                                                      providerPEM: try s.provider.privateKeyPEM(), holder: s.fullFlowHolder, item: Self.item,
                                                      hall: Self.hall, count: flows, connections: connections),
                                                server: server, directory: load.directory)
            }
            return try await measure(flows, server) { _ in
                guard let consentID = try await grantConsent(s.fullFlowHolder, http, s) else { return false }
                let code = try await http.call("POST", "/v1/presentations", token: app, body: #"{"consent":"\#(consentID)"}"#)
                guard code.status == 201, let token = code.json?["token"] as? String else { return false }
                return try await http.call("POST", "/v1/scans", token: terminal, body: #"{"token":"\#(token)","item":"\#(Self.item)"}"#)
                    .status == 201
            }
        }
        let fullFlowWrites = try await http.groupCommits() - beforeFull
        // The floor again after the scan path's phases: the machine's speed can move within a
        // run, and the ratios are judged against the mean of the two (`floorRate`).
        let (floorAgain, _) = try await phase("GET", "/healthz", token: nil, bodies: Array(repeating: "", count: flows * 2), expect: 200)
        return Results(floor: floor, floorAgain: floorAgain, codes: codes, scans: scans, windowOpens: opens, claims: claims, fullFlows: full,
                       hotCodes: hotCodes, hotScans: hotScans,
                       visitScans: visitScans, visitRed: visitRed, visitWrites: visitWrites,
                       policySearches: policySearches, policySearchesPerCore: policySearchesPerCore, policies: s.policies, hitsPerSearch: hits,
                       inclusionProofs: inclusionProofs, consistencyProofs: consistencyProofs, auditSize: auditSize,
                       crossRegionScans: crossScans, peerCPUPerScan: peerCPUPerScan,
                       codeWrites: afterCodes - beforeCodes, scanWrites: afterScans - afterCodes, claimWrites: afterClaims - beforeClaims,
                       hotScanWrites: hotScanWrites, fullFlowWrites: fullFlowWrites,
                       serverMemory: memory, serverStartup: server.startup)
    }

    // MARK: Set-up, in-process

    struct SetUp: Sendable {
        let appToken: String
        let terminalToken: String
        /// The consents' holders, each with an ID card and a social-security card in the wallet.
        let holders: [Holder]
        /// The one holder of the whole flows.
        let fullFlowHolder: Holder
        let provider: any SignatureSigner
        /// The hot holder's consents (`FlowBench.hotConsents`).
        let hotConsents: [String]
        /// 赋码入企: each approved visit's code with the token of the door that scans it.
        let visitCodes: [(door: String, code: String)]
        let supervisorToken: String
        /// The admin's token (the audit endpoints).
        let adminToken: String
        /// 码上查: how many policies were published.
        let policies: Int
    }

    struct Holder: Sendable, Codable {
        let person: String
        let licences: [String]
    }

    /// Clients, an approval system (unreachable: deliveries fail and are retried with backoff,
    /// as when an approval system is down at peak), an item, a face-auth provider, and the
    /// holders: up to 2 × `flows` of the generated people, each given an ID card besides the
    /// imported social-security card, plus one more person for the whole flows. (The consents
    /// are granted through the server under test: `grantConsents`.)
    private func setUp() async throws -> SetUp {
        let (appClient, appToken) = try await backend.services.clients.create(.init(role: "app", name: "bench app"), by: .system)
        let (_, terminalToken) = try await backend.services.clients.create(.init(role: "terminal", name: "bench window", hall: Self.hall), by: .system)
        _ = try await backend.services.approvalSystems.create(try Self.decode(#"""
            {"code":"hr-social-security","name":"人社审批系统","webhook_url":"http://127.0.0.1:9/webhook"}
            """#), by: .system)
        _ = try await backend.services.items.create(try Self.decode(#"""
            {"code":"sb-transfer","name":"社保转移接续","approval_system":"hr-social-security",
             "required":["resident_id_card","social_security_card"],"fields":{"resident_id_card.name":"full","holder.id":"full"},
             "national_code":"\#(Self.nationalCode)"}
            """#), by: .system)
        let provider = try backend.suite.signatures.generate()
        _ = try await backend.services.faceAuth.registerProvider(name: "bench stub", publicKeyPEM: try provider.verifier.publicKeyPEM(), by: .system)
        // Born before every generated person (they are born from 1980 on, a day per thousand):
        // at 10 million licences the demo's 王一静 (1985) is one of them.
        guard let person = CitizenID.completing("43040519750101123") else { throw ValidationError("no check character") }
        let issuer = try await BenchCommand.issuer(backend)
        // Card number `self.people` is past the imported ones: importing an existing number
        // would give that card to this person.
        for line in [BenchCommand.idCardLine(person), BenchCommand.socialSecurityCardLine(self.people, holder: person)] {
            _ = try await backend.services.library.importLicence(try Self.decode(line), by: issuer)
        }
        let fullFlowHolder = try await wallet(person)
        // The consents' holders are spread over all the imported people (every fifth of 100,000
        // for 2 × 10,000 flows), as a hall's visitors are over a city's.
        let holderCount = min(2 * flows, self.people)
        let people = (0..<holderCount).map { BenchCommand.personID($0 * self.people / holderCount) }
        let importer = BatchImport(library: backend.services.library, issuer: issuer)
        try await importer.feed(Array(people.map { BenchCommand.idCardLine($0) + "\n" }.joined().utf8))
        let imported = try await importer.finish()
        guard imported.accepted == people.count else { throw ValidationError("the bench could not import its holders' ID cards") }
        let holders = try await overConnections(people.count) { try await wallet(people[$0]) }
        let hotConsents = try await hotHolder(issuer: issuer, app: appClient, provider: provider)
        var (visitCodes, supervisor): ([(door: String, code: String)], String) = ([], "")
        if !scanPathOnly {
            (visitCodes, supervisor) = try await visits(provider: provider)
            try await PolicyCorpus.publish(policyCount, backend: backend)
        }
        let (_, adminToken) = try await backend.services.clients.create(.init(role: "admin", name: "bench admin"), by: .system)
        return SetUp(appToken: appToken, terminalToken: terminalToken, holders: holders, fullFlowHolder: fullFlowHolder, provider: provider,
                     hotConsents: hotConsents, visitCodes: visitCodes, supervisorToken: supervisor, adminToken: adminToken,
                     policies: scanPathOnly ? 0 : policyCount)
    }

    /// The hot holder: one more person, with an ID card and a social-security card, who
    /// grants `hotConsents` consents for the bench's item (in-process, each after its own
    /// face check). Their ids, oldest first.
    private func hotHolder(issuer: LicenceIssuer, app: Client, provider: any SignatureSigner) async throws -> [String] {
        guard hotConsents > 0 else { return [] }
        let s = backend.services
        let person = BenchCommand.personID(people + 1)
        for line in [BenchCommand.idCardLine(person), BenchCommand.socialSecurityCardLine(people + 1, holder: person)] {
            _ = try await s.library.importLicence(try Self.decode(line), by: issuer)
        }
        let holder = try await wallet(person)
        let subject = try CitizenID(person, field: "holder", today: s.now())
        return try await overConnections(hotConsents) { _ in
            let (nonce, _) = try await s.faceAuth.challenge(subject: subject, client: app)
            let claims = FaceAuth.Claims(sub: person, nonce: nonce, result: "pass", score: 0.95, iat: Int64(s.now().timeIntervalSince1970))
            return try await s.consents.grant(.init(holder: person, attestation: try FaceAuth.attestation(claims, signer: provider),
                                                    licences: holder.licences, item: Self.item, hall: Self.hall, ttlSeconds: 1800),
                                              client: app).id
        }
    }

    /// 赋码入企: 10 units with two credentialed officials each, 100 protected enterprises (each
    /// inspected by one unit, which filed enough inspections), a door client for each, and
    /// `flows` inspections approved unannounced for today, each with its code; and a supervisor.
    private func visits(provider: any SignatureSigner) async throws -> (codes: [(door: String, code: String)], supervisor: String) {
        let s = backend.services
        let today = CalendarDate(s.now())
        let (unitCount, enterpriseCount) = (10, min(100, max(1, flows)))
        var units: [Client] = []
        for u in 0..<unitCount {
            let code = "bench-u\(u)"
            _ = try await s.units.create(.init(code: code, name: "bench unit \(u)", head: BenchCommand.personID(u),
                                               supervisorWebhook: "http://127.0.0.1:9/notices"), by: .system)
            for o in 0..<2 {
                _ = try await s.units.addOfficial(.init(id: "o\(o)", name: "执法员\(o)", credentialNumber: "43040\(u)\(o)"), unit: code, by: .system)
            }
            units.append(try await s.clients.create(.init(role: "unit", name: "bench unit", unit: code), by: .system).client)
        }
        var doors: [String] = []
        for e in 0..<enterpriseCount {
            let credit = Self.creditCode(e)
            _ = try await s.units.protect(.init(creditCode: credit, name: "bench enterprise \(e)"), by: .system)
            _ = try await s.units.file(.init(year: Int(today.text.prefix(4)) ?? 2026, enterprise: credit,
                                             count: min(366, flows / enterpriseCount + 1)), unit: "bench-u\(e % unitCount)", by: .system)
            doors.append(try await s.clients.create(.init(role: "enterprise", name: "bench door", enterprise: credit), by: .system).token)
        }
        let (unitClients, doorTokens) = (units, doors)
        let codes = try await overConnections(flows) { i -> (door: String, code: String) in
            let (unit, e) = (unitClients[i % enterpriseCount % unitCount], i % enterpriseCount)
            let application = Visits.Application(enterprise: Self.creditCode(e), type: "inspection", matter: "安全生产检查",
                                                 legalBasis: "《安全生产法》", officials: ["o0", "o1"], from: today.text, until: today.text,
                                                 purpose: "bench")
            let visit = try await s.visits.apply(application, client: unit).visit.id
            let head = BenchCommand.personID(i % enterpriseCount % unitCount)
            let (nonce, _) = try await s.faceAuth.challenge(subject: try CitizenID(head, field: "head", today: s.now()), purpose: .visitApproval,
                                                            client: unit)
            let claims = FaceAuth.Claims(sub: head, nonce: nonce, result: "pass", score: 0.95, iat: Int64(s.now().timeIntervalSince1970))
            _ = try await s.visits.approve(visit, attestation: try FaceAuth.attestation(claims, signer: provider), unannounced: true, client: unit)
            return (doorTokens[e], try await s.visits.code(visit, client: unit).token)
        }
        let (_, supervisor) = try await s.clients.create(.init(role: "supervisor", name: "bench supervisor"), by: .system)
        return (codes, supervisor)
    }

    /// Generated enterprise `i`'s unified social credit code: the check character is the one
    /// of 31 that `CreditCode` accepts.
    static func creditCode(_ i: Int) -> String {
        let seventeen = String(format: "91430400MA%07d", i)
        return "0123456789ABCDEFGHJKLMNPQRTUWXY".map { seventeen + String($0) }.first { (try? CreditCode($0)) != nil } ?? seventeen + "0"
    }

    /// A person's licences, once their wallet is synced.
    private func wallet(_ person: String) async throws -> Holder {
        let holder = try HolderID(person, kind: .person, field: "holder", today: backend.services.now())
        let (licences, _) = try await backend.services.wallet.sync(holder, by: .system)
        guard licences.count == 2 else { throw ValidationError("bench holder \(person) has \(licences.count) licences, not 2") }
        return Holder(person: person, licences: licences)
    }

    /// `count` consents granted over HTTP, each after its own challenge and face check (the
    /// attestation is signed here, by the bench's stand-in provider), for the holders from
    /// index `first` on.
    private func grantConsents(_ count: Int, from first: Int, _ http: HTTP, _ s: SetUp) async throws -> [String] {
        let granted = try await overConnections(count) { try await grantConsent(s.holders[(first + $0) % s.holders.count], http, s) }
        let ids = granted.compactMap { $0 }
        guard ids.count == count else { throw ValidationError("the bench could not grant its consents (\(count - ids.count) refused)") }
        return ids
    }

    /// One consent, as the app grants it: challenge → face check → consent. Nil if refused.
    func grantConsent(_ holder: Holder, _ http: HTTP, _ s: SetUp, item: String? = Self.item, hall: String? = Self.hall) async throws -> String? {
        let challenge = try await http.call("POST", "/v1/face-auth/challenges", token: s.appToken, body: #"{"subject":"\#(holder.person)"}"#)
        guard challenge.status == 201, let nonce = challenge.json?["nonce"] as? String else { return nil }
        let attestation = try FaceAuth.attestation(
            FaceAuth.Claims(sub: holder.person, nonce: nonce, result: "pass", score: 0.95, iat: Int64(backend.services.now().timeIntervalSince1970)),
            signer: s.provider)
        let body = Self.consentBody(holder, attestation: attestation, item: item, hall: hall)
        let consent = try await http.call("POST", "/v1/consents", token: s.appToken, body: body)
        guard consent.status == 201 else { return nil }
        return consent.json?["id"] as? String
    }

    /// The body of `POST /v1/consents` for `holder`'s licences, scoped to `item` and `hall` when given.
    static func consentBody(_ holder: Holder, attestation: String, item: String?, hall: String?) -> String {
        let licences = holder.licences.map { #""\#($0)""# }.joined(separator: ",")
        let scope = (item.map { #""item":"\#($0)","# } ?? "") + (hall.map { #""hall":"\#($0)","# } ?? "")
        return #"{"holder":"\#(holder.person)","attestation":"\#(attestation)","licences":[\#(licences)],"# + scope + #""ttl_seconds":1800}"#
    }

    static func decode<T: Decodable>(_ json: String) throws -> T { try JSONDecoder().decode(T.self, from: Data(json.utf8)) }

    // MARK: Load

    /// Runs `operation` for indexes 0..<count over `connections` concurrent workers (each a
    /// keep-alive connection's worth of sequential requests); true means the expected answer.
    private func measure(_ count: Int, _ server: ServerUnderTest, connections: Int? = nil,
                         _ operation: @escaping @Sendable (Int) async throws -> Bool) async throws -> Figures {
        let cpuBefore = server.cpuSeconds
        let ownCPUBefore = BenchCommand.ownCPUSeconds()
        let start = ContinuousClock.now
        let results = try await overConnections(count, connections: connections ?? self.connections) { index in
            let sent = ContinuousClock.now
            let ok = try await operation(index)
            return ((ContinuousClock.now - sent).inSeconds * 1000, ok)
        }
        let seconds = (ContinuousClock.now - start).inSeconds
        let cpu = server.cpuSeconds - cpuBefore
        let latencies = results.map(\.0).sorted()
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
        }
        return Figures(count: results.count, rate: Double(results.count) / seconds, p50: percentile(0.50), p99: percentile(0.99),
                       p999: percentile(0.999), errors: results.filter { !$0.1 }.count, cpuPerRequest: cpu / Double(max(1, count)),
                       generatorCPUPerRequest: (BenchCommand.ownCPUSeconds() - ownCPUBefore) / Double(max(1, count)), generator: "bench")
    }

    /// `body` for indexes 0..<count over `connections` concurrent workers, each taking every
    /// `connections`-th index in turn (a keep-alive connection's worth of sequential calls);
    /// the results in index order.
    func overConnections<T: Sendable>(_ count: Int, connections: Int? = nil, _ body: @escaping @Sendable (Int) async throws -> T)
        async throws -> [T]
    {
        let connections = connections ?? self.connections
        return try await withThrowingTaskGroup(of: [(Int, T)].self) { group in
            for worker in 0..<connections {
                group.addTask {
                    var mine: [(Int, T)] = []
                    for index in stride(from: worker, to: count, by: connections) { mine.append((index, try await body(index))) }
                    return mine
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    /// A small HTTP helper over the bench's client.
    struct HTTP: Sendable {
        let base: String
        let client: HTTPClient

        func call(_ method: String, _ path: String, token: String?, body: String?) async throws -> (status: UInt, json: [String: Any]?) {
            var request = HTTPClientRequest(url: base + path)
            request.method = .init(rawValue: method)
            if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
            if let body {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(string: body))
            }
            let response = try await client.execute(request, timeout: .seconds(30))
            let bytes = try await response.body.collect(upTo: 1 << 20)
            let json = try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any]
            return (response.status.code, json)
        }

        /// The server's group-commit counters and its webhook attempts, from `/metrics`.
        func groupCommits() async throws -> GroupCommits {
            let response = try await client.execute(HTTPClientRequest(url: base + "/metrics"), timeout: .seconds(30))
            let text = String(buffer: try await response.body.collect(upTo: 1 << 22))
            func value(_ name: String) -> Double {
                text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
            }
            // Labelled series (`name{outcome="…"} n`), summed.
            func sum(_ name: String) -> Double {
                text.split(separator: "\n").filter { $0.hasPrefix(name + "{") }.compactMap { Double($0.split(separator: " ").last ?? "") }.reduce(0, +)
            }
            func labelled(_ name: String, _ label: String) -> Int {
                let line = text.split(separator: "\n").first { $0.hasPrefix(name + "{") && $0.contains(label) }
                return Int(line.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0)
            }
            let checkpoints = ["checkpointer", "writer_finish", "writer_forced"].map { labelled(WALCheckpointer.checkpointsMetric, #"by="\#($0)""#) }
            return GroupCommits(units: Int(value(GroupCommit.unitsMetric)), transactions: Int(value(GroupCommit.transactionsMetric)),
                                cpuSeconds: value(GroupCommit.cpuMetric), deliveryAttempts: Int(sum(Deliveries.attemptsMetric)),
                                checkpoints: (checkpoints[0], checkpoints[1], checkpoints[2]), busySeconds: value(GroupCommit.busyMetric))
        }

    }

    /// The group commit's counters (`GroupCommit`), or their growth over a phase, and the
    /// webhook attempts the delivery worker made meanwhile (each outcome is a write unit too).
    struct GroupCommits {
        let units: Int
        let transactions: Int
        /// The writer thread's CPU time running batches.
        let cpuSeconds: Double
        let deliveryAttempts: Int
        /// Write-ahead log checkpoints (`WALCheckpointer.checkpointsMetric`): beside the writer,
        /// finished in a commit, forced in a commit.
        var checkpoints = (beside: 0, finished: 0, forced: 0)
        /// Wall-clock seconds the writer ran batches, fsyncs included (`GroupCommit.busyMetric`).
        var busySeconds = 0.0

        static func - (after: GroupCommits, before: GroupCommits) -> GroupCommits {
            GroupCommits(units: after.units - before.units, transactions: after.transactions - before.transactions,
                         cpuSeconds: after.cpuSeconds - before.cpuSeconds, deliveryAttempts: after.deliveryAttempts - before.deliveryAttempts,
                         checkpoints: (after.checkpoints.beside - before.checkpoints.beside,
                                       after.checkpoints.finished - before.checkpoints.finished,
                                       after.checkpoints.forced - before.checkpoints.forced),
                         busySeconds: after.busySeconds - before.busySeconds)
        }

        var unitsPerTransaction: Double { Double(units) / Double(max(1, transactions)) }
        /// The writer's CPU seconds per unit.
        var cpuPerUnit: Double { cpuSeconds / Double(max(1, units)) }
    }

    /// Answers kept by index (tokens issued in one phase, used in the next).
    private final class Answers: Sendable {
        private let values: Locked<[String]>
        init(_ count: Int) { values = Locked([String](repeating: "", count: count)) }
        subscript(index: Int) -> String {
            get { values.withLock { $0[index] } }
            set { values.withLock { $0[index] = newValue } }
        }
        var all: [String] { values.withLock { $0 } }
    }

    // MARK: Limits

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
            return Double(done) / (ContinuousClock.now - start).inSeconds
        }
        let sign = try await rate { _ = try signer.sign(message) }
        let verifier = signer.verifier
        let verify = try await rate {
            guard verifier.isValidSignature(signature, for: message) else { throw ValidationError("a signature did not verify") }
        }
        return (sign, verify)
    }

    /// SQLite commits on the data directory's disk, configured as the service's own database
    /// (WAL, `synchronous=FULL`): one row per commit, and 100 rows per commit (rows/s).
    static func commitRates(in directory: URL) throws -> (single: Double, batched: Double) {
        let probe = try CommitProbe(in: directory)
        func rate(commits: Int, rowsEach: Int) throws -> Double {
            let start = ContinuousClock.now
            try probe.commit(commits, rowsEach: rowsEach)
            return Double(commits * rowsEach) / (ContinuousClock.now - start).inSeconds
        }
        return (try rate(commits: 1000, rowsEach: 1), try rate(commits: 200, rowsEach: 100))
    }
}

/// The server under test: `mashangban serve` (the `mashangban` beside this executable) in its own process on the
/// bench's data directory, with rate limits off: one bench app and one terminal stand for a
/// whole hall.
struct ServerUnderTest: Sendable {
    let process: BenchProcess
    let port: Int
    /// Seconds from starting the process to its "listening on" line.
    let startup: Double

    var cpuSeconds: Double { process.cpuSeconds }

    static func start(data: URL, crypto: CryptoProfile, extra: [String] = []) async throws -> ServerUnderTest {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("mashangban").path
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw ValidationError("no mashangban beside mashangban-bench (\(executable)); build it first: swift build -c release")
        }
        let start = ContinuousClock.now
        let process = try BenchProcess(executable, ["serve", "--data", data.path, "--host", "127.0.0.1", "--port", "0",
                                                    "--crypto", crypto.rawValue, "--rate-limit", "all=off"] + extra)
        let printed = await process.printed(once: "mashangban listening on ")
        guard let match = printed.firstMatch(of: /listening on http:\/\/127\.0\.0\.1:(\d+)/), let port = Int(match.1) else {
            process.interrupt()
            throw ValidationError("the server under test did not start: \(printed.suffix(2000))")
        }
        return ServerUnderTest(process: process, port: port, startup: (ContinuousClock.now - start).inSeconds)
    }

    /// Stops the server as an operator would (SIGINT: graceful shutdown).
    func stop() async {
        process.interrupt()
        _ = await process.finished()
    }
}

extension FlowBench {
    /// GET requests over the phase's paths; the figures, and the mean hits per answer (a
    /// search that finds nothing would measure nothing).
    /// The searches twice: over every connection (the rate the machine reaches), then over one
    /// connection per core (the latency of a search that does not queue behind 63 others:
    /// searches are CPU-bound, so at 64 connections p99 is mostly the queue's length).
    private func searchPhase(_ http: HTTP, paths: [String], token: String, load: WrkLoad?, server: ServerUnderTest) async throws
        -> (saturated: Figures, perCore: Figures, hits: Double)
    {
        let sample = try await http.call("GET", paths[0], token: token, body: nil)
        let hits = Double((sample.json?["policies"] as? [Any])?.count ?? 0)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let fewer = Array(paths.prefix(max(1, paths.count / 4)))
        if let load {
            let phase = WrkLoad.Phase(method: "GET", path: "*", token: token, bodies: paths, expect: 200)
            let (saturated, _) = try await load.run(phase)
            let perCoreLoad = WrkLoad(executable: load.executable, server: server, connections: cores, directory: load.directory)
            let (perCore, _) = try await perCoreLoad.run(.init(method: "GET", path: "*", token: token, bodies: fewer, expect: 200))
            return (saturated, perCore, hits)
        }
        let saturated = try await measure(paths.count, server) { i in try await http.call("GET", paths[i], token: token, body: nil).status == 200 }
        let perCore = try await measure(fewer.count, server, connections: cores) { i in
            try await http.call("GET", fewer[i], token: token, body: nil).status == 200
        }
        return (saturated, perCore, hits)
    }
}

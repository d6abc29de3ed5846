import ArgumentParser
import Foundation
@_spi(Bench) import MaShangBan

/// `mashangban-bench`: measures the hot paths on this machine (`make bench` runs it on the
/// release build, beside the `mashangban` it starts as the server under test). Prints
/// figures; asserts nothing. Not part of what ships: its own target and executable.
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mashangban-bench", abstract: "Measure throughput on this machine (use a release build).")

    @Option(help: "Licences to import.") var licences: Int = 100_000
    @Option(help: "Crypto profile: intl or gm.") var crypto: String = "intl"
    @Option(help: "Codes to issue and scan over HTTP.") var flows: Int = 3000
    @Option(help: "Concurrent keep-alive HTTP connections.") var connections: Int = 64
    @Option(help: "Policies to publish for the 码上查 search phase.") var policies: Int = 100_000
    @Option(help: "Load generator for single requests: wrk (its own process), client (AsyncHTTPClient in this process), or auto (wrk when installed).")
    var load: String = "auto"
    @Flag(help: "Only the scan path's phases: no door scans, policy search, audit proofs or peer region (and no set-up for them).")
    var scanPathOnly = false
    @Option(help: "Consents of the one hot holder whose codes are issued and scanned in a phase of their own (0: no such phase).")
    var hotConsents: Int = 30_000
    @Option(name: .customLong("profile"), help: "Record each scan-path phase with perf and write flame graphs (SVG) into this directory.")
    var profileDirectory: String?
    @Option(help: "Scans ÷ HTTP floor of a 100,000-licence run, to judge this run's (at 10 million licences) against.")
    var referenceRatio: Double?
    @Option(help: .hidden) var flowClient: String?

    func run() async throws {
        if let flowClient {  // the whole flows' load generator (a child, whose standard error nobody reads)
            do { return try await FlowClient.main(specFile: flowClient) } catch {
                print("error: \(error)")
                throw ExitCode.failure
            }
        }
        guard let profile = CryptoProfile(rawValue: crypto) else { throw ValidationError("--crypto must be intl or gm") }
        let wrk: String?
        switch load {
        case "auto": wrk = WrkLoad.find()
        case "client": wrk = nil
        case "wrk":
            guard let found = WrkLoad.find() else { throw ValidationError("--load wrk: no wrk on the PATH (Debian package wrk)") }
            wrk = found
        default: throw ValidationError("--load must be wrk, client or auto")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("msb-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        var options = BackendOptions(dataDirectory: DataDirectory(directory), crypto: profile)
        options.settings.rateLimits = .unlimited  // one bench app and one terminal stand for a whole hall
        let backend = try Backend.open(options)

        print("mashangban-bench — profile \(profile.rawValue), \(ProcessInfo.processInfo.activeProcessorCount) cores")
        print(String(repeating: "-", count: 72))
        // The body is made first, in 64 KiB chunks as a streamed HTTP body arrives; only the import is timed.
        var chunks: [[UInt8]] = [[]]
        for i in 0..<licences {
            if chunks[chunks.count - 1].count >= 1 << 16 { chunks.append([]) }
            chunks[chunks.count - 1].append(contentsOf: Self.socialSecurityCardLine(i).utf8)
            chunks[chunks.count - 1].append(UInt8(ascii: "\n"))
        }
        let bodyMegabytes = Double(chunks.reduce(0) { $0 + $1.count }) / 1_048_576
        let rssBefore = Self.residentMegabytes()
        let importer = BatchImport(library: backend.services.library, issuer: try await Self.issuer(backend))
        let cpuBefore = Self.ownCPUSeconds()
        let start = ContinuousClock.now
        for chunk in chunks { try await importer.feed(chunk) }
        let result = try await importer.finish()
        let elapsed = ContinuousClock.now - start
        let seconds = elapsed.inSeconds
        let rate = Double(result.accepted) / seconds
        let cpu = Self.ownCPUSeconds() - cpuBefore
        print(Self.row("batch import (NDJSON, sealed, audited)", String(format: "%.0f licences/s", rate)))
        print(Self.row("  licences accepted / rejected", "\(result.accepted) / \(result.rejectedCount)"))
        print(Self.row("  wall time", String(format: "%.2f s", seconds)))
        print(Self.row("  CPU", String(format: "%.1f µs per licence, %.2f cores busy", cpu * 1e6 / Double(max(1, result.accepted)), cpu / seconds)))
        print(Self.row("  body", String(format: "%.1f MiB NDJSON", bodyMegabytes)))
        print(Self.row("  RSS before → after", String(format: "%.0f MB → %.0f MB (the bench holds the body)", rssBefore, Self.residentMegabytes())))
        print(Self.row("  target (issue 3)", "≥ 20000 licences/s"))
        // The audit chain's own cost: records appended in one transaction, as a batch does.
        let records = 20_000
        let auditStart = ContinuousClock.now
        try await backend.services.auditTrail.appendBenchRecords(records)
        let auditElapsed = ContinuousClock.now - auditStart
        let auditSeconds = auditElapsed.inSeconds
        print(Self.row("audit records appended (one transaction)", String(format: "%.0f records/s", Double(records) / auditSeconds)))
        let verify = try await backend.services.auditTrail.verify()
        print(Self.row("audit chain after import", verify.ok ? "intact, \(verify.size ?? 0) records" : "BROKEN"))

        chunks = []  // the rest measures the service, not the bench's copy of the body

        // The machine's limits, measured now, beside what our flows reach over HTTP.
        print(String(repeating: "-", count: 72))
        let signatures = try await FlowBench.signatureRates(backend.suite)
        let algorithm = backend.suite.signatures.algorithm.rawValue
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let commits = try FlowBench.commitRates(in: directory)
        var bench = FlowBench(backend: backend, flows: flows, connections: connections, wrk: wrk, people: licences, policyCount: policies)
        bench.scanPathOnly = scanPathOnly
        bench.hotConsents = hotConsents
        bench.profiler = try profileDirectory.map { try Profiler(directory: $0) }
        let results = try await bench.run()
        let figures = { (f: FlowBench.Figures) in
            f.count == 0 ? "skipped" : String(format: "%6.0f /s  p50 %5.1f  p99 %5.1f  p999 %5.1f ms  errors %d  ", f.rate, f.p50, f.p99, f.p999, f.errors)
                + (f.generatorCPUPerRequest.map { String(format: "cpu %.3f + \(f.generator) %.3f ms", f.cpuPerRequest * 1000, $0 * 1000) }
                    ?? String(format: "cpu %.3f ms", f.cpuPerRequest * 1000))
                + String(format: ", %.2f cores", f.coresBusy)
        }
        print("limits on this machine")
        print(Self.row("  HTTP floor (GET /healthz, same load)", figures(results.floor)))
        print(Self.row("    again, after the scan path's phases", figures(results.floorAgain)))
        print(Self.row("    their mean, which the ratios divide by", String(format: "%6.0f /s", results.floorRate)))
        print(Self.row("  \(algorithm) sign, our crypto layer (\(cores) thr.)", String(format: "%6.0f /s", signatures.sign)))
        print(Self.row("  \(algorithm) verify, our crypto layer (\(cores) thr.)", String(format: "%6.0f /s", signatures.verify)))
        print(Self.row("  SQLite commits, 1 row each (FULL, WAL)", String(format: "%6.0f /s", commits.single)))
        print(Self.row("  SQLite rows, 100 per commit", String(format: "%6.0f /s", commits.batched)))
        print("to `mashangban serve` in its own process, over HTTP/1.1 loopback, \(connections) keep-alive connections, \(flows) distinct")
        print("tokens each; single requests sent by " + (wrk.map { "\($0) (cpu = server + wrk)" } ?? "AsyncHTTPClient from this process (cpu = server)"))
        print(Self.row("  codes issued (POST /v1/presentations)", figures(results.codes)))
        print(Self.row("  scans (POST /v1/scans)", figures(results.scans)))
        print(Self.row("  cross-region scans (peer redeems)", figures(results.crossRegionScans)
            + String(format: "  peer CPU %.2f ms", results.peerCPUPerScan * 1000)))
        print(Self.row("  window sessions (POST /v1/window-sessions)", figures(results.windowOpens)))
        print(Self.row("  claims (POST /v1/window-sessions/claim)", figures(results.claims)))
        print(Self.row("  hot holder (\(hotConsents) consents): codes", figures(results.hotCodes)))
        print(Self.row("  hot holder: scans", figures(results.hotScans)))
        print(Self.row("  full flows (challenge→consent→code→scan)", figures(results.fullFlows)))
        print(Self.row("  visit scans (POST /v1/visit-scans, entry)", figures(results.visitScans) + "  red \(results.visitRed)"))
        print(Self.row("  policy search (2 words + region, \(results.policies))", figures(results.policySearches)
                       + String(format: "  %.0f hits/page", results.hitsPerSearch)))
        print(Self.row("  the same, one connection per core", figures(results.policySearchesPerCore)))
        print(Self.row("  audit inclusion proofs (log of \(results.auditSize))", figures(results.inclusionProofs)))
        print(Self.row("  audit consistency proofs (to \(results.auditSize))", figures(results.consistencyProofs)))
        print(wrk == nil ? "    (whole flows are sent by AsyncHTTPClient from this process, which signs each face-check attestation)"
              : "    (whole flows are sent by this bench's flow client, in its own process, which signs each face-check attestation)")
        // One thread runs every write: its CPU per unit bounds the rate whatever the cores do.
        // Meanwhile the delivery worker tries to send the new submissions, on the same cores
        // and writer (the bench's approval system is unreachable: few attempts end).
        // And the write-ahead log's checkpoints: beside the writer, or in its commits (the last
        // frames of a run; forced when the checkpointer fell 16,000 frames behind).
        // The writer's busy share is of the phase's wall time: batches run, fsyncs included.
        for (name, writes, phase) in [("codes", results.codeWrites, results.codes), ("scans", results.scanWrites, results.scans),
                                      ("claims", results.claimWrites, results.claims), ("hot holder's scans", results.hotScanWrites, results.hotScans),
                                      ("visit scans", results.visitWrites, results.visitScans),
                                      ("full flows (4 units each)", results.fullFlowWrites, results.fullFlows)] where writes.units > 0 {
            let seconds = Double(phase.count) / max(phase.rate, 1e-9)
            print(Self.row("  writer, \(name)", String(format: "%.1f units per commit, %.3f ms CPU per unit (bound %.0f/s), busy %.0f %% of the phase; "
                                                          + "%d webhook attempts; WAL checkpoints %d beside, %d + %d forced in commits",
                                                          writes.unitsPerTransaction, writes.cpuPerUnit * 1000,
                                                          1 / max(writes.cpuPerUnit, 1e-9), 100 * writes.busySeconds / max(seconds, 1e-9),
                                                          writes.deliveryAttempts,
                                                          writes.checkpoints.beside, writes.checkpoints.finished, writes.checkpoints.forced)))
        }
        print("ratios")
        print(Self.row("  scans ÷ HTTP floor", String(format: "%.2f", results.scans.rate / results.floorRate)))
        if results.crossRegionScans.count > 0 {
            print(Self.row("  cross-region scans ÷ scans", String(format: "%.2f", results.crossRegionScans.rate / results.scans.rate)))
        }
        print(Self.row("  scans ÷ verify limit", String(format: "%.2f", results.scans.rate / signatures.verify)))
        print(Self.row("  codes ÷ sign limit", String(format: "%.2f", results.codes.rate / signatures.sign)))
        if !scanPathOnly {
            print(Self.row("  visit scans ÷ scans (target: same order)", String(format: "%.2f", results.visitScans.rate / results.scans.rate)))
            let searchP99 = results.policySearchesPerCore.p99
            print(Self.row("  policy search p99, a connection per core", String(format: "%.1f ms", searchP99)
                                                                                   + " (target ≤ 20 ms: \(searchP99 <= 20 ? "pass" : "FAIL"))"))
        }
        print(Self.row("  scan writes/s ÷ single-commit limit", String(format: "%.2f", results.scans.rate / commits.single)))
        print(Self.row("server RSS after the single requests", String(format: "%.0f MB (peak %.0f MB)", results.serverMemory.now,
                                                                             results.serverMemory.peak)))
        print(Self.row("server startup on this data dir", String(format: "%.0f ms from exec to listening (%d licences)",
                                                                        results.serverStartup * 1000, licences)))
        let targets = Targets(profile: profile, floor: results.floorRate, verifyLimit: signatures.verify, signLimit: signatures.sign,
                              importRate: rate, results: results, referenceRatio: referenceRatio)
        print("targets (issue 26; each a ratio to a limit measured in this run, or a bound)")
        for line in targets.lines { print(Self.row("  " + line.name, line.verdict)) }
        if let profiler = bench.profiler {
            print("flame graphs (perf record --call-graph dwarf at \(profiler.frequency) Hz; the profiled run's figures are not the bench's)")
            for file in await profiler.render(phases: ["codes", "scans", "claims", "full-flows"], label: "\(profile.rawValue), \(licences) licences") {
                print("  " + file)
            }
        }
    }

    /// The bench issuer's authority (a made-up 机关 credit code with a valid check character).
    static let issuerCode = "11430400MB1234567L"

    /// An issuer client for the bench's licences (every built-in type).
    static func issuer(_ backend: Backend) async throws -> LicenceIssuer {
        let (client, _) = try await backend.services.clients.create(
            .init(role: "issuer", name: "bench issuer", issuerCode: Self.issuerCode, licenceTypes: LicenceType.builtIns.map(\.code)),
            by: .system)
        return try LicenceIssuer(client)
    }

    static func row(_ label: String, _ value: String) -> String {
        label.padding(toLength: 44, withPad: " ", startingAt: 0) + value
    }

    /// A social-security card line for generated person `i` (or `holder`).
    static func socialSecurityCardLine(_ i: Int, holder: String? = nil) -> String {
        let id = holder ?? personID(i)
        let card = String(format: "6222%015d", i)
        let fields = #"{"name":"测试\#(i % 97)","id_number":"\#(id)","card_number":"\#(card)"}"#
        return #"{"type":"social_security_card","number":"\#(card)","holder":{"kind":"person","id":"\#(id)"},"fields":\#(fields),"#
            + #""valid_from":"2020-01-01","issuer":"衡阳市人社局"}"#
    }

    /// Generated person `i`'s citizen ID: valid, and a different one for each `i`.
    static func personID(_ i: Int) -> String {
        let day = Calendar(identifier: .gregorian).date(byAdding: .day, value: i / 1000, to: Date(timeIntervalSince1970: 315_532_800))!
        let c = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: day)
        let seventeen = String(format: "430405%04d%02d%02d%03d", c.year ?? 1980, c.month ?? 1, c.day ?? 1, i % 1000)
        return CitizenID.completing(seventeen) ?? seventeen
    }

    /// A resident ID card line for `holder`.
    static func idCardLine(_ holder: String) -> String {
        let fields = #"{"name":"王一静","sex":"女","birth_date":"1985-01-01","address":"湖南省衡阳市蒸湘区解放大道12号","id_number":"\#(holder)"}"#
        return #"{"type":"resident_id_card","number":"\#(holder)","holder":{"kind":"person","id":"\#(holder)"},"fields":\#(fields),"#
            + #""valid_from":"2020-01-01","valid_until":"2040-01-01","issuer":"衡阳市公安局"}"#
    }

    static func residentMegabytes() -> Double { BenchProcess.memory(of: "self").now }

    /// This process's CPU seconds so far (user and system, all threads).
    static func ownCPUSeconds() -> Double { WrkLoad.cpuSeconds(RUSAGE_SELF) }
}

import Foundation
import MaShangBan

/// Issue 26's targets for the scan path, each judged in the run that measured it: a rate as
/// a ratio to a limit of the same run (the HTTP floor, the verify limit), a latency or the
/// writer's CPU per unit as a bound. Printed with the figure and a pass/FAIL word.
struct Targets {
    let profile: CryptoProfile
    let floor: Double
    let verifyLimit: Double
    /// Signatures per second through our crypto layer on every core, as `verifyLimit`.
    let signLimit: Double
    let importRate: Double
    let results: FlowBench.Results
    /// Scans ÷ floor of a 100,000-licence run, for a run at 10 million.
    let referenceRatio: Double?

    struct Line {
        let name: String
        let verdict: String
    }

    static let scanRatio = 0.25
    static let p99Bound = 15.0
    static let writerBound = 0.060
    static let fullFlowRatio = 0.05
    static let gmVerifyRatio = 0.8
    static let rssBound = 300.0
    static let startupBound = 1.0

    var importBound: Double { profile == .gm ? 30_000 : 50_000 }

    var lines: [Line] {
        var lines: [Line] = []
        func judge(_ name: String, _ figure: String, _ met: Bool) { lines.append(Line(name: name, verdict: figure + (met ? "  pass" : "  FAIL"))) }
        func ratio(_ name: String, _ f: FlowBench.Figures, _ bound: Double) {
            guard f.count > 0 else { return lines.append(Line(name: name, verdict: "skipped")) }
            judge(name + String(format: " ≥ %.2f", bound), String(format: "%.3f", f.rate / floor), f.rate / floor >= bound)
            judge("  its p99 ≤ \(Int(Self.p99Bound)) ms", String(format: "%.1f ms", f.p99), f.p99 <= Self.p99Bound)
        }
        ratio("scans ÷ HTTP floor", results.scans, Self.scanRatio)
        ratio("claims ÷ HTTP floor", results.claims, Self.scanRatio)
        ratio("hot holder's scans ÷ HTTP floor", results.hotScans, Self.scanRatio)
        let writer = results.scanWrites.cpuPerUnit * 1000
        judge(String(format: "writer CPU per scan unit ≤ %.3f ms", Self.writerBound), String(format: "%.3f ms", writer), writer <= Self.writerBound)
        let full = results.fullFlows.rate / floor
        judge(String(format: "full flows ÷ HTTP floor ≥ %.2f", Self.fullFlowRatio), String(format: "%.3f", full), full >= Self.fullFlowRatio)
        // A bound, not a target: the rate at which the machine could only make each flow's own
        // signatures (the face check's attestation and the code) and verify its attestation.
        let signaturesAlone = 1 / (2 / signLimit + 1 / verifyLimit)
        lines.append(Line(name: "  its signatures alone, ÷ HTTP floor", verdict: String(format: "%.3f (%.0f flows/s, all cores)",
                                                                                         signaturesAlone / floor, signaturesAlone)))
        if profile == .gm {
            let gm = results.scans.rate / verifyLimit
            judge(String(format: "scans ÷ SM2 verify limit ≥ %.1f", Self.gmVerifyRatio), String(format: "%.2f", gm), gm >= Self.gmVerifyRatio)
        }
        judge(String(format: "batch import ≥ %.0f licences/s", importBound), String(format: "%.0f /s", importRate), importRate >= importBound)
        judge(String(format: "server startup ≤ %.0f s", Self.startupBound), String(format: "%.0f ms", results.serverStartup * 1000),
              results.serverStartup <= Self.startupBound)
        judge(String(format: "server RSS (peak) ≤ %.0f MB", Self.rssBound), String(format: "%.0f MB", results.serverMemory.peak),
              results.serverMemory.peak <= Self.rssBound)
        if let referenceRatio {
            let here = results.scans.rate / floor
            let change = here / referenceRatio - 1
            judge(String(format: "scans ÷ floor within 10 %% of %.3f", referenceRatio), String(format: "%.3f (%+.0f %%)", here, change * 100),
                  abs(change) <= 0.10 || here >= referenceRatio)
        }
        return lines
    }
}

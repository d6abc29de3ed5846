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
            judge(name + String(format: " ≥ %.2f", bound), Self.shown(f.rate / floor, decimals: 3, bound: bound), f.rate / floor >= bound)
            judge("  its p99 ≤ \(Int(Self.p99Bound)) ms", Self.shown(f.p99, decimals: 1, bound: Self.p99Bound) + " ms", f.p99 <= Self.p99Bound)
        }
        ratio("scans ÷ HTTP floor", results.scans, Self.scanRatio)
        ratio("claims ÷ HTTP floor", results.claims, Self.scanRatio)
        ratio("hot holder's scans ÷ HTTP floor", results.hotScans, Self.scanRatio)
        let writer = results.scanWrites.cpuPerUnit * 1000
        judge(String(format: "writer CPU per scan unit ≤ %.3f ms", Self.writerBound), Self.shown(writer, decimals: 3, bound: Self.writerBound) + " ms",
              writer <= Self.writerBound)
        let full = results.fullFlows.rate / floor
        judge(String(format: "full flows ÷ HTTP floor ≥ %.2f", Self.fullFlowRatio), Self.shown(full, decimals: 3, bound: Self.fullFlowRatio),
              full >= Self.fullFlowRatio)
        // A bound, not a target: the rate at which the machine could only make each flow's own
        // signatures (the face check's attestation and the code) and verify its attestation.
        let signaturesAlone = 1 / (2 / signLimit + 1 / verifyLimit)
        lines.append(Line(name: "  its signatures alone, ÷ HTTP floor", verdict: String(format: "%.3f (%.0f flows/s, all cores)",
                                                                                         signaturesAlone / floor, signaturesAlone)))
        if profile == .gm {
            let gm = results.scans.rate / verifyLimit
            judge(String(format: "scans ÷ SM2 verify limit ≥ %.1f", Self.gmVerifyRatio), Self.shown(gm, decimals: 2, bound: Self.gmVerifyRatio),
                  gm >= Self.gmVerifyRatio)
        }
        judge(String(format: "batch import ≥ %.0f licences/s", importBound), Self.shown(importRate, decimals: 0, bound: importBound) + " /s",
              importRate >= importBound)
        judge(String(format: "server startup ≤ %.0f s", Self.startupBound),
              Self.shown(results.serverStartup * 1000, decimals: 0, bound: Self.startupBound * 1000) + " ms",
              results.serverStartup <= Self.startupBound)
        let rss = results.serverMemory.peak
        judge(String(format: "server RSS (peak) ≤ %.0f MB", Self.rssBound), Self.shown(rss, decimals: 0, bound: Self.rssBound) + " MB", rss <= Self.rssBound)
        if let referenceRatio {
            let here = results.scans.rate / floor
            let change = here / referenceRatio - 1
            judge(String(format: "scans ÷ floor within 10 %% of %.3f", referenceRatio), String(format: "%.3f (%+.0f %%)", here, change * 100),
                  abs(change) <= 0.10 || here >= referenceRatio)
        }
        return lines
    }

    /// `value` with `decimals` decimals, or as many more (up to six) as it takes to tell it from
    /// `bound` when they print the same: 0.0604 ms against a bound of 0.060 ms reads "0.0604",
    /// not "0.060 ms FAIL".
    static func shown(_ value: Double, decimals: Int, bound: Double) -> String {
        var digits = decimals
        while digits < 6, value != bound, String(format: "%.\(digits)f", value) == String(format: "%.\(digits)f", bound) { digits += 1 }
        return String(format: "%.\(digits)f", value)
    }
}

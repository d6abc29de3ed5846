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
        /// A figure against its bound, at least (`≥`) or at most: the figure shown as `shown` shows it.
        func judge(_ name: String, _ value: Double, atLeast: Bool, _ bound: Double, decimals: Int, unit: String = "") {
            judge(name, Self.shown(value, decimals: decimals, bound: bound) + unit, atLeast ? value >= bound : value <= bound)
        }
        func ratio(_ name: String, _ f: FlowBench.Figures, _ bound: Double) {
            guard f.count > 0 else { return lines.append(Line(name: name, verdict: "skipped")) }
            judge(name + String(format: " ≥ %.2f", bound), f.rate / floor, atLeast: true, bound, decimals: 3)
            judge("  its p99 ≤ \(Int(Self.p99Bound)) ms", f.p99, atLeast: false, Self.p99Bound, decimals: 1, unit: " ms")
        }
        ratio("scans ÷ HTTP floor", results.scans, Self.scanRatio)
        ratio("claims ÷ HTTP floor", results.claims, Self.scanRatio)
        ratio("hot holder's scans ÷ HTTP floor", results.hotScans, Self.scanRatio)
        judge(String(format: "writer CPU per scan unit ≤ %.3f ms", Self.writerBound), results.scanWrites.cpuPerUnit * 1000, atLeast: false,
              Self.writerBound, decimals: 3, unit: " ms")
        judge(String(format: "full flows ÷ HTTP floor ≥ %.2f", Self.fullFlowRatio), results.fullFlows.rate / floor, atLeast: true,
              Self.fullFlowRatio, decimals: 3)
        // A bound, not a target: the rate at which the machine could only make each flow's own
        // signatures (the face check's attestation and the code) and verify its attestation.
        let signaturesAlone = 1 / (2 / signLimit + 1 / verifyLimit)
        lines.append(Line(name: "  its signatures alone, ÷ HTTP floor", verdict: String(format: "%.3f (%.0f flows/s, all cores)",
                                                                                         signaturesAlone / floor, signaturesAlone)))
        if profile == .gm {
            judge(String(format: "scans ÷ SM2 verify limit ≥ %.1f", Self.gmVerifyRatio), results.scans.rate / verifyLimit, atLeast: true,
                  Self.gmVerifyRatio, decimals: 2)
        }
        judge(String(format: "batch import ≥ %.0f licences/s", importBound), importRate, atLeast: true, importBound, decimals: 0, unit: " /s")
        judge(String(format: "server startup ≤ %.0f s", Self.startupBound), results.serverStartup * 1000, atLeast: false,
              Self.startupBound * 1000, decimals: 0, unit: " ms")
        judge(String(format: "server RSS (peak) ≤ %.0f MB", Self.rssBound), results.serverMemory.peak, atLeast: false, Self.rssBound,
              decimals: 0, unit: " MB")
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

import Foundation

public enum LatTrace {
    public static let on = getenv("MSB_TRACE") != nil
    static let samples = Locked<[[UInt64]]>([])
    public static func now() -> UInt64 {
        var t = timespec(); clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }
    public static func add(_ s: [UInt64]) {
        guard on else { return }
        let dump: [[UInt64]]? = samples.withLock { all in
            all.append(s)
            if all.count >= 8000 { defer { all = [] }; return all }
            return nil
        }
        guard let dump else { return }
        var out = "n=\(dump.count)\n"
        let names = ["pre", "queue", "batch", "resume", "post", "total"]
        for i in 0..<(s.count - 1) {
            let d = dump.map { Double($0[i + 1] &- $0[i]) / 1e6 }.sorted()
            out += "\(names[i]): p50 \(fmt(d[d.count / 2])) p90 \(fmt(d[d.count * 9 / 10])) p99 \(fmt(d[d.count * 99 / 100])) mean \(fmt(d.reduce(0, +) / Double(d.count)))\n"
        }
        let d = dump.map { Double($0[s.count - 1] &- $0[0]) / 1e6 }.sorted()
        out += "total: p50 \(fmt(d[d.count / 2])) p90 \(fmt(d[d.count * 9 / 10])) p99 \(fmt(d[d.count * 99 / 100])) mean \(fmt(d.reduce(0, +) / Double(d.count)))\n"
        if let h = FileHandle(forWritingAtPath: "/tmp/lattrace.txt") { h.seekToEndOfFile(); h.write(out.data(using: .utf8)!); h.closeFile() }
    }
    static func fmt(_ x: Double) -> String { String(format: "%.2f", x) }
}

public final class TraceBox: @unchecked Sendable {
    public var t: [UInt64] = []
    public init() {}
    public func mark() { if LatTrace.on { t.append(LatTrace.now()) } }
}

extension LatTrace {
    @TaskLocal public static var box: TraceBox?
}

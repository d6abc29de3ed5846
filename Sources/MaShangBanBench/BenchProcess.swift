import Foundation
import MaShangBan
import Spawn

/// A process the bench starts (the server under test, wrk, perf), with its output collected.
/// `ChildProcess` starts it with an empty signal mask and default signal actions (this
/// process's threads block SIGINT and SIGTERM, and both children end on SIGINT).
final class BenchProcess: Sendable {
    private let process: ChildProcess
    /// Output so far; whether it has ended; who waits for what text.
    private let output = Locked((text: Data(), ended: false, watchers: [(String, CheckedContinuation<String, Never>)]()))

    init(_ executable: String, _ arguments: [String]) throws {
        process = try ChildProcess(executable, arguments)
        // Read on a thread of its own with blocking reads until end of file.
        guard let reading = process.output else { return }
        let output = self.output
        Thread.detachNewThread {
            while true {
                let chunk = reading.availableData
                let (text, met) = output.withLock { output in
                    output.text.append(chunk)
                    output.ended = chunk.isEmpty
                    let text = String(decoding: output.text, as: UTF8.self)
                    let met = output.watchers.filter { output.ended || text.contains($0.0) }
                    output.watchers.removeAll { output.ended || text.contains($0.0) }
                    return (text, met)
                }
                for (_, continuation) in met { continuation.resume(returning: text) }
                if chunk.isEmpty { return }
            }
        }
    }

    var pid: Int32 { process.pid }

    /// Everything printed so far, once it contains `marker` or the output has ended.
    func printed(once marker: String) async -> String {
        await withCheckedContinuation { continuation in
            let now = output.withLock { output -> String? in
                let text = String(decoding: output.text, as: UTF8.self)
                if output.ended || text.contains(marker) { return text }
                output.watchers.append((marker, continuation))
                return nil
            }
            if let now { continuation.resume(returning: now) }
        }
    }

    func interrupt() { process.signal(SIGINT) }

    /// Waits (off the cooperative pool) for the process to end; its exit status and output.
    func finished(killAfter seconds: Double = 30) async -> (status: Int32, printed: String) {
        let process = self.process
        let status = await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
            Thread.detachNewThread {
                if let status = process.wait(atMost: seconds) { return continuation.resume(returning: status) }
                process.signal(SIGKILL)
                continuation.resume(returning: process.wait() ?? SIGKILL)
            }
        }
        for _ in 0..<100 where !output.withLock({ $0.ended }) { usleep(10_000) }  // the last output, still in the pipe
        return (status, String(decoding: output.withLock { $0.text }, as: UTF8.self))
    }

    /// CPU seconds the process has used so far (utime + stime of /proc/PID/stat).
    var cpuSeconds: Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")")
        else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// VmRSS and VmHWM (peak) of the process, in MB.
    var residentMegabytes: (now: Double, peak: Double) { Self.memory(of: "\(pid)") }

    /// VmRSS and VmHWM of /proc/PID/status ("self": this process), in MB.
    static func memory(of pid: String) -> (now: Double, peak: Double) {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return (0, 0) }
        func field(_ name: String) -> Double {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name) }),
                  let kb = Double(line.split(separator: " ").dropFirst().first ?? "")
            else { return 0 }
            return kb / 1024
        }
        return (field("VmRSS:"), field("VmHWM:"))
    }
}

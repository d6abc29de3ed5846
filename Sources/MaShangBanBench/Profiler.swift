import ArgumentParser
import Foundation

/// `mashangban-bench --profile DIR`: `perf record -g` (Debian's linux-perf) attached to the
/// server under test for each phase of the scan path, then a flame graph of each (SVG, by
/// `scripts/flamegraph.py`) of the whole server and of the group commit's writer thread
/// alone. Sampling costs the server some CPU: a profiled run's figures are not the bench's.
struct Profiler: Sendable {
    let directory: URL
    /// Samples per second per CPU.
    let frequency = 499
    /// The flame-graph script, from the repository root (where `make bench` runs).
    static let script = "scripts/flamegraph.py"
    /// A stack on the writer thread passes through the group commit's batch loop.
    static let writerFrame = "GroupCommit.drain"

    init(directory: String) throws {
        guard FileManager.default.isReadableFile(atPath: Self.script) else {
            throw ValidationError("--profile: no \(Self.script) here; run the bench from the repository root")
        }
        guard WrkLoad.find(named: "perf") != nil else { throw ValidationError("--profile: no perf on the PATH (Debian package linux-perf)") }
        self.directory = URL(fileURLWithPath: directory)
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
    }

    /// Runs `body` with `perf record` attached to process `pid`, into `NAME.perf.data`.
    func record<T>(_ name: String, pid: Int32, _ body: () async throws -> T) async throws -> T {
        let data = directory.appendingPathComponent("\(name).perf.data").path
        let perf = try BenchProcess("perf", ["record", "-F", "\(frequency)", "--call-graph", "dwarf,32768", "-p", "\(pid)", "-o", data])
        try await Task.sleep(for: .milliseconds(500))  // perf attaches to every thread first
        let value: T
        do { value = try await body() } catch {
            perf.interrupt()
            _ = await perf.finished()
            throw error
        }
        perf.interrupt()
        _ = await perf.finished()
        return value
    }

    /// The flame graphs of every phase recorded: `NAME.svg` (the server) and `NAME-writer.svg`
    /// (the writer thread's stacks from the batch loop up). Returns the files written.
    func render(phases: [String], label: String) async -> [String] {
        var written: [String] = []
        for name in phases {
            let data = directory.appendingPathComponent("\(name).perf.data").path
            guard FileManager.default.fileExists(atPath: data) else { continue }
            for (suffix, only) in [("", nil), ("-writer", Self.writerFrame)] as [(String, String?)] {
                let svg = directory.appendingPathComponent("\(name)\(suffix).svg").path
                let title = "\(name)\(suffix.isEmpty ? "" : " — the group commit writer thread") (\(label))"
                let filter = only.map { " --only '\($0)'" } ?? ""
                let command = "perf script -i '\(data)' 2>/dev/null | swift-demangle --simplified | python3 \(Self.script) --title '\(title)'"
                    + "\(filter) > '\(svg)'"
                if let process = try? BenchProcess("/bin/sh", ["-c", command]), await process.finished(killAfter: 600).status == 0 {
                    written.append(svg)
                }
            }
        }
        return written
    }
}

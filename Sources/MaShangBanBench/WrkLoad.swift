import Foundation
import MaShangBan

/// A bench phase driven by `wrk` (Debian's package) in its own process, so the load generator
/// does not share the server's process and costs little CPU. Each request of the phase is
/// sent exactly once, in order, over `connections` keep-alive connections; the phase ends
/// when every one has its answer. Answers' statuses are checked in wrk's Lua, and one string
/// member of each answer can be kept (tokens issued in one phase, used in the next).
struct WrkLoad {
    let executable: String
    let server: ServerUnderTest
    let connections: Int
    let directory: URL

    /// One request of a phase.
    struct Phase {
        var method: String
        var path: String
        var token: String?
        /// One JSON body for each request ("" for none).
        var bodies: [String]
        /// A bearer token for each request instead of `token` (doors each of their own enterprise).
        var tokens: [String]? = nil
        var expect: Int
        /// A string member of each answer to keep, in answer order.
        var keep: String?
    }

    /// `wrk` (or another program) on the PATH, if there is one.
    static func find(named name: String = "wrk") -> String? {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// The phase's figures (requests not answered count as errors), and the kept members.
    func run(_ phase: Phase) async throws -> (FlowBench.Figures, kept: [String]) {
        let script = directory.appendingPathComponent("phase.lua")
        let bodies = directory.appendingPathComponent("bodies.txt")
        let kept = directory.appendingPathComponent("kept.txt")
        try Self.script.write(to: script, atomically: true, encoding: .utf8)
        let lines = phase.tokens.map { tokens in zip(tokens, phase.bodies).map { "\($0)\t\($1)" } } ?? phase.bodies
        try (lines.joined(separator: "\n") + "\n").write(to: bodies, atomically: true, encoding: .utf8)
        try? FileManager.default.removeItem(at: kept)

        let (serverBefore, before) = (server.cpuSeconds, Self.finishedChildrenCPUSeconds())
        let wrk = try BenchProcess(executable, [
            "-t1", "-c\(connections)", "-d\(max(60, phase.bodies.count / 50))s", "--timeout", "30s", "-s", script.path, "http://127.0.0.1:\(server.port)", "--",
            phase.method, phase.path, phase.tokens == nil ? phase.token ?? "-" : "*", String(phase.expect), phase.keep ?? "-", bodies.path,
            kept.path])
        // wrk's main thread sleeps for `-d` whatever its threads do; SIGINT ends that sleep. `-d`
        // only bounds a phase that lost answers (at 50 requests/s at least): they count as errors.
        _ = await wrk.printed(once: "MSB-FINISHED")
        wrk.interrupt()
        let (status, text) = await wrk.finished()
        guard status == 0,
              let line = text.split(separator: "\n").last(where: { $0.hasPrefix("MSB ") })
        else { throw WrkFailure(printed: text) }
        guard let figures = Self.figures(summary: line, sent: phase.bodies.count, serverCPU: server.cpuSeconds - serverBefore,
                                         generatorCPU: Self.finishedChildrenCPUSeconds() - before)
        else { throw WrkFailure(printed: text) }
        let keptValues = phase.keep == nil ? [] : ((try? String(contentsOf: kept, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        return (figures, keptValues)
    }

    /// A phase's figures from its generator's summary line, `MSB <µs> <answered> <errors> <p50 µs>
    /// <p99 µs> <p99.9 µs>`, of `sent` requests (those not answered count as errors), with the
    /// CPU seconds the server and the generator spent on it; nil for another line.
    static func figures(summary line: Substring, sent: Int, serverCPU: Double, generatorCPU: Double,
                        generator: String = "wrk") -> FlowBench.Figures? {
        let numbers = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard line.hasPrefix("MSB "), numbers.count == 6 else { return nil }
        let (answered, requests) = (Int(numbers[1]), Double(max(1, sent)))
        return FlowBench.Figures(
            count: answered, rate: Double(answered) / max(numbers[0] / 1e6, 1e-6), p50: numbers[3] / 1000, p99: numbers[4] / 1000,
            p999: numbers[5] / 1000, errors: Int(numbers[2]) + sent - answered,
            cpuPerRequest: serverCPU / requests, generatorCPUPerRequest: generatorCPU / requests, generator: generator)
    }

    /// CPU seconds of this process's waited-for children: each wrk once it has ended (the
    /// server under test is still running, so it is not among them).
    static func finishedChildrenCPUSeconds() -> Double { cpuSeconds(RUSAGE_CHILDREN) }

    /// User and system CPU seconds of `who` (this process, or its waited-for children) so far.
    static func cpuSeconds(_ who: __rusage_who) -> Double {
        var usage = rusage()
        getrusage(who.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    /// A load generator that did not finish its phase: wrk, or the whole flows' client.
    struct WrkFailure: Error, CustomStringConvertible {
        var generator = "wrk"
        let printed: String
        var description: String { "\(generator) failed: \(printed.suffix(2000))" }
    }

    /// Arguments after `--`: method, path (or "*": each line of the bodies file is a path to
    /// GET, with no body), bearer token or "-" (or "*": each line of the bodies
    /// file is `<token>\t<body>`), expected status, member to keep or "-", the bodies file, the
    /// file for kept members. Once every request is sent,
    /// connections that ask for more get `GET /healthz` until the last answer is in; those
    /// answers are not counted (at most `connections - 1` of them, at the very end, enter
    /// wrk's latency figures, which include its coordinated-omission correction). The script
    /// prints `MSB-FINISHED` when the last answer is in, and at the end
    /// `MSB <µs> <answered> <errors> <p50 µs> <p99 µs> <p99.9 µs>`.
    static let script = #"""
        local threads = {}
        function setup(thread) table.insert(threads, thread) end

        function init(args)
          local headers = {["Content-Type"] = "application/json"}
          if args[3] ~= "-" then headers["Authorization"] = "Bearer " .. args[3] end
          requests = {}
          for line in io.lines(args[6]) do
            local lineHeaders = headers
            local path = args[2]
            if path == "*" then
              path = line
              line = ""
            end
            if args[3] == "*" then
              local token, body = line:match("^([^\t]*)\t(.*)$")
              lineHeaders = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}
              line = body
            end
            if line == "" then
              requests[#requests + 1] = wrk.format(args[1], path, lineHeaders)
            else
              requests[#requests + 1] = wrk.format(args[1], path, lineHeaders, line)
            end
          end
          filler = wrk.format("GET", "/healthz")
          expected = tonumber(args[4])
          if args[5] ~= "-" then
            pattern = '"' .. args[5] .. '":"([^"]+)"'
            kept = io.open(args[7], "w")
          end
          floor = args[1] == "GET" and args[2] == "/healthz"
          -- wrk calls request() once before it connects, to check the script (4.1.0's
          -- script_verify_request); that call gets the filler, and sending starts at 1.
          sent, answered, bad = -1, 0, 0
        end

        function request()
          sent = sent + 1
          return requests[sent] or filler
        end

        function response(status, headers, body)
          if answered >= #requests then return end
          if sent > #requests and not floor and body == '{"status":"ok"}' then return end  -- a filler's
          answered = answered + 1
          if status ~= expected then
            bad = bad + 1
          elseif pattern then
            local value = body:match(pattern)
            if value then kept:write(value, "\n") else bad = bad + 1 end
          end
          if answered == #requests then
            if kept then kept:close() end
            wrk.thread:stop()
            io.write("MSB-FINISHED\n")
            io.stdout:flush()
          end
        end

        function done(summary, latency, requests)
          local answered, bad = 0, 0
          for _, thread in ipairs(threads) do
            answered = answered + thread:get("answered")
            bad = bad + thread:get("bad")
          end
          local e = summary.errors
          io.write(string.format("MSB %d %d %d %d %d %d\n", summary.duration, answered,
            bad + e.connect + e.read + e.write + e.timeout,
            latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
        end
        """#
}

import Foundation
import Testing
#if canImport(Glibc)
import Glibc
import MaShangBanTestSupport
#endif
import Spawn

/// The folder of the products `swift test` built (the test bundle's).
let productsDirectory: URL = Bundle.main.bundleURL.pathExtension == "xctest"
    ? Bundle.main.bundleURL.deletingLastPathComponent() : Bundle.main.bundleURL

/// The `mashangban` executable next to the test bundle (`swift test` builds it).
let mashangbanBinary = productsDirectory.appendingPathComponent("mashangban")

/// The `mashangban-bench` executable (its own target; it starts the `mashangban` beside it).
let benchBinary = productsDirectory.appendingPathComponent("mashangban-bench")

/// Runs a program to completion; returns its status, standard output and standard error.
func runProcess(_ executable: URL, _ arguments: [String], environment: [String: String] = [:]) throws
    -> (status: Int32, out: String, err: String)
{
    let result = try ChildProcess.run(executable.path, arguments, environment: environment)
    return (result.status, String(decoding: result.out, as: UTF8.self), String(decoding: result.err, as: UTF8.self))
}

/// Runs `mashangban` with arguments to completion.
func runCLI(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
    try runProcess(mashangbanBinary, arguments, environment: environment)
}

/// A `mashangban serve` process on a free port, stopped (SIGKILL) when released if still running.
final class ServerProcess: Sendable {
    let process: ChildProcess
    let port: Int

    /// Starts the server and waits (at most 60 s) for its "listening on" line.
    convenience init(data: URL, extra: [String] = [], environment: [String: String] = [:]) throws {
        try self.init(arguments: ["serve", "--data", data.path, "--port", "0", "--log-level", "warning"] + extra, environment: environment)
    }

    /// Starts `mashangban arguments…` (serve, approval-stub) and waits for its "listening on" line.
    init(arguments: [String], environment: [String: String] = [:]) throws {
        process = try ChildProcess(mashangbanBinary.path, arguments, environment: environment)
        let output = try #require(process.output)
        var text = ""
        let deadline = Date().addingTimeInterval(60)
        var found: Int?
        while found == nil, Date() < deadline, process.isRunning {
            let chunk = output.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
            if let match = text.firstMatch(of: /listening on http:\/\/[0-9.]+:(\d+)/) { found = Int(match.1) }
        }
        guard let found else { throw ServerStartFailed(output: text) }
        port = found
    }

    struct ServerStartFailed: Error { let output: String }

    var base: String { "http://127.0.0.1:\(port)" }

    /// Sends a signal and waits (at most 30 s) for the process to end; returns its status.
    func stop(_ signal: Int32 = SIGTERM) -> Int32? {
        process.signal(signal)
        return process.wait(atMost: 30)
    }
}

/// A port that was free a moment ago (for a process whose address must be known before it starts).
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw ServerProcess.ServerStartFailed(output: "no free port") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// The admin token a first start wrote to `DIR/admin-token`.
func adminTokenFile(in data: URL) throws -> String {
    try String(contentsOf: data.appendingPathComponent("admin-token"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
}

/// A blocking HTTP/1.1 request through curl (the server under test is another process).
func curl(_ arguments: [String]) throws -> (status: Int32, body: String) {
    let result = try runProcess(URL(fileURLWithPath: Tool.curl.path ?? "/usr/bin/curl"), ["-s", "--max-time", "10"] + arguments)
    return (result.status, result.out)
}

/// Opens a raw TCP connection to 127.0.0.1:port; returns the socket.
func openSocket(port: Int) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard result == 0 else { close(fd); throw POSIXError(.ECONNREFUSED) }
    return fd
}

/// Waits until the peer closes `fd` (read returns 0) or `seconds` pass; true if it closed.
func waitForClose(_ fd: Int32, seconds: Int) -> Bool {
    var timeout = timeval(tv_sec: seconds, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = read(fd, &buffer, buffer.count)
        if n == 0 { return true }
        if n < 0 { return errno == ECONNRESET }
    }
}

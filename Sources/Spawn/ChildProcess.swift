import CSpawn
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A child process started with `posix_spawnp`, for the bench and the tests.
///
/// Foundation's `Process.run()` in Swift 6.3.1 on Linux reads past the end of a
/// `/proc/self/fd` entry while it counts open descriptors, and now and then that read
/// faults (swift-corelibs-foundation PR #5472, fixed after 6.3.1): a test process with
/// a thousand descriptors open died of it. This starts children without that walk: the
/// child gets its standard streams, every other descriptor closed (glibc's
/// `posix_spawn_file_actions_addclosefrom_np`, done in the child), an empty signal mask
/// and every signal's default action (its parent's threads may block or ignore some).
public final class ChildProcess: Sendable {
    /// Where a standard stream of the child goes.
    public enum Stream: Sendable, Equatable {
        /// The pipe whose other end is `output` (both streams may go to it).
        case pipe
        /// /dev/null.
        case discard
        /// A file, created or truncated.
        case file(String)
    }

    /// A failure to start the child: the call that failed and its errno.
    public struct SpawnFailed: Error, CustomStringConvertible {
        public let executable: String
        public let call: String
        public let code: Int32
        public var description: String { "\(call) for \(executable): \(String(cString: strerror(code)))" }
    }

    public let pid: pid_t
    public let executable: String
    public let arguments: [String]
    /// The read end of the pipe the child's standard output or error goes to (`.pipe`), if either does.
    public let output: FileHandle?
    /// The wait status once the child has been reaped (only under this lock, so a pid
    /// that is signalled is still this child's: a zombie holds it until reaped).
    private let reaped = Mutex<Int32?>(nil)

    /// Starts `executable` (a path, or a name looked up in PATH) with `arguments`, the
    /// environment of this process with `environment` over it, standard input from
    /// /dev/null, and standard output and error as given.
    public init(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                standardOutput: Stream = .pipe, standardError: Stream = .discard) throws {
        self.executable = executable
        self.arguments = arguments
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        var readEnd: Int32 = -1
        var writeEnd: Int32 = -1
        if standardOutput == .pipe || standardError == .pipe {
            var ends: [Int32] = [-1, -1]
            guard cspawn_pipe_cloexec(&ends) == 0 else { throw SpawnFailed(executable: executable, call: "pipe", code: errno) }
            (readEnd, writeEnd) = (ends[0], ends[1])
        }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        for (fd, stream) in [(Int32(1), standardOutput), (2, standardError)] {
            switch stream {
            case .pipe: posix_spawn_file_actions_adddup2(&actions, writeEnd, fd)
            case .discard: posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_WRONLY, 0)
            case .file(let path): posix_spawn_file_actions_addopen(&actions, fd, path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            }
        }
        cspawn_addclosefrom(&actions, 3)
        var signals = sigset_t()
        sigemptyset(&signals)
        posix_spawnattr_setsigmask(&attributes, &signals)
        sigfillset(&signals)
        posix_spawnattr_setsigdefault(&attributes, &signals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let variables = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0.key)=\($0.value)" }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = variables.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var child: pid_t = 0
        let result = posix_spawnp(&child, executable, &actions, &attributes, argv, envp)
        if writeEnd >= 0 { close(writeEnd) }
        guard result == 0 else {
            if readEnd >= 0 { close(readEnd) }
            throw SpawnFailed(executable: executable, call: "posix_spawnp", code: result)
        }
        pid = child
        output = readEnd >= 0 ? FileHandle(fileDescriptor: readEnd, closeOnDealloc: true) : nil
    }

    /// Reaps the child if it has ended; its wait status then.
    private func poll() -> Int32? {
        reaped.withLock { reaped in
            if reaped == nil {
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) == pid { reaped = status }
            }
            return reaped
        }
    }

    public var isRunning: Bool { poll() == nil }

    /// Sends `signal` unless the child has already been reaped.
    public func signal(_ signal: Int32) {
        reaped.withLock { reaped in
            if reaped == nil { _ = kill(pid, signal) }
        }
    }

    /// Waits for the child to end, at most `seconds` if given; its exit code, or the number
    /// of the signal that ended it (as Foundation's `terminationStatus`), or nil on time-out.
    @discardableResult
    public func wait(atMost seconds: Double? = nil) -> Int32? {
        let deadline = seconds.map { Date().addingTimeInterval($0) }
        while true {
            if let status = poll() {
                let signal = status & 0x7f
                return signal == 0 ? (status >> 8) & 0xff : signal
            }
            if let deadline, Date() >= deadline { return nil }
            usleep(1000)
        }
    }

    /// Runs a program to completion: its exit status, standard output and standard error.
    /// Standard error goes through a file, so neither stream can fill up and stall the other.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws
        -> (status: Int32, out: Data, err: Data)
    {
        let errFile = FileManager.default.temporaryDirectory.appendingPathComponent("msb-stderr-\(UUID().uuidString)").path
        defer { unlink(errFile) }
        let child = try ChildProcess(executable, arguments, environment: environment, standardError: .file(errFile))
        let out = child.output?.readDataToEndOfFile() ?? Data()
        let status = child.wait() ?? -1
        let err = FileManager.default.contents(atPath: errFile) ?? Data()
        return (status, out, err)
    }

    deinit {
        // A child nobody waited for is killed and reaped rather than left as a zombie.
        if isRunning {
            signal(SIGKILL)
            wait(atMost: 5)
        }
    }
}

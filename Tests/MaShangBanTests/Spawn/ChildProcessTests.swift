import Foundation
import Spawn
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The bench's and the tests' child processes (posix_spawn instead of Foundation's Process).
@Suite struct ChildProcessTests {
    @Test func exitCodeOutputErrorAndEnvironment() throws {
        let result = try ChildProcess.run("/bin/sh", ["-c", "echo out $MSB_SPAWN_TEST; echo err >&2; exit 3"],
                                          environment: ["MSB_SPAWN_TEST": "见"])
        #expect(result.status == 3)
        #expect(String(decoding: result.out, as: UTF8.self) == "out 见\n")
        #expect(String(decoding: result.err, as: UTF8.self) == "err\n")
    }

    /// Standard error can go to the same pipe as standard output, or to it alone.
    @Test func eitherStreamGoesToThePipe() throws {
        let both = try ChildProcess("/bin/sh", ["-c", "echo out; echo err >&2"], standardError: .pipe)
        let text = String(decoding: try #require(both.output).readDataToEndOfFile(), as: UTF8.self)
        #expect(both.wait() == 0)
        #expect(text == "out\nerr\n")
        let errorOnly = try ChildProcess("/bin/sh", ["-c", "echo out; echo err >&2"], standardOutput: .discard, standardError: .pipe)
        #expect(String(decoding: try #require(errorOnly.output).readDataToEndOfFile(), as: UTF8.self) == "err\n")
        #expect(errorOnly.wait() == 0)
    }

    @Test func aNameIsLookedUpInPathAndAMissingProgramThrows() throws {
        #expect(try ChildProcess.run("true", []).status == 0)
        #expect(throws: ChildProcess.SpawnFailed.self) { try ChildProcess("/nonexistent/msb-no-such-program", []) }
    }

    /// A signal's number is the status (as Foundation's `terminationStatus`); a child that
    /// has not ended is not waited for past the time given.
    @Test func aSignalledChildReportsTheSignal() throws {
        let child = try ChildProcess("sleep", ["30"], standardOutput: .discard)
        #expect(child.output == nil)
        #expect(child.wait(atMost: 0.05) == nil)
        #expect(child.isRunning)
        child.signal(SIGTERM)
        #expect(child.wait(atMost: 10) == SIGTERM)
        #expect(!child.isRunning)
        child.signal(SIGKILL)  // reaped: nothing is sent to a pid that may be another's now
    }

    /// The child gets 0, 1 and 2 only, with no standard signal (1–31) blocked or ignored,
    /// whatever this process has open, blocks or ignores. (glibc's spawn leaves its own
    /// internal signals 32 and 33 ignored.)
    @Test func theChildStartsCleanOfDescriptorsAndSignalState() throws {
        let extra = (0..<20).map { _ in open("/dev/null", O_RDONLY) }
        defer { extra.forEach { close($0) } }
        #expect(extra.allSatisfy { $0 > 2 })
        let listed = try ChildProcess.run("ls", ["-1", "/proc/self/fd"])
        let descriptors = String(decoding: listed.out, as: UTF8.self).split(separator: "\n").compactMap { Int($0) }
        #expect(descriptors.contains(2))
        #expect(descriptors.allSatisfy { $0 <= 3 }, "inherited \(descriptors)")  // 3: ls's own directory

        let previous = signal(SIGUSR2, SIG_IGN)
        defer { signal(SIGUSR2, previous) }
        let status = String(decoding: try ChildProcess.run("cat", ["/proc/self/status"]).out, as: UTF8.self)
        let masks = status.split(separator: "\n").filter { $0.hasPrefix("SigBlk:") || $0.hasPrefix("SigIgn:") }
        #expect(masks.count == 2)
        for line in masks {
            let mask = try #require(line.split(separator: "\t").last.flatMap { UInt64($0, radix: 16) })
            #expect(mask & 0x7fff_ffff == 0, "\(line)")
        }
    }
}

import Foundation
import Testing
@testable import MaShangBan

/// A temporary data directory, removed when the test ends.
final class TemporaryDirectory {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("msb-test-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
    var dataDirectory: DataDirectory { DataDirectory(url) }
}

/// A clock tests move by hand.
/// The library's manual clock, starting at a fixed instant.
typealias TestClock = ManualClock
extension ManualClock {
    convenience init() { self.init(Date(timeIntervalSince1970: 1_800_000_000)) }
}

enum Fixtures {
    static func json(_ name: String) throws -> JSONValue {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures"))
        return try #require(JSONValue.parse([UInt8](Data(contentsOf: url))), "fixture \(name) is not integer-only JSON")
    }

    static func rawJSON(_ name: String) throws -> Any {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures"))
        return try JSONSerialization.jsonObject(with: Data(contentsOf: url))
    }
}

/// Runs a command and returns its exit status and standard output.
@discardableResult
func run(_ executable: String, _ arguments: [String], stdin: Data? = nil) throws -> (status: Int32, output: Data) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, data)
}

func openBackend(_ dir: TemporaryDirectory, crypto: CryptoProfile? = nil, clock: TestClock = TestClock()) throws -> Backend {
    try Backend.open(BackendOptions(dataDirectory: dir.dataDirectory, crypto: crypto, adminToken: "test-admin-token-0123456789",
                                    now: clock.now))
}

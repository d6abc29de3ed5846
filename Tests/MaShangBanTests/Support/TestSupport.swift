import Foundation
import Testing
@testable import MaShangBan
import MaShangBanTestSupport
import Spawn

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
func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: Data) {
    let result = try ChildProcess.run(executable, arguments)
    return (result.status, result.out)
}

import ArgumentParser
import Foundation
import MaShangBan

/// `mashangban keys rotate --data DIR`.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "keys", abstract: "Signing key tools.", subcommands: [Rotate.self])

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a new active signing key; the old one stays listed as retired and keeps verifying.",
            discussion: "A running server lists the new key at once and signs with it from its next start.")

        @Option(help: "Data directory.") var data: String = "./data"

        func run() async throws {
            let backend = try Backend.openExisting(data: data)
            let result = try Keyring.rotate(backend: backend)
            print("rotated: \(result.retired) is retired, \(result.active) is active")
        }
    }
}

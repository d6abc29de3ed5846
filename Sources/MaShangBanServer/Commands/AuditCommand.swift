import ArgumentParser
import Foundation
import MaShangBan

/// `mashangban audit verify --data DIR`.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "Audit log tools.", subcommands: [Verify.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the audit chain and its signed checkpoints. Exit 0 when intact, 1 when not.")

        @Option(help: "Data directory (a stopped server's, or a copy).") var data: String = "./data"

        func run() async throws {
            let result: AuditVerification
            do {
                result = try AuditVerifier.verify(dataDirectory: DataDirectory(path: data))
            } catch {
                FileHandle.standardError.write(Data("error: \(error)\n".utf8))
                throw ExitCode(2)
            }
            if result.ok {
                print("audit log intact: size \(result.size ?? 0), head \(result.head ?? "")")
            } else {
                print("audit log NOT intact: first bad sequence number \(result.firstBadSeq ?? 0): \(result.reason ?? "")")
                throw ExitCode(1)
            }
        }
    }
}

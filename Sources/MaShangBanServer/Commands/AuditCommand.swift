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
        @Option(name: .customLong("trusted-keys"),
                help: "The keys to believe: a GET /v1/keys answer saved off this machine. Without it the keys in DATA/keys are believed.")
        var trustedKeys: String?
        @Option(help: "A checkpoint saved earlier from GET /v1/audit/checkpoints/latest: the log must extend it (else 'truncated' or 'forked').")
        var checkpoint: String?

        func run() async throws {
            if trustedKeys == nil {
                FileHandle.standardError.write(Data(("warning: without --trusted-keys the keys in the data directory are believed; "
                    + "whoever can change the log can change them too\n").utf8))
            }
            let result: AuditVerification
            do {
                result = try AuditVerifier.verify(dataDirectory: DataDirectory(path: data), trustedKeys: trustedKeys.map(URL.init(fileURLWithPath:)),
                                                  anchor: checkpoint.map(URL.init(fileURLWithPath:)))
            } catch {
                FileHandle.standardError.write(Data("error: \(error)\n".utf8))
                throw ExitCode(2)
            }
            if result.ok {
                print("audit log intact: size \(result.size ?? 0), head \(result.head ?? "")")
            } else {
                let detail = result.detail.map { " (\($0))" } ?? ""
                print("audit log NOT intact: first bad sequence number \(result.firstBadSeq ?? 0): \(result.reason ?? "")\(detail)")
                throw ExitCode(1)
            }
        }
    }
}

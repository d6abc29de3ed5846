import ArgumentParser
import Foundation
import MaShangBan
import MaShangBanDemo

/// `mashangban`: the 码上办 backend and its admin tools.
@main
struct Root: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mashangban",
        abstract: "码上办 backend: e-licence wallet, 一码出示 / 一码获取 codes, delivery to approval systems, audit log.",
        subcommands: [Serve.self, AuditCommand.self, KeysCommand.self, PeersCommand.self, LicencesCommand.self, FaceAuthStubCommand.self,
                      ApprovalStubCommand.self])
}

extension Backend {
    /// The backend of an existing data directory, for the admin tools; exit 2 with a message
    /// when there is none.
    static func openExisting(data path: String) throws -> Backend {
        let directory = DataDirectory(path: path)
        guard directory.exists else {
            FileHandle.standardError.write(Data("error: no database in \(directory.url.path); start `mashangban serve` first\n".utf8))
            throw ExitCode(2)
        }
        return try Backend.open(BackendOptions(dataDirectory: directory))
    }
}

import ArgumentParser

/// `mashangban`: the 码上办 backend and its admin tools.
@main
struct Root: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mashangban",
        abstract: "码上办 backend: e-licence wallet, 一码出示 / 一码获取 codes, delivery to approval systems, audit log.",
        subcommands: [Serve.self, AuditCommand.self, KeysCommand.self, FaceAuthStubCommand.self, ApprovalStubCommand.self, BenchCommand.self])
}

import ArgumentParser
import Foundation
import MaShangBan

/// `mashangban licences assign-issuer --data DIR --to CLIENT (--from CLIENT | --unowned)`.
struct LicencesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "licences", abstract: "Licence library tools.",
                                                    subcommands: [AssignIssuer.self])

    struct AssignIssuer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "assign-issuer",
            abstract: "Give licences written before issuers had codes to an issuer client with an issuer_code.",
            discussion: """
                Licences an issuer client wrote before issuer codes existed stay that client's alone; licences no client \
                wrote (the demo's, a bench's) have no owner. This moves either kind, of the types the target may issue, \
                to the target's issuing authority. Audited as licence.issuer_assigned.
                """)

        @Option(help: "Data directory.") var data: String = "./data"
        @Option(help: "The issuer client (id) to assign to; it must have an issuer_code.") var to: String
        @Option(help: "Move the licences this client (id) wrote last.") var from: String?
        @Flag(help: "Move the licences no client wrote.") var unowned = false

        func validate() throws {
            guard (from != nil) != unowned else { throw ValidationError("give exactly one of --from CLIENT and --unowned") }
        }

        func run() async throws {
            let backend = try Backend.openExisting(data: data)
            do {
                let moved = try await backend.services.library.assignIssuer(to: to, from: from, by: .system)
                print("assigned \(moved) licence(s) to issuer client \(to)")
            } catch let error as MSBError {
                FileHandle.standardError.write(Data("error: \(error.detail)\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}

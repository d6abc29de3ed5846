import ArgumentParser
import Foundation
import MaShangBan

/// `mashangban peers refresh --data DIR`.
struct PeersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "peers", abstract: "跨域通办 peer region tools.", subcommands: [Refresh.self])

    struct Refresh: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read every peer region's GET /v1/keys and keep the keys whose fingerprints are pinned, read its catalogue, "
                + "and witness its audit log. Exit 1 when a peer could not be read or its log forked.")

        @Option(help: "Data directory.") var data: String = "./data"
        @Option(help: "Seconds a peer has to answer.") var timeout: Int = 3

        func run() async throws {
            let backend = try Backend.openExisting(data: data)
            let transport = AsyncHTTPClientTransport(connectTimeout: .seconds(timeout))
            let outcome: Result<[PeerRegistry.Refreshed], any Error>
            do { outcome = .success(try await backend.services.peers.refresh(over: transport, timeout: .seconds(timeout))) } catch {
                outcome = .failure(error)
            }
            try await transport.shutdown()
            let results = try outcome.get()
            for result in results {
                if let error = result.error {
                    print("\(result.region): NOT refreshed: \(error)")
                } else {
                    print("\(result.region): added \(result.added.count), retired \(result.retired.count), refused \(result.refused.count), "
                          + "items \(result.items ?? 0)")
                }
                if let witness = result.witness {
                    print("\(result.region): audit log \(witness.status)" + (witness.size.map { " at size \($0)" } ?? "")
                          + (witness.detail.map { ": \($0)" } ?? ""))
                }
            }
            if results.isEmpty { print("no peers") }
            if results.contains(where: { $0.error != nil || $0.witness?.status == "forked" }) { throw ExitCode(1) }
        }
    }
}

import ArgumentParser
import Foundation
import MaShangBan

/// `mashangban audit verify --data DIR`, `audit prove`, `audit verify-proof`.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "Audit log tools.",
                                                    subcommands: [Verify.self, Prove.self, VerifyProof.self])

    /// Runs an offline step; its `StartupError` (or any other) is printed and exits 2.
    static func offline<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }

    /// A file's bytes, or exit 2 saying which file could not be read.
    static func read(_ path: String) throws -> [UInt8] {
        try offline {
            guard let data = FileManager.default.contents(atPath: path) else { throw StartupError("cannot read \(path)") }
            return [UInt8](data)
        }
    }

    struct Prove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print an RFC 9162 proof from the log's Merkle tree, as GET /v1/audit/proofs/inclusion or /consistency answers.")

        @Option(help: "Data directory (a stopped server's, or a copy).") var data: String = "./data"
        @Option(help: "A record's sequence number: its inclusion proof.") var seq: Int64?
        @Option(help: "A tree size: the consistency proof from it.") var from: Int64?
        @Option(help: "The tree size the proof is at (default: the latest checkpoint's).") var size: Int64?

        func run() async throws {
            let proof = try AuditCommand.offline {
                try OfflineProofs.prove(dataDirectory: DataDirectory(path: data), seq: seq, from: from, size: size)
            }
            print(proof.canonicalString)
        }
    }

    struct VerifyProof: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify-proof",
            abstract: "Check a saved proof against saved checkpoints and trusted keys, offline. Exit 0 when it holds, 1 when not.")

        @Option(help: "The proof: a saved answer of GET /v1/audit/proofs/inclusion or /consistency.") var proof: String
        @Option(help: "The checkpoint it is at: a saved answer of GET /v1/audit/checkpoints/latest.") var checkpoint: String
        @Option(name: .customLong("first-checkpoint"), help: "For a consistency proof, the earlier checkpoint it starts from.")
        var firstCheckpoint: String?
        @Option(name: .customLong("trusted-keys"), help: "The keys to believe: a GET /v1/keys answer saved off the server's machine.")
        var trustedKeys: String
        @Option(name: .customLong("record-hash"), help: "For an inclusion proof, the hash of the record it must be of (hex).")
        var recordHash: String?

        func run() async throws {
            let (proofBytes, checkpointBytes, keys) = (try AuditCommand.read(proof), try AuditCommand.read(checkpoint), try AuditCommand.read(trustedKeys))
            let first = try firstCheckpoint.map(AuditCommand.read)
            do {
                print("proof holds: " + (try OfflineProofs.verify(proof: proofBytes, checkpoint: checkpointBytes, first: first, trustedKeys: keys,
                                                                  recordHash: recordHash)))
            } catch {
                print("proof does NOT hold: \(error)")
                throw ExitCode(1)
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the audit chain and its signed checkpoints. Exit 0 when intact, 1 when not.")

        @Option(help: "Data directory (a stopped server's, or a copy).") var data: String = "./data"
        @Option(name: .customLong("trusted-keys"),
                help: "The keys to believe: a GET /v1/keys answer saved off this machine. Without it the keys in DATA/keys are believed.")
        var trustedKeys: String?
        @Option(help: "A checkpoint saved earlier from GET /v1/audit/checkpoints/latest: the log must extend it (else 'truncated' or 'forked').")
        var checkpoint: String?
        @Option(name: .customLong("witness"),
                help: "A witness region's GET /v1/keys answer, saved off this machine (repeatable): a checkpoint must carry its cosignature.")
        var witnesses: [String] = []

        func run() async throws {
            if trustedKeys == nil {
                FileHandle.standardError.write(Data(("warning: without --trusted-keys the keys in the data directory are believed; "
                    + "whoever can change the log can change them too\n").utf8))
            }
            let result = try AuditCommand.offline {
                try AuditVerifier.verify(dataDirectory: DataDirectory(path: data), trustedKeys: trustedKeys.map(URL.init(fileURLWithPath:)),
                                         anchor: checkpoint.map(URL.init(fileURLWithPath:)))
            }
            if result.ok {
                print("audit log intact: size \(result.size ?? 0), head \(result.head ?? "")")
                guard !witnesses.isEmpty else { return }
                let documents = try witnesses.map(AuditCommand.read)
                let witnessed = try AuditCommand.offline { try AuditVerifier.witnessed(dataDirectory: DataDirectory(path: data), witnesses: documents) }
                guard let witnessed else {
                    print("NOT witnessed: no checkpoint carries a cosignature by a trusted witness")
                    throw ExitCode(1)
                }
                print("witnessed: checkpoint \(witnessed.size) cosigned by region \(witnessed.region) at "
                    + Timestamp.string(Date(timeIntervalSince1970: TimeInterval(witnessed.timestamp))))
            } else {
                let detail = result.detail.map { " (\($0))" } ?? ""
                print("audit log NOT intact: first bad sequence number \(result.firstBadSeq ?? 0): \(result.reason ?? "")\(detail)")
                throw ExitCode(1)
            }
        }
    }
}

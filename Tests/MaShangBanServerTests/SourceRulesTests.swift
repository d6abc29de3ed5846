import Foundation
import Testing
import MaShangBanTestSupport

/// Rules about the source tree itself, checked where a reviewer would otherwise have to.
@Suite("Source rules")
struct SourceRulesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Every Swift file under `Sources/` (or another folder), by path relative to the repository root.
    static func sources(in folder: String = "Sources") throws -> [(path: String, text: String)] {
        let base = root.appendingPathComponent(folder)
        let files = try #require(FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil))
        return try files.compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }.map { url in
            (String(url.path.dropFirst(root.path.count + 1)), try String(contentsOf: url, encoding: .utf8))
        }.sorted { $0.path < $1.path }
    }

    @Test func linesAreAtMost160Characters() throws {
        let sources = try Self.sources()
        #expect(sources.count > 50)
        for (path, text) in sources {
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where line.count > 160 {
                Issue.record("\(path):\(number + 1) is \(line.count) characters long")
            }
        }
    }

    /// Child processes start through `Spawn.ChildProcess` (posix_spawn): Foundation's
    /// `Process.run()` in Swift 6.3.1 can fault while it counts the open descriptors.
    @Test func noFoundationProcess() throws {
        let files = try Self.sources() + Self.sources(in: "Tests")
        #expect(files.contains { $0.path == "Sources/Spawn/ChildProcess.swift" })
        for (path, text) in files {
            #expect(text.firstMatch(of: /\bProcess\(\)|\bPipe\(\)/) == nil, "\(path) starts a Foundation Process")
        }
    }

    /// The repository stands alone: nothing in it points at a folder beside it.
    @Test func nothingRefersOutsideTheRepository() throws {
        var files = try Self.sources().map(\.path)
        files += ["README.md", "THREAT_MODEL.md", "Makefile", ".ci/run", "openapi.yaml"]
        for folder in ["docs", "scripts"] {
            let entries = try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent(folder).path)
            files += entries.filter { $0.hasSuffix(".md") || $0.hasSuffix(".sh") || $0.hasSuffix(".py") }.map { "\(folder)/\($0)" }
        }
        for path in files {
            let text = try String(contentsOf: Self.root.appendingPathComponent(path), encoding: .utf8)
            #expect(!text.contains("../shared"), "\(path) refers to ../shared")
        }
    }

    /// The HTTP edge, the demo and the bench reach storage only through the domain's
    /// services (no GRDB at all); inside the domain library only Storage/ holds the pool,
    /// and services reach the database through `Transactions` and the stores.
    @Test func onlyStorageSeesThePool() throws {
        for (path, text) in try Self.sources() {
            if !path.hasPrefix("Sources/MaShangBan/") {
                #expect(!text.contains("import GRDB"), "\(path) imports GRDB")
            }
            if !path.hasPrefix("Sources/MaShangBan/Storage/") {
                #expect(text.firstMatch(of: /\.pool\b|DatabasePool|DatabaseQueue\(/) == nil,
                        "\(path) reaches for a pool")
            }
        }
    }

    /// Key bytes are read and held in Crypto/ only (key files, DataVault, HolderReference,
    /// the signing keys' PEM handling).
    @Test func keyFilesAreReadInCryptoOnly() throws {
        for (path, text) in try Self.sources() where !path.hasPrefix("Sources/MaShangBan/Crypto/") {
            #expect(!text.contains("symmetricKey("), "\(path) reads a symmetric key file")
            #expect(text.firstMatch(of: /DataVault\(suite:/) == nil, "\(path) makes a DataVault from key bytes")
            #expect(text.firstMatch(of: /HolderReference\(suite:/) == nil, "\(path) makes a HolderReference from key bytes")
            if path.hasPrefix("Sources/MaShangBan/"), !path.hasSuffix("Platform/DataDirectory.swift") {
                #expect(!text.contains("readSecret(") && !text.contains("privateKeyPEM("), "\(path) reads or writes key files")
            }
        }
    }

    /// SQL lives in the stores under `Sources/MaShangBan/Storage/`. The files listed here
    /// still hold statements of their own and are being moved there one aggregate at a time
    /// (issue 22); the list only shrinks.
    static let notYetInStores: Set<String> = []

    @Test func sqlLivesInStores() throws {
        var withSQL = Set<String>()
        for (path, text) in try Self.sources() where text.contains("sql:") && !path.hasPrefix("Sources/MaShangBan/Storage/") {
            withSQL.insert(path)
        }
        #expect(withSQL.subtracting(Self.notYetInStores).isEmpty, "SQL outside the stores: \(withSQL.subtracting(Self.notYetInStores).sorted())")
        #expect(Self.notYetInStores.subtracting(withSQL).isEmpty,
                "no SQL left in \(Self.notYetInStores.subtracting(withSQL).sorted()): take it off notYetInStores")
    }
}

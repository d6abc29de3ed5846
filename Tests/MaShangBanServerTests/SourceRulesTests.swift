import Foundation
import Testing

/// Rules about the source tree itself, checked where a reviewer would otherwise have to.
@Suite("Source rules")
struct SourceRulesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Every Swift file under `Sources/`, by path relative to the repository root.
    static func sources() throws -> [(path: String, text: String)] {
        let base = root.appendingPathComponent("Sources")
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
}

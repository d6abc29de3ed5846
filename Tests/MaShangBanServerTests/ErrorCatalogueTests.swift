import Foundation
@testable import MaShangBan
import Testing
@testable import MaShangBanServer
import MaShangBanTestSupport

@Suite("One problem-code catalogue, documented in docs/errors.md and openapi.yaml")
struct ErrorCatalogueTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The codes openapi.yaml's `Problem.code` enum lists.
    static func documentedCodes(_ yaml: String) throws -> Set<String> {
        let start = try #require(yaml.range(of: "    Problem:\n"))
        let rest = yaml[start.upperBound...]
        let enumStart = try #require(rest.range(of: "enum: ["))
        let enumEnd = try #require(rest[enumStart.upperBound...].firstIndex(of: "]"))
        return Set(rest[enumStart.upperBound..<enumEnd].split(separator: ",").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) })
    }

    @Test func everyCodeIsInOpenAPIAndNothingElse() throws {
        let yaml = String(decoding: try #require(OpenAPIDocument.bytes), as: UTF8.self)
        let documented = try Self.documentedCodes(yaml)
        let catalogue = Set(ProblemCode.allCases.map(\.rawValue))
        #expect(catalogue.count >= 40)
        #expect(catalogue.subtracting(documented).isEmpty, "not in openapi.yaml: \(catalogue.subtracting(documented).sorted())")
        #expect(documented.subtracting(catalogue).isEmpty, "in openapi.yaml only: \(documented.subtracting(catalogue).sorted())")
    }

    /// docs/errors.md is the catalogue rendered; `make docs` writes it again
    /// (`MSB_WRITE_DOCS=1` makes this test write instead of compare).
    @Test func docsErrorsIsTheCatalogue() throws {
        let file = Self.root.appendingPathComponent("docs/errors.md")
        if ProcessInfo.processInfo.environment["MSB_WRITE_DOCS"] == "1" {
            try ProblemCode.markdown.write(to: file, atomically: true, encoding: .utf8)
        }
        let text = try String(contentsOf: file, encoding: .utf8)
        #expect(text == ProblemCode.markdown, "docs/errors.md differs from the catalogue; run `make docs`")
        for code in ProblemCode.allCases {
            #expect(text.contains("| `\(code.rawValue)` | \(code.status) |"))
        }
    }

    @Test func statusesAndTitlesAreWellFormed() {
        let raws = ProblemCode.allCases.map(\.rawValue)
        #expect(Set(raws).count == raws.count)
        for code in ProblemCode.allCases {
            #expect(code.rawValue.wholeMatch(of: /[a-z][a-z0-9_]*/) != nil)
            #expect((400...599).contains(code.status), "\(code.rawValue)")
            #expect(!code.title.isEmpty && !code.entry.meaning.isEmpty)
            #expect(MSBError(code, "x").code == code.rawValue)
        }
        #expect(MSBError.httpLayer(status: 431, detail: "too big").code == "bad_request")
        #expect(MSBError.httpLayer(status: 431, detail: "too big").status == 431)
        #expect(MSBError.httpLayer(status: 502, detail: "x").code == "internal")
    }
}

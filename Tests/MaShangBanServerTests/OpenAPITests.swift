import Foundation
import HummingbirdTesting
@testable import MaShangBan
import Testing
@testable import MaShangBanServer
import MaShangBanTestSupport

@Suite("openapi.yaml in step with the routes")
struct OpenAPITests {
    /// `METHOD /path` pairs documented in openapi.yaml (a line scan: paths at 2 spaces, methods at 4).
    static func documentedOperations(_ yaml: String) -> Set<String> {
        var out = Set<String>()
        var path: String?
        for line in yaml.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") {
                path = String(line.dropFirst(2).dropLast())
            } else if !line.hasPrefix(" "), !line.isEmpty {
                path = nil
            } else if let path, let match = line.wholeMatch(of: #/ {4}(get|post|put|patch|delete):/#) {
                out.insert("\(match.1.uppercased()) \(path)")
            }
        }
        return out
    }

    @Test func everyRouteIsDocumentedAndNothingElse() async throws {
        let server = try TestServer()
        let router = buildRouter(server.configuration, backend: server.backend)
        let routes = Set(router.routes.map { route in
            "\(route.method.rawValue) \(route.path.description.replacing(/\/:(\w+)/) { "/{\($0.1)}" })"
        })
        let yaml = String(decoding: try #require(OpenAPIDocument.bytes), as: UTF8.self)
        let documented = Self.documentedOperations(yaml)
        #expect(routes.count >= 10)
        #expect(routes.subtracting(documented).isEmpty, "undocumented: \(routes.subtracting(documented).sorted())")
        #expect(documented.subtracting(routes).isEmpty, "documented but not routed: \(documented.subtracting(routes).sorted())")
    }

    @Test func servedAtOpenapiYaml() async throws {
        let server = try TestServer()
        try await server.test { client in
            let response = try await client.call(.get, "/openapi.yaml", token: nil)
            #expect(response.status == .ok)
            #expect(response.text.hasPrefix("openapi: 3.1"))
            #expect(response.headers[.contentType]?.hasPrefix("application/yaml") == true)
        }
    }
}

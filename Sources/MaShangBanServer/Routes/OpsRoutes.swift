import Foundation
import Hummingbird
import MaShangBan
import NIOCore
import Prometheus

/// `/healthz`, `/readyz`, `/metrics`, `/openapi.yaml` (public).
struct OpsRoutes {
    let health: StorageHealth
    let calendars: WorkingCalendars
    let registry: PrometheusCollectorRegistry

    func register(on router: Router<AppRequestContext>) {
        router.get("healthz") { _, _ in JSONResponse.make(StatusBody(status: "ok")) }
        router.get("readyz") { _, _ in
            guard await health.isReady() else { throw MSBError.storageUnavailable() }
            return JSONResponse.make(ReadyBody(warnings: (try? await calendars.warnings()) ?? []))
        }
        router.get("metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        router.get("openapi.yaml") { _, _ in
            guard let document = OpenAPIDocument.bytes else { throw MSBError.notFound("the OpenAPI document is not installed") }
            return Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: document)))
        }
    }
}

/// `openapi.yaml`, shipped as a resource of this executable.
enum OpenAPIDocument {
    static let bytes: [UInt8]? = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
              let data = FileManager.default.contents(atPath: url.path) else { return nil }
        return [UInt8](data)
    }()
}

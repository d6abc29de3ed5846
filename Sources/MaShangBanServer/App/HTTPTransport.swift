import AsyncHTTPClient
import Foundation
import MaShangBan
import NIOCore
import NIOHTTP1

/// The delivery worker's transport over AsyncHTTPClient: one shared client, no redirects
/// (a webhook URL is registered, not discovered). Also what `peers refresh` reads peers' keys
/// with.
public final class AsyncHTTPClientTransport: WebhookTransport, PeerTransport {
    private let client: HTTPClient

    public init(connectTimeout: Duration) {
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: Self.configuration(connectTimeout: connectTimeout))
    }

    private init(client: HTTPClient) { self.client = client }

    static func configuration(connectTimeout: Duration) -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout.connect = .nanoseconds(connectTimeout.components.seconds * 1_000_000_000
            + connectTimeout.components.attoseconds / 1_000_000_000)
        return configuration
    }

    /// The calls to peer regions on the request path (a foreign code's redemption, a forwarded
    /// submission's state): one client for the life of the process, never shut down (each
    /// call is bounded by `--peer-timeout`).
    static let peers = AsyncHTTPClientTransport(client: peerClient)

    public func post(url: String, headers: [(String, String)], body: [UInt8], connectTimeout: Duration, timeout: Duration)
        async throws -> Int
    {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let nanoseconds = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        let response = try await client.execute(request, timeout: .nanoseconds(nanoseconds))
        _ = try await response.body.collect(upTo: 64 * 1024)  // read (and drop) the answer so the connection is reused
        return Int(response.status.code)
    }

    /// A GET whose answer is at most 1 MiB.
    public func get(url: String, headers: [(String, String)], timeout: Duration) async throws -> (status: Int, body: [UInt8]) {
        try await exchange(.GET, url: url, headers: headers, body: nil, timeout: timeout)
    }

    /// A POST to a peer region whose answer is at most 1 MiB.
    public func post(url: String, headers: [(String, String)], body: [UInt8], timeout: Duration) async throws -> (status: Int, body: [UInt8]) {
        try await exchange(.POST, url: url, headers: headers, body: body, timeout: timeout)
    }

    private func exchange(_ method: HTTPMethod, url: String, headers: [(String, String)], body: [UInt8]?, timeout: Duration)
        async throws -> (status: Int, body: [UInt8])
    {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let nanoseconds = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        let response = try await client.execute(request, timeout: .nanoseconds(nanoseconds))
        let body = try await response.body.collect(upTo: 1024 * 1024)
        return (Int(response.status.code), Array(body.readableBytesView))
    }

    public func shutdown() async throws { try await client.shutdown() }
}

/// The process's client for peer regions (`AsyncHTTPClientTransport.peers`): a global, so it
/// lives as long as the process and is never deinitialised unshut.
private let peerClient = HTTPClient(eventLoopGroupProvider: .singleton,
                                    configuration: AsyncHTTPClientTransport.configuration(connectTimeout: .seconds(2)))

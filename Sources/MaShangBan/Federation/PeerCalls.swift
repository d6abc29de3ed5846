import Foundation

/// This region's signed requests to its peers (跨域通办): each carries the RFC 9421 signature
/// `RegionRequests` makes, and gets its answer within the peer timeout (`--peer-timeout`).
struct PeerCalls: Sendable {
    let regionRequests: RegionRequests
    let transport: any PeerTransport
    let timeout: Duration

    /// A peer's answer: its status, its body, and the problem `code` when it sent one.
    struct Answer: Sendable {
        let status: Int
        let body: [UInt8]
        var json: JSONValue? { JSONValue.parse(body) }
        var problemCode: String? { json?["code"]?.stringValue }
        var problemDetail: String? { json?["detail"]?.stringValue }
        var succeeded: Bool { (200..<300).contains(status) }
    }

    /// Sends `body` (POST) or nothing (GET, `body` nil) to `path` at the peer's `base_url`;
    /// throws 503 `peer_unavailable` when no answer came in time.
    func call(_ peer: Peer, path: String, body: JSONValue?, idempotencyKey: String? = nil) async throws -> Answer {
        try await call(region: peer.region, baseURL: peer.baseURL, path: path, body: body?.canonicalBytes, idempotencyKey: idempotencyKey)
    }

    func call(region: String, baseURL: String, path: String, body: [UInt8]?, idempotencyKey: String? = nil) async throws -> Answer {
        guard let components = URLComponents(string: baseURL + path), let host = components.host else {
            throw MSBError.peerUnavailable(region, "has a base_url without a host")
        }
        let authority = components.port.map { "\(host):\($0)" } ?? host
        var headers = try regionRequests.sign(method: body == nil ? "GET" : "POST", authority: authority, path: components.path,
                                              query: components.query, body: body ?? [])
        if body != nil { headers.append(("Content-Type", "application/json")) }
        if let idempotencyKey { headers.append(("Idempotency-Key", idempotencyKey)) }
        do {
            let (status, answer) = if let body {
                try await transport.post(url: baseURL + path, headers: headers, body: body, timeout: timeout)
            } else {
                try await transport.get(url: baseURL + path, headers: headers, timeout: timeout)
            }
            return Answer(status: status, body: answer)
        } catch {
            throw MSBError.peerUnavailable(region, "gave no answer in time")
        }
    }
}

extension MSBError {
    static func peerUnavailable(_ region: String, _ why: String) -> MSBError {
        MSBError(.peerUnavailable, "peer region \(region) \(why); nothing was consumed here, try again")
    }
}

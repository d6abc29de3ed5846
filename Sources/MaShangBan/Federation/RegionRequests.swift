import Foundation

/// Region-to-region requests (跨域通办), authenticated both ways without a shared secret:
/// each is signed with the sending region's key as an RFC 9421 message signature over
/// `@method`, `@authority`, `@path`, `@query` and the body's `Content-Digest` (RFC 9530),
/// with parameters `created`, `nonce`, `keyid` (the key's `kid`) and
/// `tag="mashangban-federation"`. The receiver takes it only from an `active` key it holds
/// for a peer (pinned, see `PeerRegistry`), signed within 5 minutes of its own clock, with a
/// nonce it has not seen in that time. `@authority` binds the request to the region it was
/// sent to: replayed to another, it does not verify.
///
/// Nonces are remembered in memory for the window; a restart forgets them (a request
/// captured just before a restart could be replayed once within the 5 minutes; the
/// federation's writes are idempotent by their keys besides).
public struct RegionRequests: Sendable {
    let transactions: Transactions
    let signing: SigningKey
    let now: Now
    let random: any RandomSource
    private let seen = Seen()

    public static let window: TimeInterval = 300
    public static let tag = "mashangban-federation"
    static let label = "msb"
    static let components = ["@method", "@authority", "@path", "@query", "content-digest"]

    init(transactions: Transactions, signing: SigningKey, now: @escaping Now, random: any RandomSource) {
        (self.transactions, self.signing, self.now, self.random) = (transactions, signing, now, random)
    }

    /// Nonces seen within the window, by key and nonce, with when they expire.
    final class Seen: Sendable {
        let nonces = Locked<[String: Date]>([:])

        /// Records a nonce; false if it was seen (and has not expired).
        func first(_ key: String, at instant: Date) -> Bool {
            nonces.withLock { nonces in
                if nonces.count > 10_000 { nonces = nonces.filter { $0.value > instant } }
                if let expiry = nonces[key], expiry > instant { return false }
                nonces[key] = instant.addingTimeInterval(RegionRequests.window)
                return true
            }
        }
    }

    /// The header fields that sign a request from this region: `Content-Digest`,
    /// `Signature-Input` and `Signature`.
    public func sign(method: String, authority: String, path: String, query: String?, body: [UInt8]) throws -> [(String, String)] {
        let digest = MessageSignatures.contentDigest(body)
        let request = MessageSignatures.Request(method: method, authority: authority, path: path, query: query,
                                                fields: ["content-digest": digest])
        let parameters = MessageSignatures.Parameters(components: Self.components, parameters: [
            ("created", .integer(Int64(now().timeIntervalSince1970))), ("nonce", .string(Encoding.base64URL(random.bytes(16)))),
            ("keyid", .string(signing.kid)), ("tag", .string(Self.tag)),
        ])
        let (input, signature) = try MessageSignatures.sign(request, parameters, label: Self.label, with: signing.signer)
        return [("Content-Digest", digest), ("Signature-Input", input), ("Signature", signature)]
    }

    /// Checks a request a peer signed; its region. 401 `region_signature_invalid` for a
    /// missing, malformed or wrong signature, a key no peer of ours holds active, or a body
    /// its digest does not match; 401 `region_request_replayed` outside the window or for a
    /// nonce seen before.
    public func verify(method: String, authority: String, path: String, query: String?, fields: [String: String], body: [UInt8])
        async throws -> String
    {
        let fields = Dictionary(fields.map { ($0.key.lowercased(), $0.value) }) { first, _ in first }
        let invalid = { (detail: String) in MSBError(.regionSignatureInvalid, detail) }
        guard let input = fields["signature-input"], let signature = fields["signature"], let digest = fields["content-digest"] else {
            throw invalid("Signature-Input, Signature and Content-Digest are required")
        }
        guard digest == MessageSignatures.contentDigest(body) || digest == MessageSignatures.contentDigest(body, sha512: true) else {
            throw invalid("Content-Digest does not match the body")
        }
        let received: MessageSignatures.Received
        do { received = try MessageSignatures.received(input: input, signature: signature) } catch { throw invalid("\(error)") }
        let parameters = received.parameters
        guard Set(Self.components).isSubset(of: parameters.components), parameters["tag"] == .string(Self.tag),
              case .integer(let created)? = parameters["created"], case .string(let nonce)? = parameters["nonce"], !nonce.isEmpty,
              case .string(let kid)? = parameters["keyid"]
        else { throw invalid("the signature must cover \(Self.components.joined(separator: " ")) with created, nonce, keyid and tag") }
        guard let (region, key) = try await transactions.read({ db in try PeerStore.activeKey(kid: kid, db) }),
              let verifier = try? SignatureKeys.loadVerifier(publicKeyPEM: key.publicKeyPEM)
        else { throw invalid("keyid \(kid.prefix(32)) is no active pinned key of a peer region") }
        let request = MessageSignatures.Request(method: method, authority: authority, path: path, query: query, fields: fields)
        guard (try? MessageSignatures.verify(received, of: request, with: verifier)) == true else {
            throw invalid("the signature does not verify (signed for another address, or changed on the way)")
        }
        let instant = now()
        guard abs(instant.timeIntervalSince1970 - Double(created)) <= Self.window else {
            throw MSBError(.regionRequestReplayed, "the request was signed more than 5 minutes from now")
        }
        guard seen.first("\(kid) \(nonce)", at: instant) else { throw MSBError(.regionRequestReplayed, "the request's nonce was seen before") }
        return region
    }
}

import Foundation

/// Decoded JSON definitions (items, licence types), kept by their stored text: a hot query
/// still reads the text, but decodes it only the first time it sees it. Keyed by the text
/// itself, so an edited definition can never be served stale and nothing needs invalidating.
final class DefinitionCache<Value: Decodable & Sendable>: Sendable {
    /// Keyed by the text's UTF-8 bytes: hashing a `String` normalises it first, which for a
    /// definition with Chinese names cost more than the query that read it.
    private let decoded = Locked<[[UInt8]: Value]>([:])
    /// Definitions are few; past this many distinct texts the cache starts over.
    static var capacity: Int { 1024 }

    func decode(_ json: String) throws -> Value {
        try decode(Array(json.utf8))
    }

    func decode(_ json: [UInt8]) throws -> Value {
        if let value = decoded.withLock({ $0[json] }) { return value }
        let value = try JSONDecoder().decode(Value.self, from: Data(json))
        decoded.withLock { cache in
            if cache.count >= Self.capacity { cache.removeAll() }
            cache[json] = value
        }
        return value
    }
}

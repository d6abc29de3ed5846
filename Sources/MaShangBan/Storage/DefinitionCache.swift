import Foundation

/// Decoded JSON definitions (items, licence types), kept by their stored text: a hot query
/// still reads the text, but decodes it only the first time it sees it. Keyed by the text
/// itself, so an edited definition can never be served stale and nothing needs invalidating.
final class DefinitionCache<Value: Decodable & Sendable>: Sendable {
    private let decoded = Locked<[String: Value]>([:])
    /// Definitions are few; past this many distinct texts the cache starts over.
    static var capacity: Int { 1024 }

    func decode(_ json: String) throws -> Value {
        if let value = decoded.withLock({ $0[json] }) { return value }
        let value = try JSONDecoder().decode(Value.self, from: Data(json.utf8))
        decoded.withLock { cache in
            if cache.count >= Self.capacity { cache.removeAll() }
            cache[json] = value
        }
        return value
    }
}

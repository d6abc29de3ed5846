import Foundation
import GRDB
@testable import MaShangBan
import Testing

/// The hot paths' in-memory caches (issue 7) never answer from stale data.
@Suite struct CacheTests {
    static func client(_ id: String) throws -> Client {
        let queue = try DatabaseQueue()
        return try queue.read { db in
            try Client(row: #require(try Row.fetchOne(db, sql: """
                SELECT ? AS id, 'terminal' AS role, 'w' AS name, 'HY' AS hall, NULL AS window, '2026-01-01T00:00:00Z' AS created_at
                """, arguments: [id])))
        }
    }

    @Test func aTokenLookupThatRacedADeletionCannotStoreItsAnswer() throws {
        let cache = ClientRegistry.TokenCache()
        let hash = Data([1, 2, 3])
        let (missed, generation) = cache.lookup(hash)
        #expect(missed == nil)
        // The database was read (client live), then the client was deleted and the cache emptied.
        cache.invalidate()
        cache.store(try Self.client("cli_a"), for: hash, readAt: generation)
        #expect(cache.lookup(hash).0 == nil)
        // A lookup after the deletion stores and is served.
        let (_, now) = cache.lookup(hash)
        cache.store(try Self.client("cli_b"), for: hash, readAt: now)
        #expect(cache.lookup(hash).0?.id == "cli_b")
        cache.invalidate()
        #expect(cache.lookup(hash).0 == nil)
    }

    /// The box reader reads what `seal` writes (canonical JSON, any text) and refuses any
    /// other shape as a malformed box.
    @Test func aDataBoxReadsWhatIsSealedAndNothingElse() throws {
        let fields = ["name": "王\"一\u{1}\\/", "address": "湖南省衡阳市 \n 𝄞", "empty": ""]
        let written = JSONValue.object(["number": "N-1", "holder": "430405198501011235",
                                        "fields": .object(fields.mapValues { .string($0) })]).canonicalBytes
        let box = try #require(LicenceLibrary.DataBox(json: written))
        #expect(box.number == "N-1")
        #expect(box.holder == "430405198501011235")
        #expect(box.fields == fields)
        for odd in [#"{"number":"N","holder":"H","fields":{"n":1}}"#, #"{"number":1,"holder":"H","fields":{}}"#,
                    #"{"number":"N","fields":{}}"#, #"["N","H",{}]"#, #"{"number":"N","holder":"H","fields":{"n":null}}"#, "", "{"] {
            #expect(LicenceLibrary.DataBox(json: Array(odd.utf8)) == nil, "\(odd)")
        }
    }

    /// What `seal` writes takes the fast reader, which reads it as JSONSerialization does;
    /// JSON text in another form is still read, by JSONSerialization.
    @Test func theCanonicalReaderReadsWhatSealWritesAsTheGeneralParserDoes() throws {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [Character] = ["a", "Z", "0", " ", "\"", "\\", "/", "王", "é", "𝄞", "\u{7f}", "\u{2028}"]
            + (0..<0x20).map { Character(UnicodeScalar(UInt8($0))) }
        for _ in 0..<300 {
            func text() -> String { String((0..<Int.random(in: 0...12, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }) }
            var fields: [String: String] = [:]
            for _ in 0..<Int.random(in: 0...5, using: &generator) { fields[text()] = text() }
            let written = JSONValue.object(["number": .string(text()), "holder": .string(text()),
                                            "fields": .object(fields.mapValues { .string($0) })]).canonicalBytes
            let fast = try #require(LicenceLibrary.DataBox.canonical(written), "\(String(decoding: written, as: UTF8.self))")
            let general = try #require(try JSONSerialization.jsonObject(with: Data(written)) as? [String: Any])
            #expect(fast.number == general["number"] as? String)
            #expect(fast.holder == general["holder"] as? String)
            #expect(fast.fields == general["fields"] as? [String: String])
        }
        let spaced = Array(#"{ "number": "N\u00e9", "holder": "H", "fields": {"a": "b"} }"#.utf8)
        #expect(LicenceLibrary.DataBox.canonical(spaced) == nil)
        let box = try #require(LicenceLibrary.DataBox(json: spaced))
        #expect(box.number == "Né" && box.fields == ["a": "b"])
        for refused in [#"{"number":"N","holder":"H","fields":{"a":"b","a":"c"}}"#, #"{"number":"N","number":"M","holder":"H","fields":{}}"#,
                        #"{"number":"N\x","holder":"H","fields":{}}"#, #"{"number":"N","holder":"H","fields":{}}x"#,
                        #"{"number":"N","holder":"H","fields":{},"more":"m"}"#, #"{"number":"N\u+07f","holder":"H","fields":{}}"#] {
            #expect(LicenceLibrary.DataBox.canonical(Array(refused.utf8)) == nil, "\(refused)")
        }
        #expect(LicenceLibrary.DataBox.canonical(Array(#"{"number":"N","holder":"H","fields":{}}"#.utf8)) != nil)
        #expect(LicenceLibrary.DataBox.canonical([0x7B, 0x22, 0xFF, 0x22]) == nil, "invalid UTF-8")
    }

    @Test func anEditedDefinitionIsDecodedAfresh() throws {
        struct Definition: Decodable, Sendable, Equatable { let name: String }
        let cache = DefinitionCache<Definition>()
        #expect(try cache.decode(#"{"name":"a"}"#) == Definition(name: "a"))
        #expect(try cache.decode(#"{"name":"b"}"#) == Definition(name: "b"))
        #expect(try cache.decode(#"{"name":"a"}"#) == Definition(name: "a"))
        #expect(throws: DecodingError.self) { try cache.decode(#"{"nom":"a"}"#) }
    }
}

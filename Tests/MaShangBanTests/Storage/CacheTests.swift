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

    /// A scan opens its licences' data boxes before the writer's transaction; a licence
    /// updated in between must be read as it now is, not as it was opened.
    @Test func aLicenceBoxOpenedBeforeAnUpdateIsNotUsedAfterIt() async throws {
        let dir = try TemporaryDirectory()
        let backend = try openBackend(dir)
        func card(_ name: String) throws -> LicenceSubmission {
            try JSONDecoder().decode(LicenceSubmission.self, from: Data(#"""
                {"type":"social_security_card","number":"622200000000000000001","holder":{"kind":"person","id":"430405198501011235"},
                 "fields":{"name":"\#(name)","id_number":"430405198501011235","card_number":"622200000000000000001"},
                 "valid_from":"2020-01-01","issuer":"衡阳市人社局"}
                """#.utf8))
        }
        let id = try await backend.library.importLicence(try card("王一"), by: .system).id
        let (library, pool) = (backend.library, backend.pool)
        /// The licence decoded with `opened` to hand, and a stand-in opened copy of its current box.
        func decode(opened: [LicenceLibrary.OpenedData]) async throws -> (Licence, LicenceLibrary.OpenedData) {
            try await pool.read { db in
                guard let row = try Row.fetchOne(db, sql: "SELECT * FROM licences WHERE id = ?", arguments: [id]) else { throw CryptoError("no licence") }
                let current = try library.open(row)
                let standIn = LicenceLibrary.OpenedData(box: current.box, type: current.type, numberKey: current.numberKey,
                                                        data: .init(number: current.data.number, holder: current.data.holder, fields: ["name": "opened earlier"]))
                return (try library.decode(row, db, opened: opened), standIn)
            }
        }
        let (fresh, standIn) = try await decode(opened: [])
        #expect(fresh.fields["name"] == "王一")
        // While the box is unchanged, the copy opened earlier is used (hence the stand-in's name).
        #expect(try await decode(opened: [standIn]).0.fields["name"] == "opened earlier")
        _ = try await library.importLicence(try card("王二"), by: .system)  // the same type and number: an update
        #expect(try await decode(opened: [standIn]).0.fields["name"] == "王二")
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

    @Test func anEditedDefinitionIsDecodedAfresh() throws {
        struct Definition: Decodable, Sendable, Equatable { let name: String }
        let cache = DefinitionCache<Definition>()
        #expect(try cache.decode(#"{"name":"a"}"#) == Definition(name: "a"))
        #expect(try cache.decode(#"{"name":"b"}"#) == Definition(name: "b"))
        #expect(try cache.decode(#"{"name":"a"}"#) == Definition(name: "a"))
        #expect(throws: DecodingError.self) { try cache.decode(#"{"nom":"a"}"#) }
    }
}

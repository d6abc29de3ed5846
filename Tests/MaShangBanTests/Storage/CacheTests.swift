import Foundation
import GRDB
@testable import MaShangBan
import Testing
import MaShangBanTestSupport

/// The hot paths' in-memory caches (issue 7) never answer from stale data.
@Suite struct CacheTests {
    static func client(_ id: String) throws -> Client {
        Client(id: id, role: .terminal, name: "w", hall: "HY", window: nil, issuerCode: nil, licenceTypes: nil,
               createdAt: Timestamp(stored: "2026-01-01T00:00:00Z"))
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
        // Strings must be valid UTF-8, escaped or not: a lone continuation byte, an overlong
        // form, a surrogate, and a truncated sequence as long as the character that repairs it.
        let withNumber = { (number: [UInt8]) -> [UInt8] in
            Array(#"{"number":""#.utf8) + number + Array(#"","holder":"H","fields":{}}"#.utf8)
        }
        for invalid: [UInt8] in [[0x80], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF0, 0x9F, 0x98], [0x5C, 0x6E, 0xF0, 0x9F, 0x98]] {
            #expect(LicenceLibrary.DataBox.canonical(withNumber(invalid)) == nil, "\(invalid)")
        }
        #expect(LicenceLibrary.DataBox.canonical(withNumber(Array("王😀\\n".utf8)))?.number == "王😀\n")
    }

    @Test func anEditedDefinitionIsDecodedAfresh() throws {
        struct Definition: Decodable, Sendable, Equatable { let name: String }
        let cache = DefinitionCache<Definition>()
        #expect(try cache.decode(#"{"name":"a"}"#) == Definition(name: "a"))
        #expect(try cache.decode(#"{"name":"b"}"#) == Definition(name: "b"))
        #expect(try cache.decode(#"{"name":"a"}"#) == Definition(name: "a"))
        #expect(throws: DecodingError.self) { try cache.decode(#"{"nom":"a"}"#) }
    }

    /// A token's claims as `signed` writes them take the fast reader and read as JSONDecoder
    /// reads them; any other form is left to JSONDecoder.
    @Test func tokenClaimsAsSignedReadAsTheDecoderReadsThem() throws {
        let instant = Date(timeIntervalSince1970: 1_800_000_000)
        for (kind, hall) in [(QRToken.Kind.present, "HY-01" as String?), (.window, nil), (.present, "大厅\"1\"")] {
            let token = QRToken.make(kind: kind, region: "430400", hall: hall, issuedAt: instant,
                                     expiresAt: instant.addingTimeInterval(120), jti: "j-\(kind.rawValue)")
            var claims: [String: JSONValue] = ["iss": .string(token.iss), "typ": .string(kind.rawValue), "jti": .string(token.jti),
                                               "iat": .int(token.iat), "exp": .int(token.exp)]
            if let hall { claims["aud"] = .string(hall) }
            let written = JSONValue.object(claims).canonicalBytes
            #expect(QRToken.canonicalClaims(written) == token)
            #expect(try JSONDecoder().decode(QRToken.self, from: Data(written)) == token)
        }
        let negative = Array(#"{"exp":-5,"iat":0,"iss":"430400","jti":"j","typ":"present"}"#.utf8)
        #expect(QRToken.canonicalClaims(negative)?.exp == -5)
        for other in [#"{"exp":1, "iat":0,"iss":"430400","jti":"j","typ":"present"}"#,   // white space
                      #"{"exp":1.5,"iat":0,"iss":"430400","jti":"j","typ":"present"}"#,  // a fraction
                      #"{"exp":1e3,"iat":0,"iss":"430400","jti":"j","typ":"present"}"#,
                      #"{"exp":01,"iat":0,"iss":"430400","jti":"j","typ":"present"}"#,
                      #"{"exp":99999999999999999999,"iat":0,"iss":"430400","jti":"j","typ":"present"}"#,
                      #"{"aud":null,"exp":1,"iat":0,"iss":"430400","jti":"j","typ":"present"}"#,
                      #"{"exp":1,"iat":0,"iss":"430400","jti":"j","typ":"other"}"#,
                      #"{"exp":1,"iat":0,"iss":"430400","jti":"j","jti":"k","typ":"present"}"#,
                      #"{"exp":1,"iat":0,"iss":"430400","jti":"j","typ":"present","x":"y"}"#,
                      #"{"exp":1,"iat":0,"iss":"430400","typ":"present"}"#, #"{"exp":1}x"#, "", "{"] {
            #expect(QRToken.canonicalClaims(Array(other.utf8)) == nil, "\(other)")
        }
    }

    /// The column reader reads SELECT rows by index, refuses a NULL or a mismatch where a
    /// value is required, and refuses statements that write.
    @Test func theColumnReaderReadsByIndexAndRefusesWhatItCannotRead() throws {
        let queue = try DatabaseQueue()
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE t (a TEXT NOT NULL, b TEXT, c INTEGER, d BLOB); INSERT INTO t VALUES ('x', NULL, 7, x'0102'), ('y', 'z', 8, NULL)")
            let select = try db.cachedStatement(sql: "SELECT a, b, c, d FROM t WHERE c >= ? ORDER BY c")
            let rows = try select.allRows([7]) { row -> (String, String?, Int64, [UInt8]) in
                (try row.value(0), try row.value(1), try row.value(2), row.withBytes(3) { Array($0) })
            }
            #expect(rows.map(\.0) == ["x", "y"] && rows.map(\.1) == [nil, "z"] && rows.map(\.2) == [7, 8])
            #expect(rows.map(\.3) == [[1, 2], []])
            #expect(try select.firstRow([8]) { try $0.value(0) as String } == "y")
            #expect(try select.firstRow([9]) { try $0.value(0) as String } == nil)
            #expect(throws: DatabaseError.self) { try select.firstRow([7]) { try $0.value(1) as String } }
            // The statement was reset after the error and reads again.
            #expect(try select.firstRow([7]) { try $0.value(0) as String } == "x")
            let update = try db.cachedStatement(sql: "UPDATE t SET c = c + 1 RETURNING a")
            #expect(throws: DatabaseError.self) { try update.firstRow([]) { try $0.value(0) as String } }
            #expect(try Int64.fetchAll(db, sql: "SELECT c FROM t ORDER BY c") == [7, 8])
        }
    }

    /// Reads whose values are bound one by one (`firstRow(binding:)`, `allRows(binding:)`)
    /// find what GRDB's arguments find, run again with new values after an error or a read
    /// left mid-rows, and refuse a wrong count of values.
    @Test func readsBoundOneByOneFindWhatArgumentsFind() throws {
        let queue = try DatabaseQueue()
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE t (a TEXT NOT NULL, c INTEGER); INSERT INTO t VALUES ('x', 7), ('y', 8), ('', 9)")
            let select = try db.cachedStatement(sql: "SELECT a FROM t WHERE c >= ? AND a <> ? ORDER BY c")
            let all = try select.allRows(binding: { $0.bind(Int64(7)); $0.bind("none") }) { try $0.value(0) as String }
            #expect(all == ["x", "y", ""])
            #expect(all == (try select.allRows([7, "none"]) { try $0.value(0) as String }))
            #expect(try select.firstRow(binding: { $0.bind(Int64(8)); $0.bind("") }) { try $0.value(0) as String } == "y")
            #expect(try select.firstRow(binding: { $0.bind(Int64(10)); $0.bind("") }) { try $0.value(0) as String } == nil)
            #expect(throws: DatabaseError.self) { try select.firstRow(binding: { $0.bind(Int64(7)) }) { try $0.value(0) as String } }
            #expect(throws: DatabaseError.self) {
                try select.firstRow(binding: { $0.bind(Int64(7)); $0.bind("x"); $0.bind("extra") }) { try $0.value(0) as String }
            }
            #expect(try select.firstRow(binding: { $0.bind(Int64(9)); $0.bind("x") }) { try $0.value(0) as String } == "")
            let none = try db.cachedStatement(sql: "SELECT count(*) FROM t")
            #expect(try none.firstRow(binding: { _ in }) { try $0.value(0) as Int64 } == 3)
        }
    }

    /// Values bound one by one are stored as GRDB would bind them: empty text and an empty
    /// blob are not NULL, a nil optional is; a wrong count of values is refused and changes
    /// nothing; a statement bound so runs again with new values, and after GRDB's own arguments.
    @Test func boundValuesAreStoredAsGRDBWouldBindThem() throws {
        let queue = try DatabaseQueue()
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE t (n INTEGER NOT NULL, a TEXT, b BLOB, c TEXT)")
            let insert = "INSERT INTO t (n, a, b, c) VALUES (?, ?, ?, ?)"
            try db.cachedStatement(sql: insert).execute { values in
                values.bind(Int64(1))
                values.bind("")
                values.bind(Data())
                values.bind(nil as String?)
            }
            try db.cachedStatement(sql: insert).execute { values in
                values.bind(Int64(2))
                values.bind("湖南 x")
                values.bind([UInt8]([0, 1, 2]))
                values.bind("c" as String?)
            }
            try db.cachedStatement(sql: insert).execute(arguments: [3, "g", Data([9]), nil])
            try db.cachedStatement(sql: insert).execute { values in
                values.bind(Int64(4))
                values.bind("again")
                values.bind(Data([4]))
                values.bind(nil as String?)
            }
            #expect(throws: DatabaseError.self) {
                try db.cachedStatement(sql: insert).execute { values in
                    values.bind(Int64(5))
                    values.bind("short")
                }
            }
            let rows = try Row.fetchAll(db, sql: "SELECT n, a, typeof(a), b, typeof(b), c FROM t ORDER BY n")
            #expect(rows.map { $0[0] as Int64 } == [1, 2, 3, 4])
            #expect(rows.map { $0[1] as String? } == ["", "湖南 x", "g", "again"])
            #expect(rows.map { $0[2] as String } == ["text", "text", "text", "text"])
            #expect(rows.map { $0[3] as Data? } == [Data(), Data([0, 1, 2]), Data([9]), Data([4])])
            #expect(rows.map { $0[4] as String } == ["blob", "blob", "blob", "blob"])
            #expect(rows.map { $0[5] as String? } == [nil, "c", nil, nil])
        }
    }
}

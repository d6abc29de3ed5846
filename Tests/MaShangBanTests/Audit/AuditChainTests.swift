import Foundation
import GRDB
import Testing
@testable import MaShangBan
import MaShangBanTestSupport

@Suite("Audit chain: hashing, checkpoints and tamper detection")
struct AuditChainTests {
    /// A data directory with `count` audit records (the admin bootstrap is record 1) and a
    /// checkpoint at every 100 plus one at the head; then the server is "stopped".
    func populated(_ dir: TemporaryDirectory, count: Int64 = 150, crypto: CryptoProfile = .intl) throws {
        let backend = try openBackend(dir, crypto: crypto)
        let audit = backend.audit
        _ = try backend.transactions.pool.write { db in
            for i in 2...count {
                try audit.append(db, actor: .client("cli_x"), action: "client.created", object: "client:cli_\(i)",
                                 detail: ["role": "terminal", "n": .int(i)])
            }
            try audit.checkpointIfNeeded(db)
        }
        _ = try backend.transactions.pool.writeWithoutTransaction { try $0.checkpoint(.truncate) }
        try backend.transactions.pool.close()
    }

    /// Copies the data directory and tampers with the copy's database through raw SQL, as
    /// someone with file access (but not the signing key) would.
    func tamperedCopy(of dir: TemporaryDirectory, _ sql: (Database) throws -> Void) throws -> TemporaryDirectory {
        let copy = try TemporaryDirectory()
        try FileManager.default.removeItem(at: copy.url)
        try FileManager.default.copyItem(at: dir.url, to: copy.url)
        let queue = try DatabaseQueue(path: copy.dataDirectory.database.path)
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA foreign_keys = OFF; DROP TRIGGER audit_records_no_update; DROP TRIGGER audit_records_no_delete;")
            try sql(db)
        }
        try queue.close()
        return copy
    }

    @Test(arguments: CryptoProfile.allCases)
    func intactChainVerifies(crypto: CryptoProfile) throws {
        let dir = try TemporaryDirectory()
        try populated(dir, crypto: crypto)
        let result = try AuditVerifier.verify(dataDirectory: dir.dataDirectory)
        #expect(result.ok)
        #expect(result.size == 150)
        let lines = try String(contentsOf: dir.dataDirectory.checkpointFile, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2, "checkpoints at 100 and at the head (150)")
    }

    @Test func recordHashFollowsTheContract() throws {
        let dir = try TemporaryDirectory()
        let backend = try openBackend(dir)
        let first = try backend.transactions.pool.read { db in try AuditStore.records(after: 0, limit: 1, db) }.first
        let record = try #require(first)
        #expect(record.prev == String(repeating: "0", count: 64))
        let canonical = #"{"action":"client.created","actor":"system","detail":{"role":"admin"},"object":"\#(record.object)","prev":"\#(record.prev)","seq":1,"ts":"\#(record.ts)"}"#
        #expect(String(decoding: record.canonicalWithoutHash, as: UTF8.self) == canonical)
        #expect(record.hash == Encoding.hex(SHA256Hashing().hash([UInt8](repeating: 0, count: 32) + Array(canonical.utf8))))
    }

    @Test func detectsAnEditedRecord() throws {
        let dir = try TemporaryDirectory()
        try populated(dir)
        let copy = try tamperedCopy(of: dir) { db in
            try db.execute(sql: #"UPDATE audit_records SET detail = '{"n":5,"role":"admin"}' WHERE seq = 5"#)
        }
        let result = try AuditVerifier.verify(dataDirectory: copy.dataDirectory)
        #expect(!result.ok)
        #expect(result.firstBadSeq == 5)
        #expect(result.reason?.contains("hash") == true)
    }

    @Test func detectsADeletedRecord() throws {
        let dir = try TemporaryDirectory()
        try populated(dir)
        let copy = try tamperedCopy(of: dir) { db in try db.execute(sql: "DELETE FROM audit_records WHERE seq = 7") }
        let result = try AuditVerifier.verify(dataDirectory: copy.dataDirectory)
        #expect(!result.ok)
        #expect(result.firstBadSeq == 7)
        #expect(result.reason?.contains("missing") == true)
    }

    @Test func detectsTwoRecordsSwapped() throws {
        let dir = try TemporaryDirectory()
        try populated(dir)
        let copy = try tamperedCopy(of: dir) { db in
            try db.execute(sql: """
                UPDATE audit_records SET seq = 100003 WHERE seq = 3;
                UPDATE audit_records SET seq = 3 WHERE seq = 4;
                UPDATE audit_records SET seq = 4 WHERE seq = 100003;
                """)
        }
        let result = try AuditVerifier.verify(dataDirectory: copy.dataDirectory)
        #expect(!result.ok)
        #expect(result.firstBadSeq == 3)
    }

    @Test func detectsATruncatedTail() throws {
        let dir = try TemporaryDirectory()
        try populated(dir)
        // Drop the last 40 records and the database's checkpoints that would give it away:
        // the checkpoint file outside the database still says the log had 150.
        let copy = try tamperedCopy(of: dir) { db in
            try db.execute(sql: "DELETE FROM audit_records WHERE seq > 110; DELETE FROM audit_checkpoints WHERE size > 110")
        }
        let result = try AuditVerifier.verify(dataDirectory: copy.dataDirectory)
        #expect(!result.ok)
        #expect(result.firstBadSeq == 111)
        #expect(result.reason?.contains("truncated") == true)
    }

    @Test func detectsAChainRecomputedWithoutTheSigningKey() throws {
        let dir = try TemporaryDirectory()
        try populated(dir)
        let suite = CryptoSuite(profile: .intl)
        let copy = try tamperedCopy(of: dir) { db in
            // Edit record 10 and recompute every hash after it, so the chain itself is consistent.
            try db.execute(sql: #"UPDATE audit_records SET detail = '{"n":10,"role":"admin"}' WHERE seq = 10"#)
            var prev = try String.fetchOne(db, sql: "SELECT hash FROM audit_records WHERE seq = 9")!
            for row in try Row.fetchAll(db, sql: "SELECT * FROM audit_records WHERE seq >= 10 ORDER BY seq") {
                var record = try AuditRecord(row: row)
                record.prev = prev
                let hash = try #require(record.computedHash(suite: suite))
                try db.execute(sql: "UPDATE audit_records SET prev = ?, hash = ? WHERE seq = ?", arguments: [prev, hash, record.seq])
                prev = hash
            }
            // Point the database checkpoints at the new heads; the signatures cannot follow.
            try db.execute(sql: "UPDATE audit_checkpoints SET head = (SELECT hash FROM audit_records WHERE seq = size)")
        }
        let result = try AuditVerifier.verify(dataDirectory: copy.dataDirectory)
        #expect(!result.ok)
        #expect(result.firstBadSeq == 100)
        #expect(result.reason?.contains("checkpoint") == true)
    }

    @Test func detectsACheckpointSignedByAnotherKey() throws {
        let dir = try TemporaryDirectory()
        try populated(dir)
        let forger = try Ed25519Scheme().generate()
        let copy = try tamperedCopy(of: dir) { db in
            var checkpoint = AuditCheckpoint(size: 150, head: "00", ts: "2026-01-01T00:00:00.000Z", kid: "forged", signature: "")
            checkpoint.signature = Encoding.base64URL(try forger.sign(checkpoint.signedBytes))
            try db.execute(sql: "DELETE FROM audit_checkpoints WHERE size = 150")
            try db.execute(sql: "INSERT INTO signing_keys VALUES ('forged', 'EdDSA', ?, 'retired', 'x', NULL)",
                           arguments: [try forger.verifier.publicKeyPEM()])
            try db.execute(sql: "INSERT INTO audit_checkpoints (size, head, ts, kid, signature) VALUES (150, '00', ?, 'forged', ?)",
                           arguments: [checkpoint.ts, checkpoint.signature])
        }
        let result = try AuditVerifier.verify(dataDirectory: copy.dataDirectory)
        #expect(!result.ok)
        #expect(result.reason?.contains("unknown key") == true)
    }

    @Test func theDatabaseRefusesUpdatesAndDeletesOfAuditRecords() throws {
        let dir = try TemporaryDirectory()
        let backend = try openBackend(dir)
        #expect(throws: DatabaseError.self) {
            try backend.transactions.pool.write { db in try db.execute(sql: "UPDATE audit_records SET action = 'x' WHERE seq = 1") }
        }
        #expect(throws: DatabaseError.self) {
            try backend.transactions.pool.write { db in try db.execute(sql: "DELETE FROM audit_records") }
        }
    }

    @Test func checkpointIsWrittenEveryHundredRecordsInTheSameTransaction() throws {
        let dir = try TemporaryDirectory()
        let backend = try openBackend(dir)
        let audit = backend.audit
        try backend.transactions.pool.write { db in
            for i in 2...99 { try audit.append(db, actor: .system, action: "test.noop", object: "n:\(i)") }
        }
        #expect(try backend.transactions.pool.read { db in try AuditStore.latestCheckpoint(db) } == nil)
        _ = try backend.transactions.pool.write { db in try audit.append(db, actor: .system, action: "test.noop", object: "n:100") }
        let checkpoint = try #require(try backend.transactions.pool.read { db in try AuditStore.latestCheckpoint(db) })
        #expect(checkpoint.size == 100)
        #expect(checkpoint.kid == backend.keyring.active.kid)
        let file = try String(contentsOf: dir.dataDirectory.checkpointFile, encoding: .utf8)
        #expect(file == checkpoint.jsonLine + "\n")
        // Nothing new: no second checkpoint.
        #expect(try backend.transactions.pool.write { db in try audit.checkpointIfNeeded(db) } == nil)
    }

    /// A batch appends through one `AuditChain`: the head is read once, the records and
    /// checkpoints are those single appends would make, and the checkpoint lines reach the
    /// file once the transaction commits.
    @Test(arguments: CryptoProfile.allCases)
    func oneChainPerTransactionMakesTheSameChain(crypto: CryptoProfile) throws {
        let dir = try TemporaryDirectory()
        let backend = try openBackend(dir, crypto: crypto)
        let audit = backend.audit
        let last = try backend.transactions.pool.write { db in
            var chain = try audit.chain(db)
            for i in 2...250 { try chain.append(actor: .system, action: "test.noop", object: "n:\(i)", detail: ["n": .int(Int64(i))]) }
            return chain.seq
        }
        #expect(last == 250)
        // A single append afterwards continues from the head the chain left.
        let next = try backend.transactions.pool.write { db in try audit.append(db, actor: .system, action: "test.noop", object: "n:251") }
        #expect(next.seq == 251)
        let lines = try String(contentsOf: dir.dataDirectory.checkpointFile, encoding: .utf8).split(separator: "\n")
        let sizes = try lines.map { try JSONDecoder().decode(AuditCheckpoint.self, from: Data($0.utf8)).size }
        #expect(sizes == [100, 200])
        let result = try AuditVerifier.verify(reader: backend.transactions.pool, suite: backend.suite, checkpointFile: dir.dataDirectory.checkpointFile)
        #expect(result.ok)
        #expect(result.size == 251)
    }

    /// A chain that signs its checkpoints ahead (a batch import's) stores none until it is
    /// settled, then each at its hundred, in order, signed as a chain signing at once signs them.
    @Test(arguments: CryptoProfile.allCases)
    func aChainSigningAheadStoresItsCheckpointsWhenSettled(crypto: CryptoProfile) throws {
        let dir = try TemporaryDirectory()
        let backend = try openBackend(dir, crypto: crypto)
        let audit = backend.audit
        let (before, stored) = try backend.transactions.pool.write { db in
            var chain = try audit.chain(db, signingAhead: true)
            for i in 2...350 { try chain.append(actor: .system, action: "test.noop", object: "n:\(i)") }
            let before = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_checkpoints")
            try chain.settle()
            return (before, try Int64.fetchAll(db, sql: "SELECT size FROM audit_checkpoints ORDER BY rowid"))
        }
        #expect(before == 0)
        #expect(stored == [100, 200, 300])
        let lines = try String(contentsOf: dir.dataDirectory.checkpointFile, encoding: .utf8).split(separator: "\n")
        #expect(try lines.map { try JSONDecoder().decode(AuditCheckpoint.self, from: Data($0.utf8)).size } == [100, 200, 300])
        let result = try AuditVerifier.verify(reader: backend.transactions.pool, suite: backend.suite, checkpointFile: dir.dataDirectory.checkpointFile)
        #expect(result.ok)
        #expect(result.size == 350)
    }

    @Test func aRolledBackChainLeavesNoRecordAndNoCheckpointLine() throws {
        let dir = try TemporaryDirectory()
        let backend = try openBackend(dir)
        let audit = backend.audit
        struct Abort: Error {}
        #expect(throws: Abort.self) {
            try backend.transactions.pool.write { db in
                var chain = try audit.chain(db)
                for i in 2...150 { try chain.append(actor: .system, action: "test.noop", object: "n:\(i)") }
                throw Abort()
            }
        }
        #expect(try backend.transactions.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_records") } == 1)
        #expect(try backend.transactions.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_checkpoints") } == 0)
        #expect(!FileManager.default.fileExists(atPath: dir.dataDirectory.checkpointFile.path))
    }
}

@Suite("Fast paths agree with the general ones")
struct FastPathTests {
    @Test func recordCanonicalFormEqualsGenericJCS() {
        let record = AuditRecord(seq: 42, ts: "2026-11-25T16:00:00.000Z", actor: "client:cli_x", action: "licence.imported",
                                 object: "licence:lic_\"q\"", detail: ["type": "resident_id_card", "n": 3, "z": ["a": true]],
                                 prev: String(repeating: "ab", count: 32), hash: "")
        let generic = JSONValue.object([
            "seq": .int(record.seq), "ts": .string(record.ts), "actor": .string(record.actor), "action": .string(record.action),
            "object": .string(record.object), "detail": record.detail, "prev": .string(record.prev),
        ]).canonicalBytes
        #expect(record.canonicalWithoutHash == generic)
    }

    @Test func timestampsMatchFoundationsFormatter() {
        let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: TimeZone(identifier: "UTC")!)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let millis = Int64.random(in: 0...4_102_444_800_000, using: &generator)
            let date = Date(timeIntervalSince1970: Double(millis) / 1000)
            #expect(Timestamp.string(date) == style.format(date), "\(millis)")
            // Read back by arithmetic: Foundation's instant, within a microsecond.
            let text = Timestamp.string(date)
            #expect(Timestamp.millisecondsSince1970(ours: text) != nil, "\(text)")
            let foundations = try? style.parse(text)
            #expect(Timestamp.date(text).flatMap { read in foundations.map { abs(read.timeIntervalSince($0)) < 1e-6 } } == true, "\(text)")
        }
    }

    @Test func timestampsNotInOurFormAreLeftToFoundation() {
        for text in ["2026-02-29T00:00:00.000Z", "2026-13-01T00:00:00.000Z", "2026-11-26T24:00:00.000Z", "2026-11-26T10:60:00.000Z",
                     "2026-11-26T10:00:00.000+08:00", "2026-11-26T10:00:00Z", "2026-11-26 10:00:00.000Z", "2026-1a-26T10:00:00.000Z", ""] {
            #expect(Timestamp.millisecondsSince1970(ours: text) == nil, "\(text)")
        }
        #expect(Timestamp.millisecondsSince1970(ours: "2024-02-29T23:59:59.999Z") == 1_709_251_199_999)
        #expect(Timestamp.date("2026-11-26T18:00:00.000+08:00") == Timestamp.date("2026-11-26T10:00:00.000Z"))
    }

    @Test func canonicalStringsWithAndWithoutEscapes() throws {
        #expect(JSONValue.string("lic_0193AbC-_x").canonicalString == #""lic_0193AbC-_x""#)
        #expect(JSONValue.string("衡阳市人社局").canonicalString == #""衡阳市人社局""#)
        #expect(JSONValue.string("a\"b\\c\n\u{1}/").canonicalString == #""a\"b\\c\n\u0001/""#)
        var generator = SystemRandomNumberGenerator()
        let alphabet: [Character] = ["a", "Z", "0", "\"", "\\", "/", "\n", "\t", "\u{0}", "\u{1f}", "测", "é", "😀", " "]
        for _ in 0..<500 {
            let s = String((0..<Int.random(in: 0...12, using: &generator)).map { _ in alphabet.randomElement(using: &generator) ?? "a" })
            let bytes = JSONValue.string(s).canonicalBytes
            let back = try JSONSerialization.jsonObject(with: Data(bytes), options: .fragmentsAllowed) as? String
            #expect(back == s)
        }
    }

    @Test func calendarDatesPadEveryPart() {
        #expect(CalendarDate.format(year: 987, month: 3, day: 4) == "0987-03-04")
        #expect(CalendarDate.format(year: 9999, month: 12, day: 31) == "9999-12-31")
        #expect(CalendarDate.format(year: 12345, month: 1, day: 2) == "12345-01-02")
    }

    @Test func systemRandomFillsWhatIsAsked() {
        let random = SystemRandom()
        #expect(random.bytes(0).isEmpty)
        #expect(random.bytes(33).count == 33)
        #expect(random.bytes(16) != random.bytes(16))
    }

    /// A compact line is read without a general parser, and reads as the general parsers read
    /// it; anything else is left to them.
    @Test func compactLinesReadAsTheGeneralParsersDo() throws {
        let decoder = JSONDecoder()
        let line = #"{"type":"id_card","number":"N\"1\\","holder":{"kind":"person","id":"X"},"fields":{"name":"张三","note":"a\nb\u0041"},"#
            + #""valid_from":"2020-01-01","valid_until":null,"issuer":"衡阳"}"#
        let read = try #require(LicenceSubmission.compact(Array(line.utf8)))
        #expect(read == (try LicenceSubmission.general(Array(line.utf8), fallback: decoder)))
        #expect(read.number == #"N"1\"# && read.fields["note"] == "a\nbA" && read.validUntil == nil && read.issuer == "衡阳")
        let accepted = [
            line.replacingOccurrences(of: "null", with: #""2030-01-01""#),
            line.replacingOccurrences(of: #","issuer":"衡阳""#, with: ""),
            line.replacingOccurrences(of: #""issuer":"衡阳""#, with: #""issuer":null"#),
            #"{"valid_from":"2020-01-01","fields":{},"holder":{"id":"X","kind":"person"},"number":"N","type":"t"}"#,
        ]
        for text in accepted {
            let compact = try #require(LicenceSubmission.compact(Array(text.utf8)), "\(text)")
            #expect(compact == (try LicenceSubmission.general(Array(text.utf8), fallback: decoder)), "\(text)")
        }
        let left = [
            line.replacingOccurrences(of: ",", with: ", "),  // white space
            line.replacingOccurrences(of: #""issuer""#, with: #""extra""#),  // another member
            line.replacingOccurrences(of: #""issuer":"衡阳""#, with: #""type":"id_card""#),  // a repeated one
            line.replacingOccurrences(of: #""name":"张三""#, with: #""name":"张三","name":"李四""#),
            line.replacingOccurrences(of: #""id":"X""#, with: #""id":"X","extra":"Y""#),
            line.replacingOccurrences(of: "\\u0041", with: "\\u4e2d"),  // an escape JSONValue never writes
            line.replacingOccurrences(of: "null", with: "7"),
            line + "\r",
        ]
        for text in left {
            #expect(LicenceSubmission.compact(Array(text.utf8)) == nil, "\(text)")
            let decoded = try? LicenceSubmission.decode(line: Array(text.utf8), fallback: decoder)
            #expect(decoded == (try? LicenceSubmission.general(Array(text.utf8), fallback: decoder)), "\(text)")
        }
    }

    /// Batch lines are read with JSONSerialization; whatever it reads must be what
    /// JSONDecoder reads, and what it cannot map must fail with JSONDecoder's error.
    @Test func batchLinesDecodeAsTheSingleRouteDoes() throws {
        let decoder = JSONDecoder()
        let good = #"{"type":"id_card","number":"N1","holder":{"kind":"person","id":"X"},"fields":{"name":"张三"},"valid_from":"2020-01-01","valid_until":null,"issuer":"I","extra":1}"#
        let fast = try LicenceSubmission.decode(line: Array(good.utf8), fallback: decoder)
        let slow = try decoder.decode(LicenceSubmission.self, from: Data(good.utf8))
        #expect(fast.type == slow.type && fast.number == slow.number && fast.fields == slow.fields && fast.issuer == slow.issuer)
        #expect(fast.holder.kind == "person" && fast.holder.id == "X" && fast.validUntil == nil && fast.validFrom == "2020-01-01")
        let until = try LicenceSubmission.decode(line: Array(good.replacingOccurrences(of: "null", with: #""2030-01-01""#).utf8), fallback: decoder)
        #expect(until.validUntil == "2030-01-01")
        // `issuer` is optional (and ignored: the issuer client's name is what a licence carries).
        let noIssuer = try LicenceSubmission.decode(line: Array(good.replacingOccurrences(of: #","issuer":"I""#, with: "").utf8), fallback: decoder)
        #expect(noIssuer.issuer == nil && noIssuer.number == "N1")
        let bad: [(String, String)] = [
            (good.replacingOccurrences(of: #""N1""#, with: "1"), "field `number` must be a string"),
            (good.replacingOccurrences(of: #""张三""#, with: "true"), "field `fields.name` must be a string"),
            (good.replacingOccurrences(of: "null", with: "7"), "field `valid_until` must be a string"),
            (good.replacingOccurrences(of: #""issuer":"I""#, with: #""issuer":1"#), "field `issuer` must be a string"),
            ("[1]", "the request body must be a JSON object"),
            ("{nope", "the request body is not valid JSON"),
        ]
        for (line, detail) in bad {
            do {
                _ = try LicenceSubmission.decode(line: Array(line.utf8), fallback: decoder)
                Issue.record("accepted \(line)")
            } catch let error as DecodingError {
                #expect(DecodingFailure.describe(error) == detail, "\(line)")
            }
        }
    }
}

import Foundation
import GRDB
import GRDBSQLite

/// 码上查's ranking: Okapi BM25 as FTS5's own `bm25()` computes it (k1 1.2, b 0.75, each
/// phrase's hits weighted by the column they are in, the row's length in tokens against the
/// average, a phrase's IDF from the rows holding it), as the FTS5 auxiliary function
/// `msb_bm25(policies_fts, generation, word, …)`, with one difference: what it reads of the
/// index besides the row's hits is remembered between queries.
///
/// FTS5's `bm25()` counts, on every query, every row that holds each phrase on its own
/// (`xQueryPhrase`): a word in a fifth of 100,000 policies costs more than the filtered query
/// itself; and it reads each ranked row's length from the index's `docsize` table, a lookup a
/// row. Here both are kept per database file while the index stays at one generation (the
/// number in `policy_index_generation`, which every policy stored, replaced or withdrawn
/// changes: the caller passes it, read in the same transaction). The words are the phrases'
/// text, passed in the MATCH's order; phrases after them (the filters' tokens) weigh nothing.
enum PolicyRank {
    /// Column weights: title, body, tags.
    static let weights: [Double] = [10, 1, 0]
    static let (k1, b) = (1.2, 0.75)

    /// What is remembered of one database file's index at one generation: rows holding each
    /// word, and rows' lengths in tokens (at most `capacity` of each; beyond, no more are kept).
    final class Remembered: Sendable {
        let generation: Int64
        let holding = Locked<[String: Int64]>([:])
        let lengths = Locked<[Int64: Int32]>([:])

        init(generation: Int64) { self.generation = generation }

        /// What is remembered for a file at a generation: a newer generation replaces an
        /// older one; a query on an older one (a reader's earlier snapshot), or on an
        /// in-memory database (no file), remembers nothing.
        static func of(_ file: String, at generation: Int64) -> Remembered? {
            guard !file.isEmpty else { return nil }
            return remembered.withLock { all in
                if let known = all[file], known.generation >= generation { return known.generation == generation ? known : nil }
                let fresh = Remembered(generation: generation)
                all[file] = fresh
                return fresh
            }
        }
    }

    /// By database file: the newest generation a query has seen.
    static let remembered = Locked<[String: Remembered]>([:])
    static let capacity = 1_000_000

    /// Makes `msb_bm25` known to FTS5 on this connection (every connection: see `Storage`).
    static func register(_ db: Database) throws {
        var api: UnsafeMutablePointer<fts5_api>?
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db.sqliteConnection, "SELECT fts5(?1)", -1, &statement, nil) == SQLITE_OK else {
            throw InternalError("FTS5 is not available in this SQLite")
        }
        defer { sqlite3_finalize(statement) }
        withUnsafeMutablePointer(to: &api) { pointer in
            _ = sqlite3_bind_pointer(statement, 1, pointer, apiPointerType, nil)
            _ = sqlite3_step(statement)
        }
        guard let api, api.pointee.iVersion >= 2, let create = api.pointee.xCreateFunction,
              create(api, "msb_bm25", nil, rank, nil) == SQLITE_OK
        else { throw InternalError("could not add msb_bm25 to FTS5") }
    }

    /// The pointer type FTS5 hands its API under (SQLite keeps the pointer, not a copy).
    nonisolated(unsafe) static let apiPointerType: UnsafeMutablePointer<CChar> = strdup("fts5_api_ptr")

    /// One query's constants, made at its first row and kept as FTS5 auxiliary data.
    final class Query {
        let idf: [Double]
        let averageLength: Double
        let memory: Remembered?

        init(idf: [Double], averageLength: Double, memory: Remembered?) {
            (self.idf, self.averageLength, self.memory) = (idf, averageLength, memory)
        }
    }

    /// The auxiliary function: the row's score, negated as `bm25()`'s is (best first when
    /// sorted ascending).
    static let rank: fts5_extension_function = { api, fts, context, count, values in
        guard let api = api?.pointee else { return }
        do {
            let query: Query
            if let saved = api.xGetAuxdata?(fts, 0) {
                query = Unmanaged<Query>.fromOpaque(saved).takeUnretainedValue()
            } else {
                guard count >= 1, let generation = values?[0].map({ sqlite3_value_int64($0) }) else {
                    throw InternalError("msb_bm25 takes the index's generation, then the words")
                }
                query = try prepare(api, fts, context, generation: generation, words: (1..<Int(max(count, 1))).map { index in
                    values?[index].flatMap { sqlite3_value_text($0) }.map { String(cString: $0) } ?? ""
                })
                let retained = Unmanaged.passRetained(query).toOpaque()
                guard api.xSetAuxdata?(fts, retained, { $0.map { Unmanaged<Query>.fromOpaque($0).release() } }) == SQLITE_OK else {
                    throw InternalError("FTS5 kept no auxiliary data")
                }
            }
            sqlite3_result_double(context, -(try score(api, fts, query)))
        } catch {
            sqlite3_result_error(context, "msb_bm25 failed", -1)
        }
    }

    private static func check(_ code: Int32?) throws {
        guard code == SQLITE_OK else { throw InternalError("FTS5 answered \(code ?? -1)") }
    }

    private static func prepare(_ api: Fts5ExtensionApi, _ fts: OpaquePointer?, _ context: OpaquePointer?, generation: Int64,
                                words: [String]) throws -> Query
    {
        var (rows, tokens): (Int64, Int64) = (0, 0)
        try check(api.xRowCount?(fts, &rows))
        try check(api.xColumnTotalSize?(fts, -1, &tokens))
        let file = sqlite3_db_filename(sqlite3_context_db_handle(context), "main").map { String(cString: $0) } ?? ""
        let memory = Remembered.of(file, at: generation)
        let phrases = min(words.count, Int(api.xPhraseCount?(fts) ?? 0))
        let idf = try (0..<phrases).map { phrase in
            let word = words[phrase].lowercased()
            var holding = memory?.holding.withLock { $0[word] } ?? -1
            if holding < 0 {
                holding = 0
                try check(api.xQueryPhrase?(fts, Int32(phrase), &holding) { _, _, counter in
                    counter?.assumingMemoryBound(to: Int64.self).pointee += 1
                    return SQLITE_OK
                })
                let counted = holding
                memory?.holding.withLock { if $0.count < capacity { $0[word] = counted } }
            }
            let value = log((Double(rows) - Double(holding) + 0.5) / (Double(holding) + 0.5))
            return value > 0 ? value : 1e-6
        }
        return Query(idf: idf, averageLength: Double(tokens) / Double(max(rows, 1)), memory: memory)
    }

    private static func score(_ api: Fts5ExtensionApi, _ fts: OpaquePointer?, _ query: Query) throws -> Double {
        let rowid = api.xRowid?(fts) ?? 0
        var length = query.memory?.lengths.withLock { $0[rowid] } ?? -1
        if length < 0 {
            length = 0
            try check(api.xColumnSize?(fts, -1, &length))
            let known = length
            query.memory?.lengths.withLock { if $0.count < capacity { $0[rowid] = known } }
        }
        let norm = k1 * (1 - b + b * Double(length) / query.averageLength)
        var sum = 0.0
        for (phrase, idf) in query.idf.enumerated() {
            // The phrase's hits in this row, column by column, weighted.
            var (iterator, column, offset) = (Fts5PhraseIter(), Int32(0), Int32(0))
            try check(api.xPhraseFirst?(fts, Int32(phrase), &iterator, &column, &offset))
            var frequency = 0.0
            while column >= 0 {
                if Int(column) < weights.count { frequency += weights[Int(column)] }
                api.xPhraseNext?(fts, &iterator, &column, &offset)
            }
            sum += idf * frequency * (k1 + 1) / (frequency + norm)
        }
        return sum
    }
}

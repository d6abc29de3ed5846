import Foundation
import GRDB
import GRDBSQLite

/// 码上查's ranking: Okapi BM25 as FTS5's own `bm25()` computes it (k1 1.2, b 0.75, each
/// phrase's hits weighted by the column they are in, the row's length in tokens against the
/// average, a phrase's IDF from the rows holding it), as the FTS5 auxiliary function
/// `msb_bm25(policies_fts, word, …)`, with one difference: a phrase's count of rows is
/// remembered between queries.
///
/// FTS5's `bm25()` counts, on every query, every row that holds each phrase on its own
/// (`xQueryPhrase`): a word in a fifth of 100,000 policies costs more than the filtered query
/// itself. Here the count is kept per database file and word, and used again while the index
/// holds the same number of rows and tokens (any policy published, replaced or withdrawn
/// changes them, and the next query counts again). The words are the phrases' text, passed
/// in the MATCH's order; phrases after them (the filters' tokens, in `tags`) weigh nothing.
enum PolicyRank {
    /// Column weights: title, body, tags.
    static let weights: [Double] = [10, 1, 0]
    static let (k1, b) = (1.2, 0.75)

    /// What a count of rows was made against: the index's rows and tokens.
    struct Counted: Sendable {
        let rows: Int64
        let tokens: Int64
        let holding: Int64
    }

    /// Rows holding a word, by database file and word. Cleared when it grows past `capacity`.
    static let counts = Locked<[String: Counted]>([:])
    static let capacity = 50_000

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

        init(idf: [Double], averageLength: Double) { (self.idf, self.averageLength) = (idf, averageLength) }
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
                query = try prepare(api, fts, context, words: (0..<Int(count)).map { index in
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

    private static func prepare(_ api: Fts5ExtensionApi, _ fts: OpaquePointer?, _ context: OpaquePointer?, words: [String]) throws -> Query {
        var (rows, tokens): (Int64, Int64) = (0, 0)
        try check(api.xRowCount?(fts, &rows))
        try check(api.xColumnTotalSize?(fts, -1, &tokens))
        let file = sqlite3_db_filename(sqlite3_context_db_handle(context), "main").map { String(cString: $0) } ?? ""
        let phrases = min(words.count, Int(api.xPhraseCount?(fts) ?? 0))
        let idf = try (0..<phrases).map { phrase in
            let key = file + "\u{0}" + words[phrase].lowercased()
            var holding = counts.withLock { $0[key] }.flatMap { $0.rows == rows && $0.tokens == tokens ? $0.holding : nil } ?? -1
            if holding < 0 {
                holding = 0
                try check(api.xQueryPhrase?(fts, Int32(phrase), &holding) { _, _, counter in
                    counter?.assumingMemoryBound(to: Int64.self).pointee += 1
                    return SQLITE_OK
                })
                if !file.isEmpty {
                    counts.withLock { counts in
                        if counts.count >= capacity { counts.removeAll() }
                        counts[key] = Counted(rows: rows, tokens: tokens, holding: holding)
                    }
                }
            }
            let value = log((Double(rows) - Double(holding) + 0.5) / (Double(holding) + 0.5))
            return value > 0 ? value : 1e-6
        }
        return Query(idf: idf, averageLength: Double(tokens) / Double(max(rows, 1)))
    }

    private static func score(_ api: Fts5ExtensionApi, _ fts: OpaquePointer?, _ query: Query) throws -> Double {
        var frequency = [Double](repeating: 0, count: query.idf.count)
        var instances: Int32 = 0
        try check(api.xInstCount?(fts, &instances))
        for index in 0..<instances {
            var (phrase, column, offset): (Int32, Int32, Int32) = (0, 0, 0)
            try check(api.xInst?(fts, index, &phrase, &column, &offset))
            if Int(phrase) < frequency.count, Int(column) < weights.count { frequency[Int(phrase)] += weights[Int(column)] }
        }
        var length: Int32 = 0
        try check(api.xColumnSize?(fts, -1, &length))
        let norm = k1 * (1 - b + b * Double(length) / query.averageLength)
        return zip(query.idf, frequency).reduce(0) { sum, pair in sum + pair.0 * pair.1 * (k1 + 1) / (pair.1 + norm) }
    }
}

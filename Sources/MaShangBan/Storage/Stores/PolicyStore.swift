import Foundation
import GRDB

/// `policies` and the FTS5 index over them (`policies_fts`, external content, the `trigram`
/// tokenizer): title and body for the words, and `tags` for the filters. A policy's industry,
/// region and scale values (`*` for "every") are each one three-character token in the
/// `tags` column (see `Tag`), so that a filtered search is one index query: FTS5 intersects
/// the words' and the filters' lists and ranks only what passes every filter. Also
/// `enterprise_profiles`.
enum PolicyStore {
    static func owner(_ id: String, _ db: Database) throws -> String?? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT unit FROM policies WHERE id = ? AND withdrawn_at IS NULL"), arguments: [id])
            .map { $0["unit"] as String? }
    }

    /// Inserts or replaces a policy with its index entry; true when new (or withdrawn before).
    static func upsert(_ p: Policy, _ db: Database) throws -> Bool {
        let tags = try Tag.column(industries: p.industries, regions: p.regions, scales: p.scales)
        let lists = [p.industries, p.regions, p.scales].map(ListColumn.text)
        var created = true
        if let old = try Row.fetchOne(db.cachedStatement(sql: "SELECT rowid, title, body, tags, withdrawn_at FROM policies WHERE id = ?"),
                                      arguments: [p.id]) {
            created = old["withdrawn_at"] as String? != nil
            if !created { try unindex(old, db) }
            try db.execute(sql: """
                UPDATE policies SET title = ?, body = ?, unit = ?, industries = ?, regions = ?, scales = ?, valid_from = ?, valid_until = ?,
                    benefit = ?, updated_at = ?, withdrawn_at = NULL, tags = ? WHERE id = ?
                """, arguments: [p.title, p.body, p.unit, lists[0], lists[1], lists[2], p.validFrom.text, p.validUntil?.text, p.benefit,
                                 p.createdAt.text, tags, p.id])
        } else {
            try db.execute(sql: """
                INSERT INTO policies (id, title, body, unit, industries, regions, scales, valid_from, valid_until, benefit, created_at, updated_at,
                    tags)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [p.id, p.title, p.body, p.unit, lists[0], lists[1], lists[2], p.validFrom.text, p.validUntil?.text, p.benefit,
                                 p.createdAt.text, p.createdAt.text, tags])
        }
        guard let rowid = try Int64.fetchOne(db.cachedStatement(sql: "SELECT rowid FROM policies WHERE id = ?"), arguments: [p.id]) else {
            throw InternalError("a policy was not stored")
        }
        try index(rowid: rowid, title: p.title, body: p.body, tags: tags, db)
        return created
    }

    private static func index(rowid: Int64, title: String, body: String, tags: String, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO policies_fts (rowid, title, body, tags) VALUES (?, ?, ?, ?)")
            .execute(arguments: [rowid, title, body, tags])
    }

    /// Takes a policy's old text out of the external-content index (FTS5 needs the old values).
    private static func unindex(_ old: Row, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO policies_fts (policies_fts, rowid, title, body, tags) VALUES ('delete', ?, ?, ?, ?)")
            .execute(arguments: [old["rowid"] as Int64, old["title"] as String, old["body"] as String, old["tags"] as String])
    }

    static func withdraw(_ id: String, at stamp: Timestamp, _ db: Database) throws {
        guard let old = try Row.fetchOne(db.cachedStatement(sql: "SELECT rowid, title, body, tags FROM policies WHERE id = ? AND withdrawn_at IS NULL"),
                                         arguments: [id]) else { return }
        try unindex(old, db)
        try db.execute(sql: "UPDATE policies SET withdrawn_at = ? WHERE id = ?", arguments: [stamp.text, id])
    }

    /// A batch that stores this many policies is a bulk load: it ends with `optimize`.
    static let bulk = 1_000

    /// Merges the index into one b-tree (FTS5's `optimize`): each batch leaves segments of its
    /// own, and a search reads every segment's lists (ten batches of 10,000: about a tenth
    /// slower). Rewrites the whole index (about half a second at 100,000 policies), so only a
    /// bulk load, which holds the writer for seconds anyway, pays for it.
    static func optimize(_ db: Database) throws {
        try db.execute(sql: "INSERT INTO policies_fts (policies_fts) VALUES ('optimize')")
    }

    /// Migration 0019: every live policy's `tags`, and the index (made anew) over them.
    static func indexAfresh(_ db: Database) throws {
        for row in try Row.fetchAll(db, sql: "SELECT p.*, p.rowid AS rid FROM policies p WHERE p.withdrawn_at IS NULL") {
            let stored = policy(row)
            let tags = try Tag.column(industries: stored.industries, regions: stored.regions, scales: stored.scales)
            try db.execute(sql: "UPDATE policies SET tags = ? WHERE rowid = ?", arguments: [tags, row["rid"] as Int64])
            try index(rowid: row["rid"], title: stored.title, body: stored.body, tags: tags, db)
        }
        try optimize(db)
    }

    /// A filter value as one token of the trigram index: three characters of Unicode's
    /// supplementary private use area A (U+F0000…, which no text of a policy holds), the first
    /// naming the kind and the other two the value, read as a bijective base-37 number over
    /// `0-9a-z*` (so every value of up to six such characters has its own token, and no token
    /// is another's).
    enum Tag: Int {
        case industry, region, scale

        static let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz*")
        static let base: UInt32 = 0xF0000
        static let span: UInt64 = 65_534  // U+F0000…U+FFFFD

        func token(_ value: String) throws -> String {
            let digits = value.lowercased().compactMap { Self.alphabet.firstIndex(of: $0) }
            guard value.count <= 6, digits.count == value.count else {
                throw InternalError("a policy filter value is not up to six of 0-9, a-z or *")
            }
            let number = digits.reduce(UInt64(0)) { $0 * 37 + UInt64($1 + 1) }
            let scalars = [UInt32(rawValue), UInt32(number / Self.span), UInt32(number % Self.span)]
                .compactMap { Unicode.Scalar(Self.base + $0) }
            return String(String.UnicodeScalarView(scalars))
        }

        /// The `tags` column of a policy: each value's token, `*` for an empty list.
        static func column(industries: [String], regions: [String], scales: [String]) throws -> String {
            try [(Tag.industry, industries), (.region, regions), (.scale, scales)].flatMap { tag, values in
                try (values.isEmpty ? ["*"] : values).map(tag.token)
            }.joined(separator: " ")
        }
    }

    // MARK: Search

    struct Filter: Sendable {
        var industries: [String]
        var regions: [String]
        var scale: String?
        var validOn: CalendarDate?
    }

    /// Where a page ended: a ranked search's (score, rowid), or a listing's rowid.
    struct Cursor: Sendable {
        let score: Double?
        let rowid: Int64

        init(score: Double?, rowid: Int64) { (self.score, self.rowid) = (score, rowid) }

        init(text: String) throws {
            let parts = text.split(separator: "_", omittingEmptySubsequences: false)
            guard parts.count == 2, let rowid = Int64(parts[1]) else { throw MSBError.validationFailed("after is not a cursor a search gave") }
            if parts[0] == "n" {
                (score, self.rowid) = (nil, rowid)
            } else {
                guard let bits = UInt64(parts[0]) else { throw MSBError.validationFailed("after is not a cursor a search gave") }
                (score, self.rowid) = (Double(bitPattern: bits), rowid)
            }
        }

        var text: String { (score.map { String($0.bitPattern) } ?? "n") + "_\(rowid)" }
    }

    /// The FTS5 query for the words (each a phrase, found in title or body) and the filters
    /// (each one of its tokens or `*`'s, in `tags`); nil when there is neither. A word is
    /// sought in every column, which FTS5 does a fifth faster than in named ones: only a word
    /// holding a character of the tags' private-use plane could match a tag, and it is held to
    /// `{title body}`.
    static func match(words: [String], filter: Filter) throws -> String? {
        var parts = words.map { word in
            (word.unicodeScalars.contains { $0.value >= Tag.base } ? "{title body} : \"" : "\"")
                + word.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        for (tag, values) in [(Tag.industry, filter.industries), (.region, filter.regions), (.scale, filter.scale.map { [$0] } ?? [])]
        where !values.isEmpty {
            parts.append("(" + (try (values + ["*"]).map { "tags : \"" + (try tag.token($0)) + "\"" }.joined(separator: " OR ")) + ")")
        }
        return parts.isEmpty ? nil : parts.joined(separator: " AND ")
    }

    /// A page of hits, each with the cursor after it. Words of three characters or more go
    /// to the trigram index with the filters (every word must match, best bm25 first, title
    /// weighing ten times the body); a shorter word makes it a LIKE over title and body, newest
    /// first; no words, newest first.
    static func search(words: [String], filter: Filter, after: Cursor?, limit: Int, _ db: Database) throws -> [(hit: PolicyHit, cursor: Cursor)] {
        let indexed = words.filter { $0.count >= 3 }
        let short = words.filter { $0.count < 3 }
        var validity = ""
        var validityArguments = [(any DatabaseValueConvertible)?]()
        if let day = filter.validOn {
            validity = " AND p.valid_from <= ? AND (p.valid_until IS NULL OR p.valid_until >= ?)"
            validityArguments = [day.text, day.text]
        }
        let rows: [Row]
        var ranks: [Int64: Double] = [:]
        if !indexed.isEmpty, short.isEmpty, let match = try match(words: indexed, filter: filter) {
            let generation = try Int64.fetchOne(db.cachedStatement(sql: "SELECT generation FROM policy_index_generation WHERE only = 1")) ?? 0
            var arguments: [(any DatabaseValueConvertible)?] = [generation] + indexed.map { $0 } + [match] + validityArguments
            var page = ""
            if let after, let score = after.score {
                page = "WHERE score > ? OR (score = ? AND rid > ?)"
                arguments += [score, score, after.rowid]
            }
            // The policies row is read only to check validity; the page's rows after ranking.
            // `msb_bm25` is bm25 as FTS5's own, given the index's generation and the words (see `PolicyRank`).
            // Prepared once per shape (words, validity, paging) on each connection.
            let ranked = try Row.fetchAll(db.cachedStatement(sql: """
                SELECT rid, score FROM (
                    SELECT policies_fts.rowid AS rid, msb_bm25(policies_fts, ?\(String(repeating: ", ?", count: indexed.count))) AS score
                    FROM policies_fts
                    \(validity.isEmpty ? "" : "JOIN policies p ON p.rowid = policies_fts.rowid")
                    WHERE policies_fts MATCH ?\(validity)
                ) \(page) ORDER BY score, rid LIMIT ?
                """), arguments: StatementArguments((arguments + [limit]).map { $0?.databaseValue ?? .null }))
            let one = try db.cachedStatement(sql: "SELECT p.*, p.rowid AS rid FROM policies p WHERE p.rowid = ?")
            rows = try ranked.compactMap { hit in
                ranks[hit["rid"]] = hit["score"]
                return try Row.fetchOne(one, arguments: [hit["rid"] as Int64])
            }
        } else {
            var arguments = [(any DatabaseValueConvertible)?]()
            var sql: String
            let match = try match(words: indexed, filter: filter)
            if let match {
                sql = "SELECT p.*, p.rowid AS rid FROM policies_fts JOIN policies p ON p.rowid = policies_fts.rowid WHERE policies_fts MATCH ?"
                arguments.append(match)
            } else {
                sql = "SELECT p.*, p.rowid AS rid FROM policies p WHERE p.withdrawn_at IS NULL"
            }
            sql += validity
            arguments += validityArguments
            for word in short {
                let pattern = "%" + word.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                    .replacingOccurrences(of: "_", with: "\\_") + "%"
                sql += " AND (p.title LIKE ? ESCAPE '\\' OR p.body LIKE ? ESCAPE '\\')"
                arguments += [pattern, pattern]
            }
            // Order and page by the driving table's rowid (the index's, when it drives), so
            // that the walk stops at the page's end instead of sorting every match.
            let order = match == nil ? "p.rowid" : "policies_fts.rowid"
            if let after {
                sql += " AND \(order) < ?"
                arguments.append(after.rowid)
            }
            rows = try Row.fetchAll(db, sql: sql + " ORDER BY \(order) DESC LIMIT \(limit)",
                                    arguments: StatementArguments(arguments.map { $0?.databaseValue ?? .null }))
        }
        return rows.map { row in
            let found = policy(row)
            let rowid: Int64 = row["rid"]
            return (PolicyHit(policy: found, snippet: snippet(title: found.title, body: found.body, words: words)),
                    Cursor(score: ranks[rowid], rowid: rowid))
        }
    }

    /// A hit's snippet: the body around the first of the words found in it (up to 24
    /// characters either side), or else the title, with every word marked; nil without words.
    /// Letters match whatever their case, one character for one as the trigram index folds
    /// them; the text is searched as Unicode scalars (a page's snippets are a twentieth of a
    /// search's time through Foundation's case-insensitive `range(of:)`).
    static func snippet(title: String, body: String, words: [String]) -> String? {
        let needles = words.map { $0.unicodeScalars.map(folded) }.filter { !$0.isEmpty }
        guard !needles.isEmpty else { return nil }
        let (bodyScalars, foldedBody) = (Array(body.unicodeScalars), body.unicodeScalars.map(folded))
        /// The first word found at or after `from` that ends by `end`, earliest start first,
        /// then the words' order.
        func hit(in text: [UInt32], from: Int, end: Int) -> Range<Int>? {
            guard from < end else { return nil }
            for start in from..<end {
                for needle in needles where start + needle.count <= end && text[start..<start + needle.count].elementsEqual(needle) {
                    return start..<start + needle.count
                }
            }
            return nil
        }
        func marked(_ scalars: [Unicode.Scalar], _ text: [UInt32], _ bounds: Range<Int>) -> String {
            var out = String.UnicodeScalarView()
            var rest = bounds.lowerBound
            while let found = hit(in: text, from: rest, end: bounds.upperBound) {
                out.append(contentsOf: scalars[rest..<found.lowerBound])
                out.append(contentsOf: "<mark>".unicodeScalars)
                out.append(contentsOf: scalars[found])
                out.append(contentsOf: "</mark>".unicodeScalars)
                rest = found.upperBound
            }
            out.append(contentsOf: scalars[rest..<bounds.upperBound])
            return String(out)
        }
        guard let first = hit(in: foldedBody, from: 0, end: foldedBody.count) else {
            let (titleScalars, foldedTitle) = (Array(title.unicodeScalars), title.unicodeScalars.map(folded))
            return hit(in: foldedTitle, from: 0, end: foldedTitle.count) == nil ? nil : marked(titleScalars, foldedTitle, 0..<foldedTitle.count)
        }
        let window = max(0, first.lowerBound - 24)..<min(foldedBody.count, first.upperBound + 24)
        return (window.lowerBound > 0 ? "…" : "") + marked(bodyScalars, foldedBody, window) + (window.upperBound < foldedBody.count ? "…" : "")
    }

    /// A scalar as the trigram index compares it: lowercased when that gives one scalar.
    private static func folded(_ scalar: Unicode.Scalar) -> UInt32 {
        if scalar.isASCII { return (65...90).contains(scalar.value) ? scalar.value + 32 : scalar.value }
        // CJK (radicals to unified ideographs, and Hangul), most of a policy's text, has no case.
        if (0x2E80..<0xA000).contains(scalar.value) || (0xAC00..<0xD7A4).contains(scalar.value) { return scalar.value }
        guard scalar.properties.changesWhenLowercased else { return scalar.value }
        let lower = scalar.properties.lowercaseMapping.unicodeScalars
        return lower.count == 1 ? lower.first?.value ?? scalar.value : scalar.value
    }

    private static func policy(_ row: Row) -> Policy {
        let list = { (column: String) in ListColumn.strings(row[column]) ?? [] }
        return Policy(id: row["id"], title: row["title"], body: row["body"], unit: row["unit"], industries: list("industries"),
                      regions: list("regions"), scales: list("scales"), validFrom: CalendarDate(row["valid_from"]) ?? CalendarDate(Date()),
                      validUntil: (row["valid_until"] as String?).flatMap(CalendarDate.init), benefit: row["benefit"],
                      createdAt: Timestamp(stored: row["created_at"]))
    }

    // MARK: Profiles

    static func setProfile(_ enterprise: String, _ p: EnterpriseProfile, at stamp: Timestamp, _ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO enterprise_profiles (enterprise, industry, region, scale, updated_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (enterprise) DO UPDATE SET industry = excluded.industry, region = excluded.region, scale = excluded.scale,
                updated_at = excluded.updated_at
            """, arguments: [enterprise, p.industry, p.region, p.scale, stamp.text])
    }

    static func profile(_ enterprise: String, _ db: Database) throws -> EnterpriseProfile? {
        try Row.fetchOne(db, sql: "SELECT * FROM enterprise_profiles WHERE enterprise = ?", arguments: [enterprise]).map {
            EnterpriseProfile(industry: $0["industry"], region: $0["region"], scale: $0["scale"])
        }
    }
}

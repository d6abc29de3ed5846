import Foundation
import GRDB

/// `policies`, their filter tags (`policy_tags`: industry, region and scale values, `*` for
/// "every"), the FTS5 index over title and body (`policies_fts`, external content, the
/// `trigram` tokenizer), and `enterprise_profiles`.
enum PolicyStore {
    static func owner(_ id: String, _ db: Database) throws -> String?? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT unit FROM policies WHERE id = ? AND withdrawn_at IS NULL"), arguments: [id])
            .map { $0["unit"] as String? }
    }

    /// Inserts or replaces a policy with its tags and index entry; true when new (or withdrawn before).
    static func upsert(_ p: Policy, _ db: Database) throws -> Bool {
        let json = { (values: [String]) in JSONValue.array(values.map(JSONValue.string)).canonicalString }
        var created = true
        if let old = try Row.fetchOne(db.cachedStatement(sql: "SELECT rowid, title, body, withdrawn_at FROM policies WHERE id = ?"), arguments: [p.id]) {
            created = old["withdrawn_at"] as String? != nil
            if !created { try unindex(rowid: old["rowid"], title: old["title"], body: old["body"], db) }
            try db.execute(sql: """
                UPDATE policies SET title = ?, body = ?, unit = ?, industries = ?, regions = ?, scales = ?, valid_from = ?, valid_until = ?,
                    benefit = ?, updated_at = ?, withdrawn_at = NULL WHERE id = ?
                """, arguments: [p.title, p.body, p.unit, json(p.industries), json(p.regions), json(p.scales), p.validFrom.text,
                                 p.validUntil?.text, p.benefit, p.createdAt.text, p.id])
        } else {
            try db.execute(sql: """
                INSERT INTO policies (id, title, body, unit, industries, regions, scales, valid_from, valid_until, benefit, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [p.id, p.title, p.body, p.unit, json(p.industries), json(p.regions), json(p.scales), p.validFrom.text,
                                 p.validUntil?.text, p.benefit, p.createdAt.text, p.createdAt.text])
        }
        guard let rowid = try Int64.fetchOne(db.cachedStatement(sql: "SELECT rowid FROM policies WHERE id = ?"), arguments: [p.id]) else {
            throw InternalError("a policy was not stored")
        }
        try db.execute(sql: "DELETE FROM policy_tags WHERE policy = ?", arguments: [rowid])
        for (kind, values) in [("industry", p.industries), ("region", p.regions), ("scale", p.scales)] {
            for value in values.isEmpty ? ["*"] : values {
                try db.cachedStatement(sql: "INSERT INTO policy_tags (kind, value, policy) VALUES (?, ?, ?)").execute(arguments: [kind, value, rowid])
            }
        }
        try db.cachedStatement(sql: "INSERT INTO policies_fts (rowid, title, body) VALUES (?, ?, ?)").execute(arguments: [rowid, p.title, p.body])
        return created
    }

    /// Takes a policy's old text out of the external-content index (FTS5 needs the old values).
    private static func unindex(rowid: Int64, title: String, body: String, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO policies_fts (policies_fts, rowid, title, body) VALUES ('delete', ?, ?, ?)")
            .execute(arguments: [rowid, title, body])
    }

    static func withdraw(_ id: String, at stamp: Timestamp, _ db: Database) throws {
        guard let old = try Row.fetchOne(db.cachedStatement(sql: "SELECT rowid, title, body FROM policies WHERE id = ? AND withdrawn_at IS NULL"),
                                         arguments: [id]) else { return }
        try unindex(rowid: old["rowid"], title: old["title"], body: old["body"], db)
        try db.execute(sql: "DELETE FROM policy_tags WHERE policy = ?", arguments: [old["rowid"] as Int64])
        try db.execute(sql: "UPDATE policies SET withdrawn_at = ? WHERE id = ?", arguments: [stamp.text, id])
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

    /// The filters as SQL over `p` (the policies row) and their arguments.
    private static func conditions(_ f: Filter) -> (sql: String, arguments: [(any DatabaseValueConvertible)?]) {
        var (sql, arguments) = ("p.withdrawn_at IS NULL", [(any DatabaseValueConvertible)?]())
        for (kind, values) in [("industry", f.industries), ("region", f.regions), ("scale", f.scale.map { [$0] } ?? [])] where !values.isEmpty {
            let marks = Array(repeating: "?", count: values.count + 1).joined(separator: ", ")
            sql += " AND EXISTS (SELECT 1 FROM policy_tags t WHERE t.kind = ? AND t.value IN (\(marks)) AND t.policy = p.rowid)"
            arguments += [kind] + values.map { $0 } + ["*"]
        }
        if let day = f.validOn {
            sql += " AND p.valid_from <= ? AND (p.valid_until IS NULL OR p.valid_until >= ?)"
            arguments += [day.text, day.text]
        }
        return (sql, arguments)
    }

    /// A page of hits, each with the cursor after it. Words of three characters or more go
    /// to the trigram index (every word must match, best bm25 first, title weighing ten
    /// times the body); a shorter word makes it a LIKE over title and body, newest first;
    /// no words, newest first.
    static func search(words: [String], filter: Filter, after: Cursor?, limit: Int, _ db: Database) throws -> [(hit: PolicyHit, cursor: Cursor)] {
        let (condition, filterArguments) = conditions(filter)
        if !words.isEmpty, words.allSatisfy({ $0.count >= 3 }) {
            let match = words.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }.joined(separator: " ")
            var arguments: [(any DatabaseValueConvertible)?] = [match] + filterArguments
            var page = ""
            if let after, let score = after.score {
                page = "WHERE score > ? OR (score = ? AND rid > ?)"
                arguments += [score, score, after.rowid]
            }
            // Rank every match, but draw snippets (which read the text again) for the page only.
            let ranked = try Row.fetchAll(db, sql: """
                SELECT rid, score FROM (
                    SELECT p.rowid AS rid, bm25(policies_fts, 10.0, 1.0) AS score
                    FROM policies_fts JOIN policies p ON p.rowid = policies_fts.rowid
                    WHERE policies_fts MATCH ? AND \(condition)
                ) \(page) ORDER BY score, rid LIMIT \(limit)
                """, arguments: StatementArguments(arguments.map { $0?.databaseValue ?? .null }))
            guard !ranked.isEmpty else { return [] }
            let ids = ranked.map { $0["rid"] as Int64 }
            let marks = Array(repeating: "?", count: ids.count).joined(separator: ", ")
            var pageArguments: [(any DatabaseValueConvertible)?] = [match]
            pageArguments += ids.map { $0 }
            let rows = try Row.fetchAll(db, sql: """
                SELECT p.*, p.rowid AS rid, snippet(policies_fts, -1, '<mark>', '</mark>', '…', 24) AS snip
                FROM policies_fts JOIN policies p ON p.rowid = policies_fts.rowid WHERE policies_fts MATCH ? AND policies_fts.rowid IN (\(marks))
                """, arguments: StatementArguments(pageArguments.map { $0?.databaseValue ?? .null }))
            let byRowid = Dictionary(rows.map { ($0["rid"] as Int64, $0) }, uniquingKeysWith: { first, _ in first })
            return ranked.compactMap { hit in
                byRowid[hit["rid"]].map { (PolicyHit(policy: policy($0), snippet: $0["snip"]), Cursor(score: hit["score"], rowid: hit["rid"])) }
            }
        }
        var sql = "SELECT p.*, p.rowid AS rid FROM policies p WHERE \(condition)"
        var arguments = filterArguments
        for word in words {
            let pattern = "%" + word.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                .replacingOccurrences(of: "_", with: "\\_") + "%"
            sql += " AND (p.title LIKE ? ESCAPE '\\' OR p.body LIKE ? ESCAPE '\\')"
            arguments += [pattern, pattern]
        }
        if let after {
            sql += " AND p.rowid < ?"
            arguments.append(after.rowid)
        }
        let rows = try Row.fetchAll(db, sql: sql + " ORDER BY p.rowid DESC LIMIT \(limit)",
                                    arguments: StatementArguments(arguments.map { $0?.databaseValue ?? .null }))
        return rows.map { row in
            let found = policy(row)
            return (PolicyHit(policy: found, snippet: words.first.flatMap { snippet(found.body, around: $0) }), Cursor(score: nil, rowid: row["rid"]))
        }
    }

    /// The LIKE path's snippet: up to 24 characters either side of the first hit, marked.
    static func snippet(_ text: String, around word: String) -> String? {
        guard let range = text.range(of: word) else { return nil }
        let start = text.index(range.lowerBound, offsetBy: -24, limitedBy: text.startIndex) ?? text.startIndex
        let end = text.index(range.upperBound, offsetBy: 24, limitedBy: text.endIndex) ?? text.endIndex
        return (start > text.startIndex ? "…" : "") + text[start..<range.lowerBound] + "<mark>" + text[range] + "</mark>"
            + text[range.upperBound..<end] + (end < text.endIndex ? "…" : "")
    }

    private static func policy(_ row: Row) -> Policy {
        let list = { (column: String) in (try? JSONDecoder().decode([String].self, from: Data((row[column] as String).utf8))) ?? [] }
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

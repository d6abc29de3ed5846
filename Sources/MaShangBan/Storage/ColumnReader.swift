import GRDB
import GRDBSQLite

/// Reads the rows of a cached SELECT by column index, straight from SQLite, for the queries
/// every scan and claim runs on the writer. GRDB's `Row` makes a dictionary of the
/// statement's lowercased column names for each fetch, and `fetchOne` then copies the row
/// with those names: for a one-row lookup that is more work than SQLite's own.
/// Only for SELECT statements: it bypasses GRDB's bookkeeping of what a statement changed.
struct ColumnReader {
    fileprivate let statement: Statement

    /// The value of column `index` (0-based). Throws when it cannot be read as `Value`,
    /// NULL included unless `Value` is an optional.
    func value<Value: StatementColumnConvertible>(_ index: Int32) throws -> Value {
        guard let value = Value.fromStatement(statement.sqliteStatement, atUncheckedIndex: index) else {
            throw DatabaseError(resultCode: .SQLITE_MISMATCH, message: "column \(index) is not a \(Value.self)", sql: statement.sql)
        }
        return value
    }

    /// Column `index`'s bytes (empty for NULL), valid only inside `body`.
    func withBytes<T>(_ index: Int32, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        let pointer = sqlite3_column_blob(statement.sqliteStatement, index)
        let count = Int(sqlite3_column_bytes(statement.sqliteStatement, index))
        return try body(UnsafeRawBufferPointer(start: pointer, count: pointer == nil ? 0 : count))
    }
}

extension Statement {
    /// The first row, read by `read`; nil when there is none.
    func firstRow<T>(_ arguments: StatementArguments, _ read: (ColumnReader) throws -> T) throws -> T? {
        try firstRow(bind: { statement in try statement.setArguments(arguments) }, read)
    }

    /// Every row, each read by `read`.
    func allRows<T>(_ arguments: StatementArguments, _ read: (ColumnReader) throws -> T) throws -> [T] {
        try allRows(bind: { statement in try statement.setArguments(arguments) }, read)
    }

    /// `firstRow` with the values bound one by one through SQLite's own functions
    /// (`ValueBinder`), not GRDB's argument array: building and binding that array was a
    /// fiftieth of a scan's CPU over its lookups. `bind` must bind every parameter, in order.
    func firstRow<T>(binding bind: (inout ValueBinder) -> Void, _ read: (ColumnReader) throws -> T) throws -> T? {
        try firstRow(bind: { statement in try statement.bindValues(bind) }, read)
    }

    /// `allRows` with the values bound as `firstRow(binding:)` binds them.
    func allRows<T>(binding bind: (inout ValueBinder) -> Void, _ read: (ColumnReader) throws -> T) throws -> [T] {
        try allRows(bind: { statement in try statement.bindValues(bind) }, read)
    }

    /// Resets the statement (one left mid-rows takes no new values) and binds through `bind`.
    private func bindValues(_ bind: (inout ValueBinder) -> Void) throws {
        sqlite3_reset(sqliteStatement)
        try bindEvery(bind)
    }

    private func firstRow<T>(bind: (Statement) throws -> Void, _ read: (ColumnReader) throws -> T) throws -> T? {
        var first: T?
        try forEachRow(bind: bind) { row in
            first = try read(row)
            return false
        }
        return first
    }

    private func allRows<T>(bind: (Statement) throws -> Void, _ read: (ColumnReader) throws -> T) throws -> [T] {
        var rows: [T] = []
        try forEachRow(bind: bind) { row in
            rows.append(try read(row))
            return true
        }
        return rows
    }

    /// Binds through `bind`, then calls `read` for each row until it returns false or the
    /// rows end. The statement is reset afterwards, whatever happens.
    private func forEachRow(bind: (Statement) throws -> Void, _ read: (ColumnReader) throws -> Bool) throws {
        guard isReadonly else {
            throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "ColumnReader reads SELECT statements only", sql: sql)
        }
        try bind(self)
        defer { sqlite3_reset(sqliteStatement) }
        let reader = ColumnReader(statement: self)
        while true {
            switch sqlite3_step(sqliteStatement) {
            case SQLITE_ROW:
                guard try read(reader) else { return }
            case SQLITE_DONE:
                return
            case let code:
                throw DatabaseError(resultCode: ResultCode(rawValue: code),
                                    message: String(cString: sqlite3_errmsg(sqlite3_db_handle(sqliteStatement))), sql: sql)
            }
        }
    }
}

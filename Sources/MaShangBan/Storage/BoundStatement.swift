import Foundation
import GRDB
import GRDBSQLite

extension Statement {
    /// Runs this (cached) statement with its values bound one by one through SQLite's own
    /// binding functions, in place of GRDB's argument array: for the inserts the writer runs
    /// for every licence imported, scan, code or consent, where building that array (a boxed
    /// value per column, then freeing it) was a tenth of the import's writer. SQLite copies
    /// each value; GRDB still runs the statement (`execute()`), so its transaction tracking
    /// and observers see it as any other. `bind` must bind every parameter, in order.
    func execute(binding bind: (inout ValueBinder) -> Void) throws {
        setUncheckedArguments(StatementArguments())  // GRDB's own bindings: none, and valid
        try bindEvery(bind)
        try execute()
    }

    /// Binds each parameter through `bind`; refuses a count that is not the statement's.
    func bindEvery(_ bind: (inout ValueBinder) -> Void) throws {
        var binder = ValueBinder(statement: sqliteStatement)
        bind(&binder)
        guard binder.next - 1 == sqlite3_bind_parameter_count(sqliteStatement) else {
            throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "bound \(binder.next - 1) values for its parameters", sql: sql)
        }
    }
}

/// Binds the next parameter of a statement, in order.
struct ValueBinder {
    let statement: SQLiteStatement
    private(set) var next: Int32 = 1

    init(statement: SQLiteStatement) { self.statement = statement }

    /// SQLite's "copy the value now" destructor.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    mutating func bind(_ value: String) {
        var value = value
        value.withUTF8 { text in
            if let base = text.baseAddress, !text.isEmpty {
                _ = base.withMemoryRebound(to: CChar.self, capacity: text.count) {
                    sqlite3_bind_text(statement, next, $0, Int32(text.count), Self.transient)
                }
            } else {
                _ = sqlite3_bind_text(statement, next, "", 0, Self.transient)  // not a null pointer: SQLite binds that as NULL
            }
        }
        next += 1
    }

    mutating func bind(_ value: String?) {
        if let value { bind(value) } else { bindNull() }
    }

    mutating func bind(_ value: Int64) {
        sqlite3_bind_int64(statement, next, value)
        next += 1
    }

    mutating func bind(_ value: some ContiguousBytes) {
        value.withUnsafeBytes { bytes in
            if let base = bytes.baseAddress, !bytes.isEmpty {
                _ = sqlite3_bind_blob(statement, next, base, Int32(bytes.count), Self.transient)
            } else {
                _ = sqlite3_bind_zeroblob(statement, next, 0)  // an empty blob, not NULL
            }
        }
        next += 1
    }

    mutating func bindNull() {
        sqlite3_bind_null(statement, next)
        next += 1
    }
}

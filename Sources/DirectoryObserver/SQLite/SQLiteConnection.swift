import CDirObsSQLite

/// One SQLite connection. It is not Sendable: the thread (or serial executor) that opened it is the
/// only one that uses it, and it is closed exactly once, by `close()` or in `deinit`.
public final class SQLiteConnection {
    /// How a connection opens its file.
    public enum Mode: Sendable {
        /// Read and write; the file must exist.
        case readWrite
        /// Read and write; the file is created when missing.
        case readWriteCreate
        /// Read only; the file must exist. Never writes, never changes the journal mode.
        case readOnly
    }

    private var handle: OpaquePointer?
    /// Where the write-ahead-log hook stores the log's frame count (see `takeOverCheckpoints()`).
    var logFrames: UnsafeMutablePointer<Int32>?
    /// The path the connection was opened with.
    public let path: String
    /// How long a statement waits for another connection's lock before it fails with `SQLITE_BUSY`.
    public private(set) var busyTimeoutMilliseconds: Int32

    /// How long a statement waits for another connection's lock unless told otherwise.
    public static let defaultBusyTimeoutMilliseconds: Int32 = 5_000

    /// Opens `path`. The handle is closed again when opening fails.
    public init(path: String, mode: Mode, busyTimeoutMilliseconds: Int32 = defaultBusyTimeoutMilliseconds)
        throws(SQLiteError)
    {
        var flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        switch mode {
        case .readWrite: flags |= SQLITE_OPEN_READWRITE
        case .readWriteCreate: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
        case .readOnly: flags |= SQLITE_OPEN_READONLY
        }
        var db: OpaquePointer?
        let code = sqlite3_open_v2(path, &db, flags, nil)
        guard code == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_close_v2(db)
            throw SQLiteError(code: code, message: message)
        }
        self.handle = db
        self.path = path
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
        sqlite3_busy_timeout(db, busyTimeoutMilliseconds)
    }

    deinit {
        if let handle { sqlite3_close_v2(handle) }
        logFrames?.deallocate()
    }

    /// Closes the connection; statements prepared on it must be gone first.
    public func close() throws(SQLiteError) {
        guard let handle else { return }
        let code = sqlite3_close(handle)
        guard code == SQLITE_OK else {
            throw SQLiteError(code: code, message: String(cString: sqlite3_errmsg(handle)))
        }
        self.handle = nil
        logFrames?.deallocate()
        logFrames = nil
    }

    var db: OpaquePointer {
        // Unreachable from outside input: only a connection's owner closes it, as the last thing it does
        // with it (the writer and forwarder threads on their way out, a command before it exits), and
        // nothing else holds a non-Sendable connection. A use after that is a bug in this package.
        guard let handle else { preconditionFailure("SQLite connection used after close()") }
        return handle
    }

    /// Prepares a statement; keep it and reuse it for statements on the hot path.
    public func prepare(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        try SQLiteStatement(database: db, sql: sql)
    }

    /// Runs one or more statements that return no rows.
    public func execute(_ sql: String) throws(SQLiteError) {
        var message: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(db, sql, nil, nil, &message)
        guard code == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(db))
            sqlite3_free(message)
            throw SQLiteError(code: sqlite3_extended_errcode(db), message: text, sql: sql)
        }
    }

    /// Runs a query and returns the first column of its first row (nil when there is no row).
    public func scalar(_ sql: String, _ values: [SQLiteValue] = []) throws(SQLiteError) -> SQLiteValue? {
        let statement = try prepare(sql)
        try statement.bind(values)
        return try statement.step() ? statement.value(0) : nil
    }

    /// The first column of the first row as an integer (0 when there is no row or it is NULL).
    public func integer(_ sql: String, _ values: [SQLiteValue] = []) throws(SQLiteError) -> Int64 {
        if case .integer(let value) = try scalar(sql, values) { return value }
        return 0
    }

    /// Runs `body` inside `BEGIN IMMEDIATE … COMMIT`; an error thrown by `body` or by the commit rolls back
    /// and is rethrown. The body fails only with SQLite errors, so a caller's `catch` is exhaustive. Never
    /// hold a transaction across an `await`: `body` is synchronous for that reason.
    public func transaction<T>(_ body: () throws(SQLiteError) -> T) throws(SQLiteError) -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            if sqlite3_get_autocommit(db) == 0 {
                try? execute("ROLLBACK")
            }
            throw error
        }
    }

    /// The rowid of the last row inserted on this connection.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(db) }

    /// The number of rows the last INSERT, UPDATE or DELETE changed.
    public var changes: Int { Int(sqlite3_changes(db)) }

    /// True when the main database was opened read-only (asked for, or because the file cannot be
    /// written: SQLite then falls back to read-only silently).
    public var isReadOnly: Bool { sqlite3_db_readonly(db, "main") == 1 }

    /// True while a transaction is open.
    public var isInTransaction: Bool { sqlite3_get_autocommit(db) == 0 }

    /// Sets how long a statement waits for another connection's lock before it fails with `SQLITE_BUSY`.
    public func setBusyTimeout(milliseconds: Int32) {
        sqlite3_busy_timeout(db, milliseconds)
        busyTimeoutMilliseconds = milliseconds
    }

    /// Runs `body` with a busy timeout of 0 (another connection's lock fails it at once), then puts the
    /// connection's own timeout back.
    func withoutWaitingForLocks<T>(_ body: () -> T) -> T {
        let own = busyTimeoutMilliseconds
        setBusyTimeout(milliseconds: 0)
        defer { setBusyTimeout(milliseconds: own) }
        return body()
    }

    /// `sqlite3_wal_checkpoint_v2` on the main database; returns SQLite's result code.
    func checkpoint(mode: Int32) -> Int32 {
        sqlite3_wal_checkpoint_v2(db, "main", mode, nil, nil)
    }

    /// `sqlite3_file_control` on the main database (see `SQLiteConnection+File.swift`).
    func fileControl(_ operation: Int32, _ argument: UnsafeMutableRawPointer) -> Int32 {
        sqlite3_file_control(db, "main", operation, argument)
    }
}

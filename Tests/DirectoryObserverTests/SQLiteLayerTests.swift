import CDirObsSQLite
import DirectoryObserver
import Foundation
import Testing

/// The SQLite layer (`SQLiteConnection`, `SQLiteStatement`, `SQLiteError`, `SQLiteValue`) on real
/// database files, each test in its own temporary directory.
@Suite("SQLite layer on real files")
struct SQLiteLayerTests {
    /// A fresh directory for one test, removed when the test's value goes away.
    final class Scratch {
        let path: String

        init() throws {
            path =
                FileManager.default.temporaryDirectory
                .appendingPathComponent("dirobs-sqlite-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        }

        deinit {
            try? FileManager.default.removeItem(atPath: path)
        }

        var database: String { path + "/test.sqlite3" }
    }

    let scratch: Scratch

    // Extended result codes; Swift cannot import these `(SQLITE_CONSTRAINT | (n<<8))` macros.
    static let constraintNotNull = SQLITE_CONSTRAINT | (5 << 8)  // 1299
    static let constraintPrimaryKey = SQLITE_CONSTRAINT | (6 << 8)  // 1555
    static let constraintUnique = SQLITE_CONSTRAINT | (8 << 8)  // 2067

    init() throws {
        scratch = try Scratch()
    }

    /// A read-write connection on the test's database with table `t(id INTEGER PRIMARY KEY, v ANY)`.
    func openWithTable() throws -> SQLiteConnection {
        let connection = try SQLiteConnection(path: scratch.database, mode: .readWriteCreate)
        try connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v ANY) STRICT")
        return connection
    }

    // MARK: - Round trips

    static let roundTripValues: [SQLiteValue] = [
        .integer(0), .integer(Int64.min), .integer(Int64.max), .integer(-1),
        .real(0.1), .real(-1.5e300), .real(Double.leastNonzeroMagnitude), .real(.infinity),
        .text(""), .text("plain ascii"), .text("Grüße, 日本語, emoji 🧪, \u{202E} right-to-left"), .text("nul\u{0}inside"),
        .null,
        .blob([]), .blob([0x00]), .blob([0x00, 0x01, 0x00]), .blob([0xFF, 0xFE, 0xC3, 0x28, 0x80]),
        .blob((0...255).map { UInt8($0) }),
    ]

    @Test("every kind of value round-trips unchanged through a file", arguments: roundTripValues)
    func roundTrip(value: SQLiteValue) throws {
        do {
            let connection = try openWithTable()
            try connection.prepare("INSERT INTO t (id, v) VALUES (1, ?)").run([value])
        }
        // A new connection reads what reached the file, not a cache of the writer.
        let reader = try SQLiteConnection(path: scratch.database, mode: .readOnly)
        let statement = try reader.prepare("SELECT v, typeof(v), length(v) FROM t WHERE id = 1")
        #expect(try statement.step())
        #expect(statement.value(0) == value)
        let expectedType: String =
            switch value {
            case .null: "null"
            case .integer: "integer"
            case .real: "real"
            case .text: "text"
            case .blob: "blob"
            }
        #expect(statement.text(1) == expectedType)
        if case .blob(let bytes) = value {
            #expect(statement.blob(0) == bytes)
            #expect(statement.int64(2) == Int64(bytes.count))
        }
        #expect(try !statement.step())
    }

    @Test("typed binds and typed column reads agree, NULL included")
    func typedAccessors() throws {
        let connection = try openWithTable()
        try connection.execute("CREATE TABLE typed (i INTEGER, d REAL, s TEXT, b BLOB)")
        let insert = try connection.prepare("INSERT INTO typed VALUES (?, ?, ?, ?)")
        try insert.bind(Int64.min, at: 1)
        try insert.bind(2.5, at: 2)
        try insert.bind("naïve", at: 3)
        try insert.bind([0xFF, 0x00] as [UInt8], at: 4)
        try insert.step()
        insert.reset()
        try insert.bind(nil as Int64?, at: 1)
        try insert.bind(nil as Double?, at: 2)
        try insert.bind(nil as String?, at: 3)
        try insert.bindNull(at: 4)
        try insert.step()

        let select = try connection.prepare("SELECT i, d, s, b FROM typed ORDER BY rowid")
        #expect(try select.step())
        #expect(select.int64(0) == Int64.min)
        #expect(select.double(1) == 2.5)
        #expect(select.text(2) == "naïve")
        #expect(select.blob(3) == [0xFF, 0x00])
        #expect(try select.step())
        #expect(select.optionalInt64(0) == nil)
        #expect(select.optionalDouble(1) == nil)
        #expect(select.optionalText(2) == nil)
        #expect(select.isNull(3))
        #expect(try !select.step())
    }

    // MARK: - Statements

    @Test("a prepared statement is reused after reset, with fresh bindings each time")
    func statementReuse() throws {
        let connection = try openWithTable()
        let insert = try connection.prepare("INSERT INTO t (id, v) VALUES (?, ?)")
        for id in 1...100 {
            try insert.run([.integer(Int64(id)), .text("row \(id)")])
        }
        #expect(try connection.integer("SELECT count(*) FROM t") == 100)

        let select = try connection.prepare("SELECT v FROM t WHERE id = ?")
        for id in [7, 42, 100] {
            try select.bind([.integer(Int64(id))])
            #expect(try select.step())
            #expect(select.text(0) == "row \(id)")
            select.reset()
        }
        // reset() also clears the bindings: an unbound parameter is NULL and matches nothing.
        #expect(try !select.step())
    }

    @Test("stepping a reset statement starts the query again from the first row")
    func resetRestartsQuery() throws {
        let connection = try openWithTable()
        let insert = try connection.prepare("INSERT INTO t (id, v) VALUES (?, 'x')")
        for id in 1...3 { try insert.run([.integer(Int64(id))]) }
        let select = try connection.prepare("SELECT id FROM t ORDER BY id")
        #expect(try select.step())
        #expect(try select.step())
        #expect(select.int64(0) == 2)
        select.reset()
        #expect(try select.step())
        #expect(select.int64(0) == 1)
    }

    @Test("lastInsertRowID and changes report the last write")
    func rowIDAndChanges() throws {
        let connection = try openWithTable()
        try connection.prepare("INSERT INTO t (v) VALUES ('a'), ('b'), ('c')").run()
        #expect(connection.lastInsertRowID == 3)
        try connection.execute("UPDATE t SET v = 'z' WHERE id >= 2")
        #expect(connection.changes == 2)
    }

    // MARK: - Transactions

    @Test("a transaction commits what its body wrote and returns its value")
    func transactionCommits() throws {
        let connection = try openWithTable()
        let returned = try connection.transaction { () throws(SQLiteError) in
            #expect(connection.isInTransaction)
            try connection.prepare("INSERT INTO t (id, v) VALUES (1, 'kept')").run()
            return 42
        }
        #expect(returned == 42)
        #expect(!connection.isInTransaction)
        let other = try SQLiteConnection(path: scratch.database, mode: .readOnly)
        #expect(try other.scalar("SELECT v FROM t WHERE id = 1") == .text("kept"))
    }

    @Test("an error thrown in a transaction rolls it back, is rethrown, and leaves the connection usable")
    func transactionRollsBack() throws {
        let connection = try openWithTable()
        let abort = SQLiteError(code: 4, message: "aborted by the test")
        #expect(throws: abort) {
            try connection.transaction { () throws(SQLiteError) in
                try connection.prepare("INSERT INTO t (id, v) VALUES (1, 'lost')").run()
                #expect(try connection.integer("SELECT count(*) FROM t") == 1)
                throw abort
            }
        }
        #expect(!connection.isInTransaction)
        #expect(try connection.integer("SELECT count(*) FROM t") == 0)

        try connection.transaction { () throws(SQLiteError) in
            try connection.prepare("INSERT INTO t (id, v) VALUES (2, 'next')").run()
        }
        #expect(try connection.scalar("SELECT v FROM t WHERE id = 2") == .text("next"))
    }

    @Test("a constraint violation inside a transaction rolls back the rows written before it")
    func constraintInTransactionRollsBack() throws {
        let connection = try openWithTable()
        let error = try #require(throws: SQLiteError.self) {
            try connection.transaction { () throws(SQLiteError) in
                let insert = try connection.prepare("INSERT INTO t (id, v) VALUES (?, 'x')")
                try insert.run([.integer(1)])
                try insert.run([.integer(1)])
            }
        }
        #expect(error.code == Self.constraintPrimaryKey)
        #expect(try connection.integer("SELECT count(*) FROM t") == 0)
        #expect(!connection.isInTransaction)
    }

    // MARK: - Errors

    @Test("a syntax error carries its code, SQLite's message and the SQL")
    func syntaxError() throws {
        let connection = try openWithTable()
        let error = try #require(throws: SQLiteError.self) { try connection.prepare("SELEC id FROM t") }
        #expect(error.code == SQLITE_ERROR)
        #expect(error.sql == "SELEC id FROM t")
        #expect(error.message.contains("syntax error"))
        #expect(error.description.contains("SQLite error 1"))
        #expect(error.description.contains("syntax error"))
        #expect(error.description.contains("SELEC id FROM t"))

        let viaExecute = try #require(throws: SQLiteError.self) { try connection.execute("CREATE TABEL x (y)") }
        #expect(viaExecute.code == SQLITE_ERROR)
        #expect(viaExecute.description.contains("CREATE TABEL x (y)"))
    }

    @Test("a constraint violation carries the extended code and the SQL, but not the bound values")
    func constraintViolation() throws {
        let connection = try openWithTable()
        try connection.execute("CREATE TABLE u (name TEXT NOT NULL UNIQUE)")
        let insert = try connection.prepare("INSERT INTO u (name) VALUES (?)")
        try insert.run([.text("secret-file-name")])
        let error = try #require(throws: SQLiteError.self) { try insert.run([.text("secret-file-name")]) }
        #expect(error.code == Self.constraintUnique)
        #expect(error.primaryCode == SQLITE_CONSTRAINT)
        #expect(error.message.contains("UNIQUE constraint failed: u.name"))
        #expect(error.description.contains("INSERT INTO u (name) VALUES (?)"))
        #expect(error.description.contains("2067"))
        #expect(!error.description.contains("secret-file-name"))
        #expect(!error.description.contains("\n"))

        let nullError = try #require(throws: SQLiteError.self) { try insert.run([.null]) }
        #expect(nullError.code == Self.constraintNotNull)
        // The statement was reset by run(): it still works.
        try insert.run([.text("another")])
        #expect(try connection.integer("SELECT count(*) FROM u") == 2)
    }

    @Test("a STRICT column rejects a value of the wrong type")
    func strictTypeMismatch() throws {
        let connection = try openWithTable()
        try connection.execute("CREATE TABLE n (x INTEGER) STRICT")
        let error = try #require(throws: SQLiteError.self) {
            try connection.prepare("INSERT INTO n VALUES (?)").run([.text("not a number")])
        }
        #expect(error.primaryCode == SQLITE_CONSTRAINT)
    }

    @Test("binding past the last parameter is a range error")
    func bindOutOfRange() throws {
        let connection = try openWithTable()
        let statement = try connection.prepare("SELECT ?")
        let error = try #require(throws: SQLiteError.self) { try statement.bind([.integer(1), .integer(2)]) }
        #expect(error.code == SQLITE_RANGE)
    }

    // MARK: - Opening modes

    @Test("a read-only connection reads but cannot write")
    func readOnlyCannotWrite() throws {
        do {
            let writer = try openWithTable()
            try writer.execute("INSERT INTO t (id, v) VALUES (1, 'existing')")
        }
        let reader = try SQLiteConnection(path: scratch.database, mode: .readOnly)
        #expect(try reader.scalar("SELECT v FROM t WHERE id = 1") == .text("existing"))
        let error = try #require(throws: SQLiteError.self) {
            try reader.execute("INSERT INTO t (id, v) VALUES (2, 'refused')")
        }
        #expect(error.primaryCode == SQLITE_READONLY)
        let viaStatement = try #require(throws: SQLiteError.self) {
            try reader.prepare("DELETE FROM t").run()
        }
        #expect(viaStatement.primaryCode == SQLITE_READONLY)
        #expect(try reader.integer("SELECT count(*) FROM t") == 1)
    }

    @Test("opening a missing file read-only fails and creates nothing")
    func missingFileReadOnly() throws {
        let path = scratch.path + "/missing.sqlite3"
        let error = try #require(throws: SQLiteError.self) { try SQLiteConnection(path: path, mode: .readOnly) }
        #expect(error.primaryCode == SQLITE_CANTOPEN)
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(throws: SQLiteError.self) { try SQLiteConnection(path: path, mode: .readWrite) }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test("a file that is not a database is reported as such")
    func notADatabase() throws {
        let path = scratch.path + "/garbage.sqlite3"
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: path))
        let connection = try SQLiteConnection(path: path, mode: .readWrite)
        let error = try #require(throws: SQLiteError.self) { try connection.execute("SELECT * FROM sqlite_master") }
        #expect(error.isNotADatabase)
    }

    @Test("close succeeds once statements are gone, and is idempotent")
    func closeConnection() throws {
        let connection = try openWithTable()
        do {
            let statement = try connection.prepare("SELECT 1")
            #expect(try statement.step())
        }
        try connection.close()
        try connection.close()
    }

    // MARK: - Locking

    @Test("a second writer waits out the busy timeout and then gets SQLITE_BUSY")
    func busyBetweenConnections() throws {
        let first = try openWithTable()
        let second = try SQLiteConnection(path: scratch.database, mode: .readWrite, busyTimeoutMilliseconds: 200)
        try first.execute("BEGIN IMMEDIATE")
        let started = ContinuousClock.now
        let error = try #require(throws: SQLiteError.self) {
            try second.transaction { () throws(SQLiteError) in try second.execute("INSERT INTO t (id, v) VALUES (1, 'blocked')") }
        }
        let waited = ContinuousClock.now - started
        #expect(error.isBusy)
        #expect(waited >= .milliseconds(150), "waited \(waited)")
        #expect(!second.isInTransaction)

        try first.execute("COMMIT")
        try second.transaction { () throws(SQLiteError) in try second.execute("INSERT INTO t (id, v) VALUES (1, 'after')") }
        #expect(try first.scalar("SELECT v FROM t WHERE id = 1") == .text("after"))
    }

    // MARK: - Checkpoints

    @Test("a connection that takes over checkpoints lets the log grow past 1,000 frames until it checkpoints")
    func checkpointsTakenOver() throws {
        let connection = try openWithTable()
        try connection.execute("PRAGMA journal_mode=WAL")
        connection.takeOverCheckpoints()
        let insert = try connection.prepare("INSERT INTO t (id, v) VALUES (?, ?)")
        let filler = String(repeating: "x", count: 3_000)
        // About a page per row, a commit per row: SQLite's own checkpoint would have run at 1,000 frames.
        for id in 1...1_200 {
            try connection.transaction { () throws(SQLiteError) in try insert.run([.integer(Int64(id)), .text(filler)]) }
        }
        #expect(connection.writeAheadLogFrames > 1_000)
        #expect(connection.checkpointPassively())
        #expect(connection.writeAheadLogFrames == 0)
        // The next commit starts the log over from its beginning.
        try connection.transaction { () throws(SQLiteError) in try insert.run([.integer(5_000), .text("after")]) }
        #expect((1...10).contains(connection.writeAheadLogFrames))
    }

    @Test("the log starts over right after a complete checkpoint, unless a reader still uses it or a writer holds the lock")
    func logStartedOverAfterCheckpoint() throws {
        let connection = try openWithTable()
        try connection.execute("PRAGMA journal_mode=WAL")
        connection.takeOverCheckpoints()
        let applicationID: Int32 = 0x1234
        try connection.execute("PRAGMA application_id = \(applicationID)")
        let insert = try connection.prepare("INSERT INTO t (id, v) VALUES (?, ?)")
        for id in 1...20 {
            try connection.transaction { () throws(SQLiteError) in try insert.run([.integer(Int64(id)), .text("row")]) }
        }
        let reader = try SQLiteConnection(path: scratch.database, mode: .readOnly)
        try reader.execute("BEGIN")
        #expect(try reader.scalar("SELECT count(*) FROM t") == .integer(20))

        // The reader's snapshot holds every frame, so the checkpoint copies them all, but the log cannot
        // start over under it: the write goes at the log's end.
        #expect(connection.checkpointPassively())
        #expect(!connection.startWriteAheadLogOver(applicationID: applicationID))
        #expect(connection.writeAheadLogFrames > 1)
        try reader.execute("COMMIT")

        // Another writer's lock: no wait (a wait would last the minute the connection is set to), no
        // restart, and the busy timeout comes back.
        let other = try SQLiteConnection(path: scratch.database, mode: .readWrite)
        try other.execute("BEGIN IMMEDIATE")
        #expect(connection.checkpointPassively())
        connection.setBusyTimeout(milliseconds: 60_000)
        let started = ContinuousClock.now
        #expect(!connection.startWriteAheadLogOver(applicationID: applicationID))
        #expect(ContinuousClock.now - started < .seconds(30))
        #expect(try connection.scalar("PRAGMA busy_timeout") == .integer(60_000), "the busy timeout was not restored")
        try other.execute("ROLLBACK")

        // Nobody in the way: the log holds just the rewritten header now, and the file is unchanged.
        #expect(connection.checkpointPassively())
        #expect(connection.startWriteAheadLogOver(applicationID: applicationID))
        #expect(connection.writeAheadLogFrames == 1)
        #expect(try connection.scalar("PRAGMA application_id") == .integer(Int64(applicationID)))
        try connection.transaction { () throws(SQLiteError) in try insert.run([.integer(21), .text("after")]) }
        #expect(connection.writeAheadLogFrames == 2)
        #expect(try reader.scalar("SELECT count(*) FROM t") == .integer(21))
    }
}

import CDirObsSQLite
import Foundation
import Glibc

/// Opens outbox files. It refuses, without changing a byte, anything it cannot read as an outbox: a
/// non-SQLite file, another application's database, a newer schema, a failed integrity check. A new
/// outbox is built under a temporary name and renamed into place, so a crash during creation never
/// leaves a half-made file at the path.
public enum OutboxFile {
    /// How a caller wants the file.
    public enum Access: Sendable {
        /// The daemon: create the file when missing, migrate it, check its integrity.
        case daemon
        /// `drain`, `purge`, `replay`: read-write, never create, never migrate.
        case modify
        /// Inspection: read-only, never create.
        case inspect
    }

    /// The SQLite file header every database starts with.
    private static let sqliteMagic = Array("SQLite format 3\0".utf8)

    /// Opens (and for the daemon, creates or migrates) the outbox at `path`. `upgrading` is told the
    /// schema versions before an existing outbox is migrated (an upgrade may copy every event).
    ///
    /// The file's header is read through the descriptor SQLite opened, never through one of our own: a
    /// process that holds SQLite connections on the outbox (the daemon has two) must not open and close
    /// another descriptor of it, or the kernel drops every POSIX lock the process holds on the file and
    /// another process may then checkpoint and delete the write-ahead log under the daemon. A file opened
    /// read-write is put in WAL mode (a restored copy may come in rollback-journal mode, where readers
    /// block the writer) once it has passed every check.
    public static func open(
        path: String, access: Access, sync: OutboxSettings.Sync = .full,
        upgrading: (_ from: Int, _ to: Int) -> Void = { _, _ in }
    ) throws(OutboxError) -> SQLiteConnection {
        if !FileManager.default.fileExists(atPath: path) {
            guard case .daemon = access else { throw OutboxError(path: path, reason: .missing) }
            try create(path: path)
        }
        try checkRegularFile(path: path)
        let connection = try sqlite(path) { () throws(SQLiteError) in
            try SQLiteConnection(path: path, mode: access == .inspect ? .readOnly : .readWrite)
        }
        try checkHeader(try sqlite(path) { () throws(SQLiteError) in try connection.readFileHeader() }, path: path)
        if access != .inspect && connection.isReadOnly {
            throw OutboxError(path: path, reason: .notWritable("the file"))
        }
        try checkVersion(connection, path: path, migrate: access == .daemon, upgrading: upgrading)
        if access == .daemon,
            let problem = try sqlite(path, { () throws(SQLiteError) in try quickCheckProblem(connection) })
        {
            throw OutboxError(path: path, reason: .integrity(problem))
        }
        if access != .inspect {
            try useWriteAheadLog(connection, path: path)
            try sqlite(path) { () throws(SQLiteError) in
                try connection.execute("PRAGMA synchronous=\(sync == .full ? "FULL" : "NORMAL")")
            }
        }
        return connection
    }

    /// Runs `body` and names the outbox in its error: a file SQLite cannot read as a database is not an
    /// outbox; any other SQLite failure is reported as such.
    private static func sqlite<T>(_ path: String, _ body: () throws(SQLiteError) -> T) throws(OutboxError) -> T {
        do {
            return try body()
        } catch {
            throw OutboxError(path: path, reason: error.isNotADatabase ? .notSQLite : .sqlite(error))
        }
    }

    /// The outbox's UUID, given to it when it was created.
    public static func uuid(of connection: SQLiteConnection) throws(SQLiteError) -> String {
        guard case .text(let uuid) = try connection.scalar("SELECT value FROM outbox_meta WHERE key = 'uuid'") else {
            throw SQLiteError(code: SQLITE_CORRUPT, message: "outbox_meta has no uuid")
        }
        return uuid
    }

    /// The schema version recorded in the file.
    public static func schemaVersion(of connection: SQLiteConnection) throws(SQLiteError) -> Int {
        Int(try connection.integer("PRAGMA user_version"))
    }

    // MARK: - Checks that read without writing

    /// Refuses a path that is a directory or another non-regular file (`stat` opens no descriptor).
    private static func checkRegularFile(path: String) throws(OutboxError) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw OutboxError(path: path, reason: .system(SystemError(call: "stat", errno: errno)))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw OutboxError(path: path, reason: .notAFile) }
    }

    /// Checks the first 100 bytes of the file: an SQLite header whose application_id is ours.
    private static func checkHeader(_ header: [UInt8], path: String) throws(OutboxError) {
        guard header.count == 100, Array(header[0..<16]) == sqliteMagic else {
            throw OutboxError(path: path, reason: .notSQLite)
        }
        let applicationID = header[68..<72].reduce(Int32(0)) { ($0 << 8) | Int32($1) }
        guard applicationID == Migrations.applicationID else {
            throw OutboxError(path: path, reason: .foreignDatabase(applicationID: applicationID))
        }
        // The header holds user_version too. Refusing a newer schema here, before any query, leaves
        // nothing beside the file: a read-only connection would create a -wal and a -shm and keep them.
        // (A version still in the WAL is caught by `checkVersion` once the file is read.)
        let version = header[60..<64].reduce(Int32(0)) { ($0 << 8) | Int32($1) }
        guard version <= Migrations.latestVersion else {
            throw OutboxError(
                path: path, reason: .newerSchema(found: Int(version), known: Migrations.latestVersion))
        }
    }

    /// The largest the write-ahead log stays once a checkpoint has copied it back: SQLite truncates it to
    /// this size when it starts over, so an outage's backlog does not leave a log of its size behind.
    public static let journalSizeLimit = 1 << 20

    /// Puts the file in WAL mode when it is not (a restored `VACUUM INTO` copy comes in rollback-journal
    /// mode) and caps the log's size.
    private static func useWriteAheadLog(_ connection: SQLiteConnection, path: String) throws(OutboxError) {
        let (was, now) = try sqlite(path) { () throws(SQLiteError) -> (SQLiteValue?, SQLiteValue?) in
            try connection.execute("PRAGMA journal_size_limit=\(journalSizeLimit)")
            let was = try connection.scalar("PRAGMA journal_mode")
            guard case .text(let mode) = was, mode.lowercased() != "wal" else { return (was, was) }
            return (was, try connection.scalar("PRAGMA journal_mode=WAL"))
        }
        guard case .text(let mode) = now, mode.lowercased() != "wal" else { return }
        let previous: String
        if case .text(let text) = was { previous = text } else { previous = "unknown" }
        throw OutboxError(
            path: path,
            reason: .refused("cannot switch from journal mode \(previous) to WAL (another process has the file open?)"))
    }

    /// The first problem `PRAGMA quick_check` reports, on one line, or nil when it answers `ok`. SQLite
    /// may pack several lines into its first row, starting with `*** in database main ***`.
    private static func quickCheckProblem(_ connection: SQLiteConnection) throws(SQLiteError) -> String? {
        let report = try connection.scalar("PRAGMA quick_check")
        guard case .text(let text) = report else { return "no report (\(report.map { "\($0)" } ?? "no row"))" }
        if text == "ok" { return nil }
        let lines = text.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("*** in database") }
        return String(lines.first ?? Substring(text))
    }

    private static func checkVersion(
        _ connection: SQLiteConnection, path: String, migrate: Bool, upgrading: (Int, Int) -> Void
    ) throws(OutboxError) {
        let version = try sqlite(path) { () throws(SQLiteError) in try schemaVersion(of: connection) }
        guard version <= Migrations.latestVersion else {
            throw OutboxError(path: path, reason: .newerSchema(found: version, known: Migrations.latestVersion))
        }
        guard version < Migrations.latestVersion else { return }
        // The commands that run beside a daemon read this binary's schema only: a daemon of the older
        // version may still hold the file, and only the daemon (or drain) that holds it may upgrade it.
        guard migrate else {
            throw OutboxError(path: path, reason: .olderSchema(found: version, known: Migrations.latestVersion))
        }
        upgrading(version, Migrations.latestVersion)
        try sqlite(path) { () throws(SQLiteError) in
            try connection.transaction { () throws(SQLiteError) in
                try apply(Migrations.steps.filter { $0.version > version }, to: connection)
            }
        }
    }

    /// Runs migrations in order and records the last one in `user_version`; the caller holds the
    /// transaction.
    private static func apply(_ steps: [Migrations.Step], to connection: SQLiteConnection) throws(SQLiteError) {
        for step in steps {
            try connection.execute(step.sql)
            try connection.execute("PRAGMA user_version = \(step.version)")
        }
    }

    // MARK: - Creation

    /// The directory that holds the outbox at `path` ("." for a bare file name).
    static func directory(of path: String) -> String {
        let directory = (path as NSString).deletingLastPathComponent
        return directory.isEmpty ? "." : directory
    }

    /// Removes what a creation killed midway left beside `path` (`<name>.creating-<pid>` and its `-wal`,
    /// `-shm` or `-journal`) once that process is gone. A creation still running elsewhere is left alone.
    private static func removeStaleCreations(of path: String) {
        let directory = directory(of: path)
        let prefix = (path as NSString).lastPathComponent + ".creating-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            let suffix = rest.dropFirst(digits.count)
            guard let pid = pid_t(digits), ["", "-wal", "-shm", "-journal"].contains(suffix) else { continue }
            guard kill(pid, 0) == -1 && errno == ESRCH else { continue }
            unlink(directory + "/" + name)
        }
    }

    private static func create(path: String) throws(OutboxError) {
        let directory = directory(of: path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw OutboxError(path: path, reason: .directoryMissing(directory))
        }
        guard access(directory, W_OK) == 0 else {
            throw OutboxError(path: path, reason: .notWritable("directory \(directory)"))
        }
        removeStaleCreations(of: path)
        let temporary = path + ".creating-\(getpid())"
        unlink(temporary)
        unlink(temporary + "-wal")
        unlink(temporary + "-shm")
        do {
            let connection = try SQLiteConnection(path: temporary, mode: .readWriteCreate)
            try connection.transaction { () throws(SQLiteError) in
                try connection.execute("PRAGMA application_id = \(Migrations.applicationID)")
                try apply(Migrations.steps, to: connection)
                let insert = try connection.prepare("INSERT INTO outbox_meta (key, value) VALUES (?, ?)")
                try insert.run([.text("uuid"), .text(UUID().uuidString.lowercased())])
                try insert.run([.text("created_at"), .real(Clock.now())])
            }
            // WAL is a property of the file: set once here, before the file is visible at its path.
            try connection.execute("PRAGMA journal_mode=WAL")
            try connection.close()
        } catch {
            unlink(temporary)
            throw OutboxError(path: path, reason: .sqlite(error))
        }
        let fd = Glibc.open(temporary, O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
        guard rename(temporary, path) == 0 else {
            let error = SystemError(call: "rename", errno: errno)
            unlink(temporary)
            throw OutboxError(path: path, reason: .system(error))
        }
        let directoryFD = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            fsync(directoryFD)
            close(directoryFD)
        }
    }
}

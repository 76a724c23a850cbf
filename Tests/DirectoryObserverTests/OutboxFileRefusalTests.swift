import DirectoryObserver
import Foundation
import Glibc
import Testing

@Suite("Outbox files that are refused")
struct OutboxFileRefusalTests {
    /// This test's own directory (a suite instance per test), removed when the test ends.
    private let directory = TemporaryDirectory()

    static let accesses: [OutboxFile.Access] = [.daemon, .modify, .inspect]

    /// Opens `path`, expects the refusal `reason`, and checks that the file's bytes did not change and that
    /// nothing (no -wal, -shm or temporary file) was left beside it.
    private func expectRefusal(
        _ path: String, access: OutboxFile.Access, reason: OutboxError.Reason, in directory: TemporaryDirectory,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let before = contents(of: path)
        let namesBefore = directory.names()
        #expect(throws: OutboxError(path: path, reason: reason), sourceLocation: sourceLocation) {
            try OutboxFile.open(path: path, access: access)
        }
        #expect(contents(of: path) == before, "the file's bytes changed", sourceLocation: sourceLocation)
        #expect(directory.names() == namesBefore, "files appeared beside it", sourceLocation: sourceLocation)
    }

    @Test("a text file is refused and left untouched", arguments: accesses)
    func textFile(access: OutboxFile.Access) throws {
        let path = directory.file("outbox.sqlite3")
        try Data("[stage1]\ndirectory=/data\n".utf8 + [UInt8](repeating: 0x41, count: 200)).write(
            to: URL(fileURLWithPath: path))
        expectRefusal(path, access: access, reason: .notSQLite, in: directory)
    }

    @Test("an empty file is refused and left untouched", arguments: accesses)
    func emptyFile(access: OutboxFile.Access) throws {
        let path = directory.file("outbox.sqlite3")
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        expectRefusal(path, access: access, reason: .notSQLite, in: directory)
        #expect(contents(of: path) == [])
    }

    @Test(
        "another application's SQLite database (rollback journal) is refused and left untouched",
        arguments: accesses)
    func foreignDatabase(access: OutboxFile.Access) throws {
        let path = directory.file("outbox.sqlite3")
        let other = try SQLiteConnection(path: path, mode: .readWriteCreate)
        try other.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes VALUES (1, 'x')")
        #expect(try other.scalar("PRAGMA journal_mode") == .text("delete"))
        try other.close()
        expectRefusal(path, access: access, reason: .foreignDatabase(applicationID: 0), in: directory)
        // Still a rollback-journal database: nothing converted it to WAL (header bytes 18 and 19 are 1).
        let header = try #require(contents(of: path))
        #expect(header[18] == 1 && header[19] == 1)
    }

    @Test("a database with another application_id is refused", arguments: accesses)
    func otherApplicationID(access: OutboxFile.Access) throws {
        let path = directory.file("outbox.sqlite3")
        let other = try SQLiteConnection(path: path, mode: .readWriteCreate)
        try other.execute("PRAGMA application_id = 1234567; CREATE TABLE t (x)")
        try other.close()
        expectRefusal(path, access: access, reason: .foreignDatabase(applicationID: 1_234_567), in: directory)
    }

    @Test("an outbox whose schema is newer than the binary is refused and left untouched", arguments: accesses)
    func newerSchema(access: OutboxFile.Access) throws {
        let path = directory.file("outbox.sqlite3")
        let store = OutboxStore(connection: try OutboxFile.open(path: path, access: .daemon))
        try store.insert(event("a"), createdAt: 1)
        try store.close()
        let raw = try SQLiteConnection(path: path, mode: .readWrite)
        try raw.execute("PRAGMA user_version = \(Migrations.latestVersion + 1)")
        try raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        try raw.close()
        #expect(directory.names() == ["outbox.sqlite3"])

        expectRefusal(
            path, access: access,
            reason: .newerSchema(found: Migrations.latestVersion + 1, known: Migrations.latestVersion),
            in: directory)
    }

    @Test("a directory at the outbox path is refused", arguments: accesses)
    func directoryAtPath(access: OutboxFile.Access) throws {
        let path = directory.file("outbox.sqlite3")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        expectRefusal(path, access: access, reason: .notAFile, in: directory)
        #expect(try FileManager.default.contentsOfDirectory(atPath: path).isEmpty)
    }

    @Test("a file that fails its quick_check is refused untouched, with the problem in the message")
    func corruptFile() throws {
        let path = directory.file("outbox.sqlite3")
        let store = OutboxStore(connection: try OutboxFile.open(path: path, access: .daemon))
        try store.connection.transaction { () throws(SQLiteError) in
            for index in 0..<3_000 { try store.insert(event("file-\(index)"), createdAt: 1) }
        }
        let root = try store.connection.integer("SELECT rootpage FROM sqlite_schema WHERE name = 'events'")
        let pageSize = try store.connection.integer("PRAGMA page_size")
        try store.close()
        // Overwrite the cell pointers of the events table's root page: the b-tree points outside its page.
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        try handle.seek(toOffset: UInt64((root - 1) * pageSize + 12))
        try handle.write(contentsOf: Data(repeating: 0xFF, count: 64))
        try handle.close()

        let before = contents(of: path)
        do {
            _ = try OutboxFile.open(path: path, access: .daemon)
            Issue.record("a corrupt outbox was opened")
        } catch {
            guard case .integrity(let problem) = error.reason else {
                Issue.record("expected an integrity failure, got \(error)")
                return
            }
            #expect(problem.contains("page \(root)"), "the message names the damaged page: \(problem)")
            #expect(!error.description.contains("Optional("), "\(error)")
            #expect(!error.description.contains("\n"), "one line: \(error)")
        }
        #expect(contents(of: path) == before)
        #expect(directory.names() == ["outbox.sqlite3"])
    }

    // MARK: - Paths that do not exist

    @Test("inspect and modify never create a missing outbox", arguments: [OutboxFile.Access.modify, .inspect])
    func missingIsNotCreated(access: OutboxFile.Access) throws {
        let path = directory.file("outbox.sqlite3")
        #expect(throws: OutboxError(path: path, reason: .missing)) {
            try OutboxFile.open(path: path, access: access)
        }
        #expect(directory.names() == [])
    }

    @Test("the daemon does not create an outbox in a directory that does not exist, nor the directory")
    func missingDirectory() throws {
        let parent = directory.file("absent")
        let path = parent + "/outbox.sqlite3"
        #expect(throws: OutboxError(path: path, reason: .directoryMissing(parent))) {
            try OutboxFile.open(path: path, access: .daemon)
        }
        #expect(directory.names() == [])
    }

    @Test("the daemon does not create an outbox below a regular file")
    func parentIsAFile() throws {
        let parent = directory.file("plain")
        #expect(FileManager.default.createFile(atPath: parent, contents: Data("x".utf8)))
        let path = parent + "/outbox.sqlite3"
        #expect(throws: OutboxError(path: path, reason: .directoryMissing(parent))) {
            try OutboxFile.open(path: path, access: .daemon)
        }
        #expect(directory.names() == ["plain"])
        #expect(contents(of: parent) == Array("x".utf8))
    }

    /// Root ignores permission bits, so as root the directory is made read-only with a read-only tmpfs
    /// mounted on it (tests run as root with CAP_SYS_ADMIN here); other users get mode 0555.
    @Test("the daemon does not create an outbox in a directory it cannot write")
    func readOnlyDirectory() throws {
        let readOnly = directory.file("ro")
        try FileManager.default.createDirectory(atPath: readOnly, withIntermediateDirectories: false)
        if geteuid() == 0 {
            try #require(
                run("/usr/bin/env", ["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", readOnly]) == 0,
                "cannot mount a read-only tmpfs (root without CAP_SYS_ADMIN?)")
        } else {
            try #require(chmod(readOnly, 0o555) == 0)
        }
        defer {
            if geteuid() == 0 { _ = run("/usr/bin/env", ["umount", readOnly]) } else { chmod(readOnly, 0o755) }
        }
        let path = readOnly + "/outbox.sqlite3"
        #expect(throws: OutboxError(path: path, reason: .notWritable("directory \(readOnly)"))) {
            try OutboxFile.open(path: path, access: .daemon)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: readOnly).isEmpty)
    }

    private func run(_ executable: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        do {
            try process.run()
        } catch {
            return -1
        }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

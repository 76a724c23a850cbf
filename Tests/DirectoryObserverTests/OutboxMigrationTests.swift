import DirectoryObserver
import Foundation
import Testing

@Suite("Outbox migrations and creation")
struct OutboxMigrationTests {
    /// This test's own directory (a suite instance per test), removed when the test ends.
    private let directory = TemporaryDirectory()

    private var migrationsFolder: URL { packageRoot.appendingPathComponent("migrations") }

    @Test("the embedded migrations are the files of migrations/, byte for byte")
    func embeddedMigrationsEqualTheFiles() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: migrationsFolder.path)
            .filter { $0.hasSuffix(".sql") }.sorted()
        #expect(!names.isEmpty)
        #expect(Migrations.steps.map(\.fileName) == names)
        for step in Migrations.steps {
            let file = try #require(contents(of: migrationsFolder.appendingPathComponent(step.fileName).path))
            #expect(Array(step.sql.utf8) == file, "embedded \(step.fileName) differs from the file")
        }
    }

    @Test("migrations are numbered 0001, 0002, … without gaps, and the last one is the schema version")
    func migrationsAreNumberedContiguously() throws {
        let pattern = try Regex("^[0-9]{4}_[a-z0-9_]+\\.sql$")
        for (offset, step) in Migrations.steps.enumerated() {
            #expect(step.version == offset + 1)
            #expect(step.fileName.hasPrefix(String(format: "%04d_", offset + 1)))
            #expect(step.fileName.wholeMatch(of: pattern) != nil, "\(step.fileName) is not NNNN_snake_name.sql")
        }
        #expect(Migrations.latestVersion == Migrations.steps.count)
    }

    @Test("a new outbox carries our application_id, the latest user_version, WAL mode and a uuid")
    func newOutboxIsMarked() throws {
        let path = directory.file("outbox.sqlite3")

        let connection = try OutboxFile.open(path: path, access: .daemon)
        #expect(try connection.integer("PRAGMA application_id") == Int64(Migrations.applicationID))
        #expect(try connection.integer("PRAGMA user_version") == Int64(Migrations.latestVersion))
        #expect(try connection.scalar("PRAGMA journal_mode") == .text("wal"))
        #expect(try connection.integer("PRAGMA synchronous") == 2, "synchronous=FULL by default")
        let uuid = try OutboxFile.uuid(of: connection)
        #expect(UUID(uuidString: uuid) != nil, "outbox_meta uuid \(uuid) is not a UUID")
        #expect(try connection.integer("SELECT count(*) FROM outbox_meta WHERE key = 'uuid'") == 1)
        try connection.close()

        #expect(directory.names() == ["outbox.sqlite3"], "no temporary file, -wal or -shm is left behind")
        let again = try OutboxFile.open(path: path, access: .inspect)
        #expect(try OutboxFile.uuid(of: again) == uuid, "the uuid is kept across opens")
        #expect(try OutboxFile.schemaVersion(of: again) == Migrations.latestVersion)
    }

    @Test("creating an outbox removes what a killed creation left, and keeps a live one's")
    func staleCreationsRemoved() throws {
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let gone = finished.processIdentifier
        let stale = ["o.sqlite3.creating-\(gone)", "o.sqlite3.creating-\(gone)-wal"]
        let kept = ["o.sqlite3.creating-1", "o.sqlite3.creating-\(gone).bak", "other.sqlite3.creating-\(gone)"]
        for name in stale + kept {
            try Data("half made".utf8).write(to: URL(fileURLWithPath: directory.file(name)))
        }
        _ = try OutboxFile.open(path: directory.file("o.sqlite3"), access: .daemon)
        #expect(Set(directory.names()) == Set(kept + ["o.sqlite3"]))
    }

    @Test("two new outboxes get different uuids")
    func uuidsDiffer() throws {
        let first = try OutboxFile.uuid(of: OutboxFile.open(path: directory.file("a.sqlite3"), access: .daemon))
        let second = try OutboxFile.uuid(of: OutboxFile.open(path: directory.file("b.sqlite3"), access: .daemon))
        #expect(first != second)
    }

    @Test("synchronous=NORMAL is applied when asked for")
    func normalSync() throws {
        let connection = try OutboxFile.open(path: directory.file("o.sqlite3"), access: .daemon, sync: .normal)
        #expect(try connection.integer("PRAGMA synchronous") == 1)
    }
}

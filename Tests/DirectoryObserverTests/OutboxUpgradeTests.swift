import DirectoryObserver
import Foundation
import Testing

/// An outbox written by schema 1 (every state on its row) read and driven by the current binary.
@Suite("Outbox upgrade from schema 1")
struct OutboxUpgradeTests {
    /// This test's own directory (a suite instance per test), removed when the test ends.
    private let directory = TemporaryDirectory()

    /// Creates a schema-1 outbox at `path` the way the schema-1 binary did, with `rows` (queue, state,
    /// delivered_at) inserted in order (ids 1, 2, …).
    private func makeVersion1(_ path: String, rows: [(String, EventState, Double?)]) throws {
        let connection = try SQLiteConnection(path: path, mode: .readWriteCreate)
        try connection.transaction { () throws(SQLiteError) in
            try connection.execute("PRAGMA application_id = \(Migrations.applicationID)")
            try connection.execute(Migrations.steps[0].sql)
            try connection.execute("PRAGMA user_version = 1")
            try connection.execute("INSERT INTO outbox_meta (key, value) VALUES ('uuid', 'v1-outbox')")
            let insert = try connection.prepare(
                """
                INSERT INTO events (queue, directory, filename, event, event_timestamp, state, created_at, delivered_at)
                VALUES (?, '/d', ?, 'created', 1, ?, 1, ?)
                """)
            for (index, (queue, state, deliveredAt)) in rows.enumerated() {
                try insert.run([
                    .text(queue), .blob(Array("f\(index)".utf8)), .text(state.rawValue),
                    deliveredAt.map { .real($0) } ?? .null,
                ])
            }
            // A pruned last event: its id was handed out and must never be handed out again.
            try insert.run([.text("gone"), .blob([0x67]), .text("delivered"), .real(1)])
            try connection.execute("DELETE FROM events WHERE queue = 'gone'")
        }
        try connection.execute("PRAGMA journal_mode=WAL")
        try connection.close()
    }

    @Test("inspection, purge and replay refuse a schema-1 outbox in one line and leave it as it was")
    func olderSchemaRefusedBesideADaemon() throws {
        let path = directory.file("outbox.sqlite3")
        try makeVersion1(path, rows: [("a", .delivered, 100), ("a", .pending, nil)])
        let before = FileManager.default.contents(atPath: path)
        let expected = OutboxError(path: path, reason: .olderSchema(found: 1, known: Migrations.latestVersion))
        #expect(throws: expected) { _ = try OutboxInspector(path: path) }
        #expect(throws: expected) { _ = try OutboxMaintenance(path: path) }
        #expect(expected.description.contains("start this version's daemon (or drain) once to upgrade it"))
        #expect(FileManager.default.contents(atPath: path) == before)
        let connection = try SQLiteConnection(path: path, mode: .readOnly)
        #expect(try connection.integer("PRAGMA user_version") == 1)
    }

    @Test("upgrading keeps every event's state and delivered_at, and the queues flow on from where they were")
    func upgradeKeepsStates() throws {
        let path = directory.file("outbox.sqlite3")
        let rows: [(String, EventState, Double?)] = [
            ("a", .delivered, 100), ("a", .skipped, 101), ("b", .delivered, 102), ("a", .dead, nil),
            ("a", .delivered, 103), ("a", .pending, nil), ("b", .pending, nil), ("a", .pending, nil),
            ("c", .delivered, 104),
        ]
        try makeVersion1(path, rows: rows)

        var upgrades: [[Int]] = []
        let store = OutboxStore(
            connection: try OutboxFile.open(path: path, access: .daemon) { upgrades.append([$0, $1]) })
        #expect(upgrades == [[1, Migrations.latestVersion]], "the caller is told before the upgrade runs")
        #expect(try OutboxFile.schemaVersion(of: store.connection) == Migrations.latestVersion)
        _ = try OutboxFile.open(path: path, access: .daemon) { upgrades.append([$0, $1]) }
        _ = try OutboxFile.open(path: directory.file("new.sqlite3"), access: .daemon) { upgrades.append([$0, $1]) }
        #expect(upgrades.count == 1, "neither an outbox at the latest schema nor a new one is upgraded")
        #expect(try OutboxFile.uuid(of: store.connection) == "v1-outbox")
        for (index, (_, state, deliveredAt)) in rows.enumerated() {
            let stored = try #require(try store.event(id: Int64(index + 1)))
            #expect(stored.state == state && stored.deliveredAt == deliveredAt, "event \(index + 1)")
        }
        #expect(try store.oldestPendingID(queue: "b") == 7)
        #expect(try store.oldestPendingID(queue: "c") == nil)
        #expect(try store.pendingBatch(queue: "a", afterID: 0, limit: 10).map(\.id) == [6, 8])
        #expect(try store.pendingCount() == 3)
        #expect(try store.highestIDEverIssued() == Int64(rows.count + 1), "the AUTOINCREMENT counter is kept")
        #expect(try store.connection.scalar("PRAGMA integrity_check") == .text("ok"))

        // The forwarder delivers on; the next prune removes what was delivered before the upgrade.
        try store.markDelivered(queue: "a", through: 8, skipped: [], at: 2_000)
        #expect(try store.event(id: 8)?.state == .delivered)
        #expect(try store.event(id: 6)?.deliveredAt == 2_000)
        #expect(try store.event(id: 7)?.state == .pending, "queue b is not delivered by a's batch")
        let step = try store.prune(settledBefore: 1_000, limit: 100, scanLimit: 100)
        #expect(step.deleted == 5, "the schema-1 delivered and skipped events (1, 2, 3, 5, 9), not the dead one")
        #expect(
            try store.connection.scalar("SELECT group_concat(id) FROM (SELECT id FROM events ORDER BY id)")
                == .text("4,6,7,8"))
        #expect(try store.insert(event("new", queue: "a"), createdAt: 1) == Int64(rows.count + 2))
        try store.close()

        let inspector = try OutboxInspector(path: path)
        let stats = try inspector.stats(now: 3_000)
        #expect(stats.totals == OutboxStats.Counts(pending: 2, delivered: 2, skipped: 0, dead: 1))
    }
}

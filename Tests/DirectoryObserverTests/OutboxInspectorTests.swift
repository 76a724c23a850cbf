import Foundation
import Testing

@testable import DirectoryObserver

/// `OutboxInspector`: stats, list and show on real outbox files, read-only.
@Suite("Outbox inspection: stats, list, show")
struct OutboxInspectorTests {
    @Test("stats counts every queue and state, configured queues first with zeros, then the others by name")
    func statsCounts() throws {
        let fixture = try OutboxFixture()
        try fixture.add(queue: "b", state: .pending, createdAt: 1_000)
        try fixture.add(queue: "b", state: .pending, createdAt: 1_100)
        try fixture.add(queue: "b", state: .delivered)
        try fixture.add(queue: "a", state: .skipped)
        try fixture.add(queue: "a", state: .dead)
        try fixture.add(queue: "a", state: .dead)
        try fixture.add(queue: "z", state: .delivered)

        let stats = try OutboxInspector(path: fixture.path).stats(configuredQueues: ["z", "empty", "b"], now: 1_192)
        #expect(stats.queues.map(\.name) == ["z", "empty", "b", "a"])
        #expect(stats.queues[0].counts == .init(delivered: 1))
        #expect(stats.queues[1].counts == .init())
        #expect(stats.queues[1].oldestPendingAge == nil)
        #expect(stats.queues[2].counts == .init(pending: 2, delivered: 1))
        #expect(stats.queues[2].oldestPendingAge == 192)
        #expect(stats.queues[3].counts == .init(skipped: 1, dead: 2))
        #expect(stats.totals == .init(pending: 2, delivered: 2, skipped: 1, dead: 2))
        #expect(stats.uuid == (try fixture.uuid()))
        #expect(stats.schemaVersion == Migrations.latestVersion)
        #expect(stats.daemonPID == nil)
        #expect(stats.path == fixture.path)
        let main = try #require(try FileManager.default.attributesOfItem(atPath: fixture.path)[.size] as? Int)
        let wal = (try? FileManager.default.attributesOfItem(atPath: fixture.path + "-wal")[.size] as? Int) ?? 0
        #expect(stats.sizeBytes == Int64(main + wal))
        #expect(wal > 0, "the fixture's open connection keeps a write-ahead log that size_bytes must count")
    }

    @Test("stats names the process holding the outbox's lock")
    func statsDaemonPID() throws {
        let fixture = try OutboxFixture()
        let lock = try OutboxLock(outbox: fixture.path)
        defer { lock.release() }
        let stats = try OutboxInspector(path: fixture.path).stats(now: 0)
        #expect(stats.daemonPID == getpid())
    }

    @Test("list gives the oldest matching events first, and --limit keeps the oldest")
    func listOrderAndLimit() throws {
        let fixture = try OutboxFixture()
        for index in 0..<10 {
            // Later ids get earlier event times: the order must follow ids (the queue's order), not times.
            try fixture.add(
                queue: index.isMultiple(of: 2) ? "even" : "odd", state: .delivered,
                timestamp: 2_000 - Double(index))
        }
        let inspector = try OutboxInspector(path: fixture.path)
        #expect(try inspector.events(matching: EventFilter(), limit: nil).map(\.id) == Array(1...10))
        #expect(try inspector.events(matching: EventFilter(), limit: 3).map(\.id) == [1, 2, 3])
        #expect(try inspector.events(matching: EventFilter(queue: "odd"), limit: 2).map(\.id) == [2, 4])
        #expect(try inspector.events(matching: EventFilter(queue: "none"), limit: nil).isEmpty)
    }

    @Test("time bounds are inclusive and apply to event_timestamp; state filters")
    func listBounds() throws {
        let fixture = try OutboxFixture()
        try fixture.add(state: .delivered, timestamp: 100, createdAt: 900)
        try fixture.add(state: .pending, timestamp: 200, createdAt: 100)
        try fixture.add(state: .delivered, timestamp: 300, createdAt: 100)
        try fixture.add(state: .dead, timestamp: 300.5)
        let inspector = try OutboxInspector(path: fixture.path)
        func ids(_ filter: EventFilter) throws -> [Int64] {
            try inspector.events(matching: filter, limit: nil).map(\.id)
        }
        #expect(try ids(EventFilter(since: 200, until: 300)) == [2, 3])
        #expect(try ids(EventFilter(since: 100)) == [1, 2, 3, 4])
        #expect(try ids(EventFilter(since: 100.001)) == [2, 3, 4])
        #expect(try ids(EventFilter(until: 299.999)) == [1, 2])
        #expect(try ids(EventFilter(state: .delivered)) == [1, 3])
        #expect(try ids(EventFilter(state: .delivered, since: 150)) == [3])
        #expect(try ids(EventFilter(ids: [4, 1])) == [1, 4])
    }

    @Test("show returns the row; an unknown id is an error naming it")
    func show() throws {
        let fixture = try OutboxFixture()
        let id = try fixture.add(
            queue: "q", state: .dead, filename: [0x61, 0xFF], attempts: 3, lastError: "WRONGTYPE x")
        let inspector = try OutboxInspector(path: fixture.path)
        let event = try inspector.event(id: id)
        #expect(event.filename == [0x61, 0xFF])
        #expect(event.state == .dead)
        #expect(event.attempts == 3)
        #expect(event.lastError == "WRONGTYPE x")
        let error = try #require(throws: OutboxError.self) { try inspector.event(id: 77) }
        #expect(error.reason == .unknownEvent(77))
        #expect(error.description.contains("77"))
    }

    @Test("a missing outbox is refused and not created")
    func missing() throws {
        let fixture = try OutboxFixture()
        let path = fixture.directory + "/nope.sqlite3"
        let error = try #require(throws: OutboxError.self) { try OutboxInspector(path: path) }
        #expect(error.reason == .missing)
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }
}

import Foundation
import Glibc
import Synchronization
import Testing

@testable import DirectoryObserver

/// SPEC §8 end to end against real servers: Redis that forgets (a restart without persistence,
/// `FLUSHALL`) and an outbox that goes back in history (a restored copy). Every event must arrive.
@Suite("Lost writes and diverged histories against a real server", .timeLimit(.minutes(2)))
struct ForwarderLostWritesTests {
    enum Forgetting: String, CaseIterable, CustomTestStringConvertible {
        case restartWithoutPersistence
        case flushAllWhileConnected
    }

    private static let resending = "Redis lost writes: its watermark is behind the outbox; resending"
    private static let notResending = "Redis lost writes: its watermark is behind the outbox; not resending"

    @Test(
        "Redis forgets after delivery: with resend what is retained and still there comes again, first; ignore: none",
        arguments: Forgetting.allCases, LostWritesPolicy.allCases)
    func redisForgets(forgetting: Forgetting, policy: LostWritesPolicy) throws {
        let server = try RedisServer()
        let fixture = try ForwarderFixture()
        let first = try fixture.eventsWithFiles(queue: "jobs", count: 20, stem: "a", counter: "jobs:count")
        try fixture.append(first)
        let settings = fixture.settings(
            server, redis: RedisSettings(endpoint: server.endpoint, lostWrites: policy))
        let service = try fixture.service(settings)
        defer { service.stop() }
        try #require(fixture.wait { (try? server.length("jobs")) == 20 })
        try #require(try fixture.waitUntilNothingPending())

        // A consumer took five files; then Redis forgets everything.
        for event in first.prefix(5) { fixture.removeFile(of: event) }
        switch forgetting {
        case .restartWithoutPersistence: try server.restart()
        case .flushAllWhileConnected: try server.command("FLUSHALL")
        }
        let newer = try fixture.eventsWithFiles(queue: "jobs", count: 10, stem: "b", counter: "jobs:count")
        try fixture.append(newer)

        let expected = (policy == .resend ? Array(first[5...]) : []) + newer
        try #require(fixture.wait { (try? server.length("jobs")) == expected.count })
        try #require(try fixture.waitUntilNothingPending())
        usleep(200_000)
        #expect(try server.consumerOrder("jobs") == expected.map(ForwarderFixture.message))
        #expect(try server.integer("jobs:count") == Int64(expected.count))
        #expect(try server.integer(fixture.watermarkKey("jobs")) == fixture.rows().last?.id)

        let warnings = fixture.logs.entries(policy == .resend ? Self.resending : Self.notResending)
        #expect(warnings.count == 1)
        #expect(fixture.logs.all.filter { $0.message.hasPrefix("Redis lost writes") }.count == 1)
        let warning = try #require(warnings.first)
        #expect(warning.level == .warning)
        #expect(warning.metadata["redis.queue"] == "jobs")
        #expect(warning.metadata["redis.watermark"] == "none")
        #expect(warning.metadata["outbox.resent"] == (policy == .resend ? "15" : "0"))
        if policy == .resend {
            #expect(warning.metadata["outbox.skipped"] == "5")
            #expect(warning.metadata["outbox.pruned"] == "0")
        }
        let rows = try fixture.rows()
        #expect(rows.prefix(5).allSatisfy { $0.state == (policy == .resend ? .skipped : .delivered) })
        #expect(rows.dropFirst(5).allSatisfy { $0.state == .delivered && $0.attempts == 0 })
    }

    enum Restored: String, CaseIterable, CustomTestStringConvertible {
        /// The queue is idle when the restored outbox connects; new files come after.
        case idleAtConnect
        /// New files pile up in the restored outbox before it connects.
        case pileUpBeforeConnect
    }

    @Test(
        "a restored older copy of the outbox: every event written after the restore arrives",
        arguments: Restored.allCases)
    func restoredCopy(restored: Restored) throws {
        let server = try RedisServer()
        let fixture = try ForwarderFixture()
        let settings = fixture.settings(server)
        let path = fixture.writer.path
        let copy = fixture.directory.appending("copy.sqlite3")
        do {
            let service = try fixture.service(settings)
            defer { service.stop() }
            try fixture.append(try fixture.eventsWithFiles(queue: "jobs", count: 1, stem: "old"))
            try #require(fixture.wait { (try? server.length("jobs")) == 1 })
            try #require(try fixture.waitUntilNothingPending())
            let connection = try OutboxFile.open(path: path, access: .inspect)
            try connection.execute("VACUUM INTO '\(copy)'")
            try connection.close()
            try fixture.append(try fixture.eventsWithFiles(queue: "jobs", count: 5, stem: "lost"))
            try #require(fixture.wait { (try? server.length("jobs")) == 6 })
            try #require(try fixture.waitUntilNothingPending())
        }
        fixture.writer.stop()
        for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
        try #require(rename(copy, path) == 0)

        let work = fixture.work
        let writer = try OutboxWriter(
            settings: OutboxSettings(path: path), logger: fixture.logger, onCommit: { work.signal() })
        defer { writer.stop() }
        let newer = try fixture.eventsWithFiles(queue: "jobs", count: restored == .idleAtConnect ? 6 : 8, stem: "new")
        func append(_ events: [NewEvent]) throws {
            let done = DispatchSemaphore(value: 0)
            let committed = Mutex(false)
            writer.append(events) { ok in
                committed.withLock { $0 = ok }
                done.signal()
            }
            try #require(done.wait(timeout: .now() + 30) == .success && committed.withLock { $0 })
        }
        if restored == .pileUpBeforeConnect { try append(newer) }
        let service = try ForwarderService(
            settings: settings, writer: writer, board: fixture.board, work: work, logger: fixture.logger)
        defer { service.stop() }
        if restored == .idleAtConnect {
            try #require(fixture.wait { fixture.logs.messages(containing: "diverged history").count == 1 })
            try append(newer)
        }
        try #require(fixture.wait { (try? server.length("jobs")) == 6 + newer.count })
        try #require(try fixture.waitUntilNothingPending())
        usleep(200_000)
        let pushed = try server.consumerOrder("jobs")
        #expect(pushed.count == 6 + newer.count)
        #expect(Array(pushed.suffix(newer.count)) == newer.map(ForwarderFixture.message))
        #expect(fixture.logs.messages(containing: "diverged history").count == 1)
        #expect(try fixture.rows().allSatisfy { $0.state == .delivered })
    }

    @Test("the crash window: events the lost batch skipped stay skipped, the others read delivered, none pushed twice")
    func crashWindowKeepsSkips() throws {
        let server = try RedisServer()
        let fixture = try ForwarderFixture()
        let settings = fixture.settings(server)
        let (forwarder, store) = try fixture.forwarder(settings)
        defer { try? store.close() }
        #expect(forwarder.round() == .idle)  // connected and reconciled while the writer runs
        let events = try fixture.eventsWithFiles(queue: "jobs", count: 10, stem: "e", kind: .exists)
        for event in [events[1], events[4], events[8]] { fixture.removeFile(of: event) }
        try fixture.append(events)
        // The daemon dies after the script ran: the writer takes no more marks.
        fixture.writer.stop()
        #expect(forwarder.round() == .progress(10))
        #expect(try server.length("jobs") == 7)

        let work = fixture.work
        let writer = try OutboxWriter(
            settings: OutboxSettings(path: fixture.writer.path), logger: fixture.logger, onCommit: { work.signal() })
        defer { writer.stop() }
        let restarted = Forwarder(
            settings: settings, store: OutboxStore(connection: try OutboxFile.open(path: writer.path, access: .modify)),
            writer: writer, board: fixture.board, logger: fixture.logger)
        #expect(restarted.round() == .idle)
        #expect(writer.flush())
        let states = try fixture.rows().map(\.state)
        #expect(states.enumerated().allSatisfy { [1, 4, 8].contains($0.offset) == ($0.element == .skipped) })
        #expect(states.filter { $0 == .delivered }.count == 7)
        #expect(try server.length("jobs") == 7)
        #expect(fixture.logs.entries("events found in Redis marked delivered").first?.metadata["batch.size"] == "7")
    }
}

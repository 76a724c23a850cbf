import Foundation
import Glibc
import Testing

@testable import DirectoryObserver

/// Two ways the forwarder could skip events without a word, each against a real Redis: reconciling with
/// an outbox record that lacks the marks a held writer still has in memory, and one monitor's
/// `poll_queue_limit` cutting another monitor's `exists` events on a queue they share.
@Suite("Forwarder: a held writer at reconnect, and monitors sharing a queue", .timeLimit(.minutes(2)))
struct ForwarderHeldWriterAndSharedQueueTests {
    /// The writer is held (another process's write transaction) while the forwarder delivers, so its
    /// delivery marks wait in memory; then Redis forgets everything. Reconciling with the committed record
    /// (nothing delivered) would find Redis's missing watermark in step with it, resend from the start,
    /// and have the marks (through 20) land mid-way, over events never resent. The reconnect waits for
    /// the writer instead, then sees the lost writes and resends them all.
    @Test("a reconnect while the writer is held waits for its marks, then resends what Redis lost")
    func reconnectWaitsForHeldWriter() throws {
        let server = try RedisServer()
        let fixture = try ForwarderFixture()
        // `exists` events of a queue with a limit: one batch per round (the next one is only read ahead).
        let settings = fixture.settings(server, batchSize: 5, queueLimits: ["jobs": 1_000])
        let (forwarder, store) = try fixture.forwarder(settings)
        defer { try? store.close() }
        #expect(forwarder.round() == .idle)  // connected while the writer runs
        let events = try fixture.eventsWithFiles(queue: "jobs", count: 20, stem: "e", kind: .exists)
        try fixture.append(events)

        let shell = try SQLiteConnection(path: fixture.writer.path, mode: .readWrite)
        try shell.execute("BEGIN IMMEDIATE")
        var rounds = 0
        while try server.length("jobs") < 20, rounds < 10 {
            _ = forwarder.round()
            rounds += 1
        }
        try #require(try server.length("jobs") == 20)

        try server.restart()  // Redis forgets everything; the writer is still held
        usleep(1_100_000)  // the idle round's list-length refresh is due again: it finds the connection broken
        #expect(forwarder.round() == .unavailable)
        #expect(forwarder.round() == .outboxFailed)  // reconnected, but the writer's marks are not committed

        try shell.execute("COMMIT")
        try shell.close()
        #expect(fixture.writer.flush())
        try forwarder.roundsUntilIdle()

        let pushed = Set(try server.list("jobs"))
        let missing = events.enumerated().filter { !pushed.contains(ForwarderFixture.message($0.element)) }
        #expect(missing.isEmpty, "never reached Redis: events \(missing.map { $0.offset + 1 })")
        #expect(try fixture.count(.pending) == 0)
        #expect(!fixture.logs.messages(containing: "Redis lost writes").isEmpty)
    }

    /// Monitors sharing a queue: the first has `poll_queue_limit = 5`, the second none. The second's
    /// listed files must not be skipped at forward time by the first's limit.
    @Test("a monitor without poll_queue_limit keeps its exists events when another monitor of its queue has one")
    func sharedQueueTakesTheLoosestLimit() throws {
        let server = try RedisServer()
        let fixture = try ForwarderFixture()
        let other = fixture.directory.appending("other")
        try #require(mkdir(other, 0o755) == 0)
        let ini = """
            [common]
            redis_server=127.0.0.1
            redis_port=\(server.port)

            [limited]
            active=true
            directory=\(other)
            queue=shared
            poll_queue_limit=5

            [unlimited]
            active=true
            directory=\(fixture.watched)
            queue=shared
            poll_queue_limit=0

            """
        let file = fixture.directory.appending("config.ini")
        try ini.write(toFile: file, atomically: true, encoding: .utf8)
        var settings = ForwarderSettings(configuration: try ConfigLoader.load(path: file, environment: [:]))
        #expect(settings.queueLimits["shared"] == .some(nil))
        settings.timeout = 2
        settings.retry = RetrySettings(initial: 0.01, maximum: 0.1)

        // A consumer is behind: the list holds 10 messages, over the first monitor's limit.
        for index in 0..<10 { try server.command("RPUSH", "shared", "old-\(index)") }
        let listed = try fixture.eventsWithFiles(queue: "shared", count: 3, stem: "listed", kind: .exists)
        try fixture.append(listed)
        let (forwarder, store) = try fixture.forwarder(settings)
        defer { try? store.close() }
        try forwarder.roundsUntilIdle()

        #expect(try server.length("shared") == 13)
        #expect(try fixture.count(.skipped) == 0)
    }

    @Test("monitors sharing a queue with limits share the largest; any monitor without one lifts it")
    func sharedQueueLimits() throws {
        let directory = try TemporaryDirectory(prefix: "dirobs-limits")
        let file = directory.appending("config.ini")
        let ini = """
            [common]
            redis_server=127.0.0.1

            [a]
            active=true
            directory=/data/a
            queue=both
            poll_queue_limit=5

            [b]
            active=true
            directory=/data/b
            queue=both
            poll_queue_limit=50

            [c]
            active=true
            directory=/data/c
            queue=alone
            poll_queue_limit=7

            """
        try ini.write(toFile: file, atomically: true, encoding: .utf8)
        let settings = ForwarderSettings(configuration: try ConfigLoader.load(path: file, environment: [:]))
        #expect(settings.queueLimits == ["both": 50, "alone": 7])
    }
}

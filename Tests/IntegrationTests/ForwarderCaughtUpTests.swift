import Foundation
import Testing

@testable import DirectoryObserver

/// A forwarder woken by the writer's commits (as in the daemon) says when a round left nothing to send,
/// so its thread waits for the next commit instead of reading the outbox once more; whatever is committed
/// after such a round goes with the next one.
@Suite("Forwarder caught up with the outbox", .timeLimit(.minutes(1)))
struct ForwarderCaughtUpTests {
    /// A fixture whose queue `broken` holds two events Redis refuses (`WRONGTYPE`: its key is a string).
    private static func fixtureWithRefusedQueue(_ server: RedisServer) throws -> ForwarderFixture {
        try server.command("SET", "broken", "not a list")
        let fixture = try ForwarderFixture()
        try fixture.append(ForwarderFixture.events(queue: "broken", counter: nil, count: 2, stem: "x"))
        return fixture
    }

    @Test("a batch cut at the batch size or where the counter changes may have more; one that took the rest does not")
    func batchKnowsWhetherMoreMayFollow() throws {
        let fixture = try ForwarderFixture()
        try fixture.append(
            ForwarderFixture.events(queue: "jobs", counter: "a", count: 3, stem: "a")
                + ForwarderFixture.events(queue: "jobs", counter: "b", count: 2, stem: "b"))
        let store = OutboxStore(connection: try OutboxFile.open(path: fixture.writer.path, access: .modify))
        defer { try? store.close() }

        let cutByCounter = try #require(try ForwardBatch.read(from: store, queue: "jobs", afterID: 0, limit: 100))
        #expect(cutByCounter.events.count == 3)
        #expect(cutByCounter.mayHaveMore)
        let cutBySize = try #require(
            try ForwardBatch.read(from: store, queue: "jobs", afterID: cutByCounter.ids.upperBound, limit: 1))
        #expect(cutBySize.events.count == 1)
        #expect(cutBySize.mayHaveMore)
        let rest = try #require(
            try ForwardBatch.read(from: store, queue: "jobs", afterID: cutBySize.ids.upperBound, limit: 100))
        #expect(rest.events.count == 1)
        #expect(!rest.mayHaveMore)
    }

    @Test("once every pending event went in, a round says caught up; events committed after it go with the next")
    func caughtUpThenNextCommit() throws {
        let server = try RedisServer()
        let fixture = try ForwarderFixture()
        let first = try fixture.appendJobs(count: 250)
        let (forwarder, store) = try fixture.forwarder(fixture.settings(server, batchSize: 100), wokenByCommits: true)
        defer { try? store.close() }
        // As the forwarder thread does before a round, the wait takes the signal (the writer raises it
        // right after the append's completion runs, so the test waits for it): with no commit signalled,
        // batches cut at the batch size are what makes the round read on.
        #expect(fixture.work.wait(seconds: 30))
        #expect(forwarder.round() == .caughtUp(250))

        let later = ForwarderFixture.events(queue: "jobs", counter: "jobs:count", count: 7, stem: "later")
        try fixture.append(later)
        #expect(fixture.work.wait(seconds: 30))
        #expect(!fixture.work.isRaised)
        #expect(forwarder.round() == .caughtUp(7))
        #expect(forwarder.round() == .idle)
        #expect(try server.consumerOrder("jobs") == (first + later).map(ForwarderFixture.message))
        #expect(try server.integer("jobs:count") == 257)
    }

    @Test("a queue waiting for its retry keeps the forwarder from saying caught up, so the retry is not slept through")
    func waitingQueueIsNotCaughtUp() throws {
        let server = try RedisServer()
        let fixture = try Self.fixtureWithRefusedQueue(server)
        let fine = try fixture.appendJobs(count: 3)
        let settings = fixture.settings(server, retry: RetrySettings(initial: 30, maximum: 30, maxAttempts: 10))
        let (forwarder, store) = try fixture.forwarder(settings, wokenByCommits: true)
        defer { try? store.close() }
        #expect(forwarder.round() == .progress(3))

        let later = ForwarderFixture.events(queue: "jobs", counter: "jobs:count", count: 4, stem: "later")
        try fixture.append(later)
        #expect(forwarder.round() == .progress(4))
        guard case .waiting = forwarder.round() else {
            Issue.record("the broken queue's retry time is not what the forwarder waits for")
            return
        }
        #expect(try server.consumerOrder("jobs") == (fine + later).map(ForwarderFixture.message))
    }

    @Test("a queue whose batch went dead waits out its retry time once, then no longer keeps the forwarder busy")
    func deadBatchStopsHoldingCaughtUp() throws {
        let server = try RedisServer()
        let fixture = try Self.fixtureWithRefusedQueue(server)
        let settings = fixture.settings(server, retry: RetrySettings(initial: 0.01, maximum: 0.01, maxAttempts: 1))
        let (forwarder, store) = try fixture.forwarder(settings, wokenByCommits: true)
        defer { try? store.close() }
        #expect(forwarder.round() == .progress(2))
        #expect(fixture.writer.flush())
        #expect(try fixture.count(.dead, queue: "broken") == 2)
        // Its retry time passes; a read finds nothing left to retry and drops the wait.
        usleep(20_000)
        #expect(forwarder.round() == .idle)

        let fine = try fixture.appendJobs(count: 3)
        #expect(forwarder.round() == .caughtUp(3))
        #expect(try server.consumerOrder("jobs") == fine.map(ForwarderFixture.message))
    }

    @Test("a list length due keeps a round from saying caught up; the idle round after it publishes the lengths")
    func dueLengthsAreNotCaughtUp() throws {
        let server = try RedisServer()
        let fixture = try ForwarderFixture()
        _ = try fixture.appendJobs(count: 5)
        let settings = fixture.settings(server, queueLimits: ["jobs": 1_000, "other": 10])
        let (forwarder, store) = try fixture.forwarder(settings, wokenByCommits: true)
        defer { try? store.close() }
        try server.command("RPUSH", "other", "a", "b")

        #expect(forwarder.round() == .progress(5))
        #expect(forwarder.round() == .idle)
        #expect(fixture.board.length(of: "other") == 2)
        #expect(fixture.board.length(of: "jobs") == 5)
    }
}

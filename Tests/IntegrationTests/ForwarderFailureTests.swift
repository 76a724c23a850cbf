import Foundation
import Glibc
import Testing

@testable import DirectoryObserver

/// Permanent Redis errors on one queue (attempts, dead-lettering, the other queues flowing) and the
/// forward-time rules for `exists` events (SPEC §5).
@Suite("Forwarder failures and forward-time limits against a real server", .timeLimit(.minutes(1)))
struct ForwarderFailureTests {
    // MARK: - Permanent errors

    /// The forwarder reads a queue's next batch while the previous one is in flight; when Redis refuses
    /// the one in flight, the next must not go first (its ids would move the watermark past the refused
    /// events, which would then never be pushed).
    @Test("a batch Redis refuses holds back the batch read after it; once accepted, all arrive in order")
    func refusedBatchHoldsBackTheNext() throws {
        let server = try RedisServer()
        let fixture = try ForwarderFixture()
        let events = try fixture.appendJobs(count: 300)
        let (forwarder, store) = try fixture.forwarder(
            fixture.settings(server, retry: RetrySettings(initial: 0.01, maximum: 0.01, maxAttempts: 100)))
        defer { try? store.close() }
        // The delivery script refuses a counter that INCRBY could not add to, before any write.
        try server.command("SET", "jobs:count", "not a number")
        #expect(forwarder.round() == .progress(0))
        #expect(try server.length("jobs") == 0)
        try server.command("DEL", "jobs:count")
        try forwarder.roundsUntilIdle()
        #expect(fixture.writer.flush())
        #expect(try server.consumerOrder("jobs") == events.map(ForwarderFixture.message))
        #expect(try server.integer("jobs:count") == 300)
        #expect(try fixture.count(.delivered) == 300)
    }

    /// During a backlog the forwarder sends a queue's next batch before the replies of the one in flight.
    /// When Redis refuses the first, the second (whose script expects the first's watermark) is void: its
    /// reply must not be taken for its own failure, nor for a watermark that lost writes.
    @Test(
        "a refused batch voids the batch sent right behind it: no attempt, no lost-writes settling, all in order after")
    func refusedBatchVoidsThePipelinedOne() throws {
        let server = try RedisServer()
        let fixture = try ForwarderFixture()
        let events = try fixture.appendJobs(count: 300)
        let (forwarder, store) = try fixture.forwarder(
            fixture.settings(
                server, retry: RetrySettings(initial: 0.01, maximum: 0.01, maxAttempts: 100), batchSize: 100))
        defer { try? store.close() }
        try server.command("SET", "jobs:count", "not a number")
        #expect(forwarder.round() == .progress(0))
        let rows = try fixture.rows(queue: "jobs")
        #expect(rows.filter { $0.attempts == 1 }.map(\.id) == Array(rows.prefix(100)).map(\.id))
        #expect(rows.dropFirst(100).allSatisfy { $0.attempts == 0 })
        #expect(try server.length("jobs") == 0)
        #expect(try server.integer(fixture.watermarkKey("jobs")) == nil)

        try server.command("DEL", "jobs:count")
        try forwarder.roundsUntilIdle()
        #expect(fixture.writer.flush())
        #expect(try server.consumerOrder("jobs") == events.map(ForwarderFixture.message))
        #expect(try fixture.count(.delivered) == 300)
        #expect(fixture.logs.messages(containing: "lost writes").isEmpty)
    }

    @Test("WRONGTYPE on one queue: after max_attempts its batches are dead, the other queue keeps flowing")
    func wrongTypeGoesDead() throws {
        let server = try RedisServer()
        try server.command("SET", "broken", "not a list")
        let fixture = try ForwarderFixture()
        let bad = ForwarderFixture.events(queue: "broken", counter: "broken:count", count: 150, stem: "x")
        let good = ForwarderFixture.events(queue: "fine", counter: "fine:count", count: 400, stem: "y")
        try fixture.append(bad + good)
        let settings = fixture.settings(
            server, retry: RetrySettings(initial: 0.01, maximum: 0.05, maxAttempts: 3), batchSize: 100)
        let service = try fixture.service(settings)
        defer { service.stop() }
        try #require(try fixture.waitUntilNothingPending())

        let badRows = try fixture.rows(queue: "broken")
        #expect(badRows.count == 150)
        for row in badRows {
            #expect(row.state == .dead, "id \(row.id)")
            #expect(row.attempts == 3, "id \(row.id)")
            #expect(row.lastError?.contains("WRONGTYPE") == true, "id \(row.id): \(row.lastError ?? "nil")")
            #expect(row.deliveredAt == nil)
        }
        // The failing queue's key, counter and watermark did not move.
        #expect(try server.command("GET", "broken") == .bulk(Array("not a list".utf8)))
        #expect(try server.command("EXISTS", "broken:count", fixture.watermarkKey("broken")) == .integer(0))

        #expect(try fixture.rows(queue: "fine").allSatisfy { $0.state == .delivered && $0.attempts == 0 })
        #expect(try server.consumerOrder("fine") == good.map(ForwarderFixture.message))
        #expect(try server.integer("fine:count") == 400)
        // Two batches went dead, each logged once as an error; the queue's trouble was a warning.
        let dead = fixture.logs.entries("batch dead-lettered after max_attempts")
        #expect(dead.map { $0.metadata["batch.size"] } == ["100", "50"])
        #expect(dead.allSatisfy { $0.level == .error })
    }

    @Test("while one queue keeps failing, events of another queue appended later still go through")
    func otherQueuesKeepFlowing() throws {
        let server = try RedisServer()
        try server.command("SET", "broken", "not a list")
        let fixture = try ForwarderFixture()
        let settings = fixture.settings(
            server, retry: RetrySettings(initial: 0.01, maximum: 0.05, maxAttempts: 1_000_000), batchSize: 100)
        let service = try fixture.service(settings)
        defer { service.stop() }
        try fixture.append(ForwarderFixture.events(queue: "broken", counter: nil, count: 20, stem: "x"))
        try #require(fixture.wait { try fixture.rows(queue: "broken").allSatisfy { $0.attempts >= 2 } })

        let good = ForwarderFixture.events(queue: "fine", counter: nil, count: 500, stem: "y")
        for chunk in stride(from: 0, to: good.count, by: 50) {
            try fixture.append(Array(good[chunk..<chunk + 50]))
        }
        try #require(fixture.wait { try fixture.count(.delivered, queue: "fine") == 500 })
        #expect(try server.consumerOrder("fine") == good.map(ForwarderFixture.message))
        let broken = try fixture.rows(queue: "broken")
        #expect(broken.allSatisfy { $0.state == .pending && $0.attempts >= 2 })
        #expect(try server.command("EXISTS", fixture.watermarkKey("broken")) == .integer(0))
        // Once the key is fixed, the queue drains: permanent errors are retried until max_attempts.
        try server.command("DEL", "broken")
        try #require(fixture.wait { try fixture.count(.delivered, queue: "broken") == 20 })
        #expect(try server.length("broken") == 20)
        #expect(fixture.logs.entries("queue accepts events again").count == 1)
    }

    // MARK: - Forward-time rules for exists events

    /// The batch under test, in id order, and what must happen to each event with a list limit of 10 and
    /// 6 elements already in the list (room for 4): `exists` events take room while there is some,
    /// `created` events are always pushed (and take room too), an `exists` event whose file is gone is
    /// skipped whatever the room.
    static let plan: [(name: String, kind: EventKind, fileExists: Bool, limited: Outcome, unlimited: Outcome)] = [
        ("a", .exists, true, .pushed, .pushed),
        ("b", .exists, true, .pushed, .pushed),
        ("c", .created, false, .pushed, .pushed),
        ("gone", .exists, false, .skippedGone, .skippedGone),
        ("d", .exists, true, .pushed, .pushed),
        ("e", .exists, true, .skippedLimit, .pushed),
        ("f", .created, false, .pushed, .pushed),
        ("g", .exists, true, .skippedLimit, .pushed),
    ]

    enum Outcome {
        case pushed
        case skippedGone
        case skippedLimit
    }

    @Test(
        "exists events over poll_queue_limit (given LLEN) or whose file is gone are skipped; created always pushed",
        arguments: [true, false])
    func forwardTimeLimit(limited: Bool) throws {
        let server = try RedisServer()
        for index in 0..<6 { try server.command("LPUSH", "jobs", "old-\(index)") }
        let fixture = try ForwarderFixture()
        var events: [NewEvent] = []
        for (index, step) in Self.plan.enumerated() {
            if step.fileExists {
                #expect(FileManager.default.createFile(atPath: fixture.watched + "/" + step.name, contents: Data()))
            }
            events.append(
                NewEvent(
                    queue: "jobs", counter: "jobs:count", directory: fixture.watched, filename: Array(step.name.utf8),
                    kind: step.kind, timestamp: 1_764_000_000 + Double(index)))
        }
        try fixture.append(events)
        let settings = fixture.settings(server, queueLimits: ["jobs": limited ? 10 : nil])
        let outcome = try Drain.run(settings: settings, writer: fixture.writer, logger: fixture.logger)
        #expect(outcome == Drain.Outcome(settled: 8, dead: 0))

        let expected = Self.plan.map { limited ? $0.limited : $0.unlimited }
        let rows = try fixture.rows(queue: "jobs")
        try #require(rows.count == 8)
        for (row, outcome) in zip(rows, expected) {
            let name = String(decoding: row.filename, as: UTF8.self)
            switch outcome {
            case .pushed:
                #expect(row.state == .delivered, "\(name)")
                #expect(row.lastError == nil, "\(name)")
            case .skippedGone:
                #expect(row.state == .skipped, "\(name)")
                #expect(row.lastError?.contains("gone") == true, "\(name): \(row.lastError ?? "nil")")
            case .skippedLimit:
                #expect(row.state == .skipped, "\(name)")
                #expect(row.lastError?.contains("poll_queue_limit") == true, "\(name): \(row.lastError ?? "nil")")
            }
        }
        let pushedEvents = zip(events, expected).filter { $0.1 == .pushed }.map(\.0)
        let old = (0..<6).map { Array("old-\($0)".utf8) }
        #expect(try server.consumerOrder("jobs") == old + pushedEvents.map(ForwarderFixture.message))
        #expect(try server.integer("jobs:count") == Int64(pushedEvents.count))
        #expect(pushedEvents.count == (limited ? 5 : 7))
    }

    @Test("after a listing saw them, a removed file is skipped and the others of a quiet directory are pushed")
    func removedAfterSightingInQuietDirectory() throws {
        let server = try RedisServer()
        let fixture = try ForwarderFixture()
        let quiet = fixture.watched + "/quiet"
        #expect(mkdir(quiet, 0o755) == 0)
        let files = [(fixture.watched, "a"), (fixture.watched, "b"), (fixture.watched, "c"), (quiet, "x"), (quiet, "y")]
        for (directory, name) in files {
            #expect(FileManager.default.createFile(atPath: directory + "/" + name, contents: Data()))
        }
        // The listing sees the files well after either directory last changed, then one of them goes.
        usleep(UInt32(2 * DirectoryChanges.clockCoarseness * 1_000_000))
        let seen = Clock.now()
        #expect(unlink(fixture.watched + "/b") == 0)
        let events = files.map { directory, name in
            NewEvent(
                queue: "jobs", counter: nil, directory: directory, filename: Array(name.utf8), kind: .exists,
                timestamp: seen)
        }
        try fixture.append(events)
        let outcome = try Drain.run(settings: fixture.settings(server), writer: fixture.writer, logger: fixture.logger)
        #expect(outcome == Drain.Outcome(settled: 5, dead: 0))

        let rows = try fixture.rows(queue: "jobs")
        #expect(rows.map(\.state) == [.delivered, .skipped, .delivered, .delivered, .delivered])
        #expect(rows.count == 5 && rows[1].lastError?.contains("gone") == true)
        let pushed = [events[0], events[2], events[3], events[4]]
        #expect(try server.consumerOrder("jobs") == pushed.map(ForwarderFixture.message))
    }
}

import Foundation
import Glibc
import Testing

@testable import DirectoryObserver

/// The forwarder against a real redis-server: order, exactly-once across outages, restarts, freezes, a crash
/// between the script and the local commit, and a flushed script cache (SPEC §5).
@Suite("Forwarder delivery against a real server", .timeLimit(.minutes(1)))
struct ForwarderDeliveryTests {
    // MARK: - Order and bookkeeping

    @Test("10,200 events on two queues arrive oldest first, byte-exact, with counter and watermark")
    func orderAcrossManyBatches() throws {
        let server = try RedisServer()
        let fixture = try ForwarderFixture()
        let first = ForwarderFixture.events(queue: "alpha", counter: "alpha:count", count: 6_100, stem: "a")
        let second = ForwarderFixture.events(queue: "beta", counter: nil, count: 4_100, stem: "b")
        // Interleave the two queues, half before the forwarder starts and half while it runs, in chunks,
        // so batches are cut both by the batch size and by the commits.
        var interleaved: [NewEvent] = []
        for index in 0..<max(first.count, second.count) {
            if index < first.count { interleaved.append(first[index]) }
            if index < second.count { interleaved.append(second[index]) }
        }
        let half = interleaved.count / 2
        try fixture.append(Array(interleaved[..<half]))
        let service = try fixture.service(fixture.settings(server, batchSize: 100))
        defer { service.stop() }
        for chunk in stride(from: half, to: interleaved.count, by: 777) {
            try fixture.append(Array(interleaved[chunk..<min(chunk + 777, interleaved.count)]))
        }
        try #require(try fixture.waitUntilNothingPending())

        #expect(try server.consumerOrder("alpha") == first.map(ForwarderFixture.message))
        #expect(try server.consumerOrder("beta") == second.map(ForwarderFixture.message))
        #expect(try server.integer("alpha:count") == 6_100)
        let alphaRows = try fixture.rows(queue: "alpha")
        let betaRows = try fixture.rows(queue: "beta")
        #expect(alphaRows.allSatisfy { $0.state == .delivered && $0.attempts == 0 && $0.deliveredAt != nil })
        #expect(betaRows.allSatisfy { $0.state == .delivered })
        #expect(try server.integer(fixture.watermarkKey("alpha")) == alphaRows.last?.id)
        #expect(try server.integer(fixture.watermarkKey("beta")) == betaRows.last?.id)
        // A batch never carries more than batchSize events.
        let sizes = fixture.logs.entries("batch delivered").compactMap { $0.metadata["batch.size"].flatMap(Int.init) }
        #expect(sizes.reduce(0, +) == 10_200)
        #expect(sizes.allSatisfy { $0 <= 100 })
    }

    // MARK: - Outages

    @Test("Redis down when the forwarder starts: events wait, then arrive exactly once when it comes up")
    func redisDownAtStart() throws {
        let server = try RedisServer()
        server.stop()
        let fixture = try ForwarderFixture()
        let events = ForwarderFixture.events(queue: "jobs", counter: "jobs:count", count: 1_500)
        try fixture.append(Array(events[..<1_000]))
        let service = try fixture.service(
            fixture.settings(server, timeout: 0.5, retry: RetrySettings(initial: 0.01, maximum: 0.1)))
        defer { service.stop() }
        usleep(400_000)
        try fixture.append(Array(events[1_000...]))
        usleep(300_000)
        #expect(try fixture.count(.pending) == 1_500)
        #expect(try fixture.rows().allSatisfy { $0.attempts == 0 }, "connection failures are not attempts")

        try server.restart()
        try #require(try fixture.waitUntilNothingPending())
        #expect(try server.consumerOrder("jobs") == events.map(ForwarderFixture.message))
        #expect(try server.integer("jobs:count") == 1_500)
        // The outage is logged once, not once per try.
        #expect(fixture.logs.entries("Redis unreachable; events wait in the outbox").count == 1)
        #expect(fixture.logs.entries("Redis reachable again").count == 1)
    }

    @Test("Redis restarted mid-stream (append-only file, fsync always): nothing lost, nothing twice")
    func restartMidStream() throws {
        let server = try RedisServer(arguments: ["--appendonly", "yes", "--appendfsync", "always"])
        let fixture = try ForwarderFixture()
        let events = ForwarderFixture.events(queue: "jobs", counter: "jobs:count", count: 12_000)
        let service = try fixture.service(
            fixture.settings(server, timeout: 1, retry: RetrySettings(initial: 0.01, maximum: 0.1), batchSize: 50))
        defer { service.stop() }
        var restarted = false
        for chunk in stride(from: 0, to: events.count, by: 500) {
            try fixture.append(Array(events[chunk..<chunk + 500]))
            if !restarted, chunk >= 6_000 {
                // Restart while the forwarder is busy: some batches are in flight.
                try #require(fixture.wait { (try? server.length("jobs")) ?? 0 >= 1_000 })
                try server.restart()
                restarted = true
            }
        }
        try #require(try fixture.waitUntilNothingPending())

        let pushed = try server.consumerOrder("jobs")
        #expect(pushed.count == events.count)
        #expect(pushed == events.map(ForwarderFixture.message))
        #expect(try server.integer("jobs:count") == 12_000)
        #expect(try server.integer(fixture.watermarkKey("jobs")) == fixture.rows().last?.id)
        #expect(fixture.logs.entries("Redis unreachable; events wait in the outbox").count >= 1)
    }

    @Test("a SIGSTOPped server: the forwarder times out, then delivers everything once after SIGCONT")
    func frozenServer() throws {
        let server = try RedisServer()
        let fixture = try ForwarderFixture()
        let events = ForwarderFixture.events(queue: "jobs", counter: "jobs:count", count: 3_000)
        let service = try fixture.service(
            fixture.settings(server, timeout: 0.5, retry: RetrySettings(initial: 0.05, maximum: 0.2)))
        defer { service.stop() }
        try fixture.append(Array(events[..<1_000]))
        try #require(try fixture.waitUntilNothingPending())

        try server.pause()
        try fixture.append(Array(events[1_000...]))
        try #require(
            fixture.wait(seconds: 10) { !fixture.logs.entries("Redis unreachable; events wait in the outbox").isEmpty })
        usleep(1_000_000)
        let outage = try #require(fixture.logs.entries("Redis unreachable; events wait in the outbox").first)
        #expect(outage.metadata["error"]?.contains("timed out") == true, "\(outage.metadata)")
        #expect(try fixture.count(.pending) > 0)

        try server.resume()
        try #require(try fixture.waitUntilNothingPending())
        // Commands sent before the freeze may run late, after a new connection already re-sent them: the
        // watermark makes the second run push nothing.
        usleep(300_000)
        #expect(try server.consumerOrder("jobs") == events.map(ForwarderFixture.message))
        #expect(try server.integer("jobs:count") == 3_000)
        #expect(try fixture.rows().allSatisfy { $0.attempts == 0 })
    }

    // MARK: - Crash between the script and the local commit

    @Test("the script ran but the outbox was not marked: a new forwarder pushes no duplicate")
    func crashAfterScriptBeforeCommit() throws {
        let server = try RedisServer()
        let fixture = try ForwarderFixture()
        let events = try fixture.appendJobs(count: 250)

        // Play the forwarder that died: load the script, run it for the first batch exactly as the
        // forwarder would, and never mark anything in the outbox.
        let settings = fixture.settings(server, batchSize: 100)
        let (forwarder, store) = try fixture.forwarder(settings)
        defer { try? store.close() }
        let connection = try server.connect()
        let sha = try #require(try connection.command("SCRIPT", "LOAD", DeliveryScript.source).stringValue)
        let batch = try #require(try ForwardBatch.read(from: store, queue: "jobs", afterID: 0, limit: 100))
        var call = RESPCommands()
        batch.appendScriptCall(to: &call, sha: Array(sha.utf8), keys: fixture.scriptKeys("jobs"), expected: 0)
        #expect(try connection.pipeline(call) == [.array([.integer(0), .integer(0), .integer(100), .null])])
        #expect(try fixture.count(.pending) == 250)

        var rounds = 0
        while forwarder.round() != .idle {
            rounds += 1
            try #require(rounds < 20)
        }
        #expect(fixture.writer.flush())
        #expect(try fixture.count(.delivered) == 250)
        #expect(try server.consumerOrder("jobs") == events.map(ForwarderFixture.message))
        #expect(try server.integer("jobs:count") == 250)
        let reconciled = fixture.logs.entries("events found in Redis marked delivered")
        #expect(reconciled.map { $0.metadata["batch.size"] } == ["100"])
    }

    @Test("a watermark ahead of every outbox id, with no fingerprint beside it: diverged, nothing is skipped")
    func watermarkAheadOfOutbox() throws {
        let server = try RedisServer()
        let fixture = try ForwarderFixture()
        let events = ForwarderFixture.events(queue: "jobs", counter: nil, count: 50)
        try fixture.append(events)
        // As after restoring an older copy of the outbox: Redis has seen ids this outbox hands out again.
        try server.command("SET", fixture.watermarkKey("jobs"), "1000000")
        let service = try fixture.service(fixture.settings(server))
        defer { service.stop() }
        try #require(try fixture.waitUntilNothingPending())
        #expect(try server.consumerOrder("jobs") == events.map(ForwarderFixture.message))
        #expect(fixture.logs.messages(containing: "diverged history").count == 1)
        #expect(try fixture.rows().allSatisfy { $0.id > 1_000_000 })
    }

    @Test("the same batch sent twice (a stale command arriving late) pushes nothing the second time")
    func scriptIsIdempotent() throws {
        let server = try RedisServer()
        let fixture = try ForwarderFixture()
        _ = try fixture.appendJobs(count: 10)
        let (_, store) = try fixture.forwarder(fixture.settings(server))
        defer { try? store.close() }
        let connection = try server.connect()
        let sha = try #require(try connection.command("SCRIPT", "LOAD", DeliveryScript.source).stringValue)
        let firstHalf = try #require(try ForwardBatch.read(from: store, queue: "jobs", afterID: 0, limit: 5))
        let secondHalf = try #require(
            try ForwardBatch.read(from: store, queue: "jobs", afterID: firstHalf.ids.upperBound, limit: 5))
        func run(_ batch: ForwardBatch, expected: Int64) throws -> ScriptOutcome? {
            var call = RESPCommands()
            batch.appendScriptCall(
                to: &call, sha: Array(sha.utf8), keys: fixture.scriptKeys("jobs"), expected: expected)
            return ScriptOutcome(reply: try connection.pipeline(call)[0])
        }
        let last = try #require(try store.event(id: firstHalf.ids.upperBound))
        let fingerprint = MessageFingerprint.bytes(id: last.id, timestamp: last.timestamp, name: last.filename)
        #expect(try run(firstHalf, expected: 0) == .applied(pushed: 5))
        #expect(try run(firstHalf, expected: 0) == .ahead(found: firstHalf.ids.upperBound, fingerprint: fingerprint))
        #expect(try run(secondHalf, expected: firstHalf.ids.upperBound) == .applied(pushed: 5))
        guard case .bulk(let stored) = try server.command("GET", fixture.fingerprintKey("jobs")) else {
            Issue.record("no fingerprint beside the watermark")
            return
        }
        #expect(
            try run(secondHalf, expected: firstHalf.ids.upperBound)
                == .ahead(
                    found: secondHalf.ids.upperBound, fingerprint: stored))
        #expect(try server.length("jobs") == 10)
        #expect(try server.integer("jobs:count") == 10)
        #expect(try server.integer(fixture.watermarkKey("jobs")) == secondHalf.ids.upperBound)
    }

    // MARK: - Script cache

    @Test("SCRIPT FLUSH between rounds: NOSCRIPT makes the forwarder reload the script and go on")
    func scriptFlushedBetweenRounds() throws {
        let server = try RedisServer()
        let fixture = try ForwarderFixture()
        let events = ForwarderFixture.events(queue: "jobs", counter: "jobs:count", count: 300)
        try fixture.append(Array(events[..<100]))
        let (forwarder, store) = try fixture.forwarder(fixture.settings(server, batchSize: 100))
        defer { try? store.close() }
        #expect(forwarder.round() == .progress(100))
        // Loading the same text again only tells its SHA1 (the forwarder has loaded it already).
        let sha = try #require(try server.command("SCRIPT", "LOAD", DeliveryScript.source).stringValue)

        try server.command("SCRIPT", "FLUSH")
        #expect(try server.command("SCRIPT", "EXISTS", sha) == .array([.integer(0)]))
        try fixture.append(Array(events[100...]))
        var rounds = 0
        var settled = 0
        while case let round = forwarder.round(), round != .idle {
            guard case .progress(let count) = round else {
                Issue.record("unexpected round \(round)")
                break
            }
            settled += count
            rounds += 1
            try #require(rounds < 10)
        }
        #expect(settled == 200)
        #expect(rounds == 2, "one round meets NOSCRIPT and reloads; the next sends both batches back to back")
        #expect(fixture.writer.flush())
        #expect(try fixture.count(.delivered) == 300)
        #expect(try server.consumerOrder("jobs") == events.map(ForwarderFixture.message))
        #expect(try server.command("SCRIPT", "EXISTS", sha) == .array([.integer(1)]))
    }
}

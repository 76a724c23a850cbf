import Dispatch
import Foundation
import Synchronization
import Testing

@testable import DirectoryObserver

@Suite("Outbox writer")
struct OutboxWriterTests {
    /// This test's own directory (a suite instance per test), removed when the test ends.
    private let directory = TemporaryDirectory()

    /// Opens a read-only connection of its own and returns the rows' file names, in id order.
    private func committedNames(_ path: String, queue: String? = nil) throws -> [String] {
        let store = OutboxStore(connection: try OutboxFile.open(path: path, access: .inspect))
        defer { try? store.close() }
        let select = try store.connection.prepare(
            "SELECT filename FROM events WHERE ?1 IS NULL OR queue = ?1 ORDER BY id")
        try select.bind(queue, at: 1)
        var names: [String] = []
        while try select.step() {
            names.append(String(decoding: select.blob(0), as: UTF8.self))
        }
        return names
    }

    @Test("opening and stopping a writer never hangs (200 times in a row)")
    func openDoesNotHang() throws {
        let path = directory.file("outbox.sqlite3")
        for round in 0..<200 {
            // Open on another thread so that a hang fails the test instead of blocking it forever.
            let done = DispatchSemaphore(value: 0)
            let opened = Mutex<OutboxWriter?>(nil)
            Thread {
                let writer = try? OutboxWriter(settings: OutboxSettings(path: path), logger: testLogger)
                opened.withLock { $0 = writer }
                done.signal()
            }.start()
            guard done.wait(timeout: .now() + 10) == .success else {
                Issue.record("OutboxWriter.init hung in round \(round)")
                return
            }
            let writer = try #require(opened.withLock { $0 })
            writer.append([event("round-\(round)")])
            #expect(writer.flush(timeout: 10), "round \(round)")
            writer.stop()
        }
        #expect(try committedNames(path).count == 200)
    }

    @Test("a trickle of commits keeps the write-ahead log under 1 MiB: the writer checkpoints between them")
    func logStaysSmallUnderATrickle() throws {
        let path = directory.file("outbox.sqlite3")
        let writer = try OutboxWriter(settings: OutboxSettings(path: path), logger: testLogger)
        defer { writer.stop() }
        func logSize() -> Int {
            var info = stat()
            return stat(path + "-wal", &info) == 0 ? Int(info.st_size) : 0
        }
        // Each commit alone, as at a steady 200 files/s: several frames each, far past 1,000 in all.
        var largest = 0
        let filler = String(repeating: "n", count: 200)
        for index in 0..<1_500 {
            writer.append([event("\(filler)-\(index)")])
            #expect(writer.flush(timeout: 10))
            largest = max(largest, logSize())
        }
        #expect(largest <= OutboxFile.journalSizeLimit, "the log reached \(largest) bytes")
        #expect(try committedNames(path).count == 1_500)
    }

    @Test("appends from several threads are all committed, each thread's in hand-in order, in fewer commits")
    func groupCommit() throws {
        let path = directory.file("outbox.sqlite3")
        let commits = Atomic<Int>(0)
        let writer = try OutboxWriter(settings: OutboxSettings(path: path), logger: testLogger) {
            commits.add(1, ordering: .relaxed)
        }
        let threads = 4
        let batchesPerThread = 200
        let acknowledged = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            for batch in 0..<batchesPerThread {
                let events = (0..<(batch % 7 + 1)).map { event("t\(thread)-\(batch)-\($0)", queue: "t\(thread)") }
                writer.append(events) { committed in
                    if committed { acknowledged.add(1, ordering: .relaxed) }
                }
            }
        }
        #expect(writer.flush(timeout: 60))
        writer.stop()
        #expect(acknowledged.load(ordering: .relaxed) == threads * batchesPerThread)
        for thread in 0..<threads {
            let expected = (0..<batchesPerThread).flatMap { batch in
                (0..<(batch % 7 + 1)).map { "t\(thread)-\(batch)-\($0)" }
            }
            #expect(try committedNames(path, queue: "t\(thread)") == expected, "thread \(thread)")
        }
        let commitCount = commits.load(ordering: .relaxed)
        #expect(commitCount >= 1)
        #expect(
            commitCount < threads * batchesPerThread, "\(commitCount) commits for \(threads * batchesPerThread) appends"
        )
    }

    @Test("a completion runs only once its events are visible to another connection")
    func completionAfterCommit() throws {
        let path = directory.file("outbox.sqlite3")
        let writer = try OutboxWriter(settings: OutboxSettings(path: path), logger: testLogger)
        let checks = Mutex<[Bool]>([])
        for index in 0..<30 {
            let name = "file-\(index)"
            writer.append([event(name)]) { committed in
                // A connection of its own sees only what was committed.
                let visible = (try? committedNames(path).contains(name)) ?? false
                checks.withLock { $0.append(committed && visible) }
            }
        }
        #expect(writer.flush(timeout: 60))
        writer.stop()
        let results = checks.withLock { $0 }
        #expect(results.count == 30)
        #expect(results.allSatisfy { $0 })
    }

    @Test("flush returns once everything handed in before it is committed")
    func flushCommits() throws {
        let path = directory.file("outbox.sqlite3")
        let writer = try OutboxWriter(settings: OutboxSettings(path: path), logger: testLogger)
        defer { writer.stop() }
        let names = (0..<2_000).map { "f\($0)" }
        for chunk in stride(from: 0, to: names.count, by: 100) {
            writer.append(names[chunk..<chunk + 100].map { event($0) })
        }
        #expect(writer.flush(timeout: 60))
        #expect(try committedNames(path) == names)
        #expect(writer.flush(timeout: 60), "an idle flush returns too")
    }

    @Test("flush after stop says nothing was committed: what depends on it (a reconnect) must not go on")
    func flushAfterStop() throws {
        let path = directory.file("outbox.sqlite3")
        let writer = try OutboxWriter(settings: OutboxSettings(path: path), logger: testLogger)
        writer.stop()
        writer.append([event("late")])
        #expect(!writer.flush(timeout: 5))
        #expect(!writer.flush(timeout: 5, includingListings: true))
        #expect(try committedNames(path).isEmpty)
    }

    @Test("stop commits what was queued before it, then closes the outbox")
    func stopCommitsQueued() throws {
        let path = directory.file("outbox.sqlite3")
        let writer = try OutboxWriter(settings: OutboxSettings(path: path), logger: testLogger)
        let acknowledged = Atomic<Int>(0)
        for index in 0..<500 {
            writer.append([event("f\(index)"), event("g\(index)")]) { committed in
                if committed { acknowledged.add(1, ordering: .relaxed) }
            }
        }
        writer.stop()
        writer.stop()
        #expect(acknowledged.load(ordering: .relaxed) == 500)
        // The writer closed its connection: the WAL was checkpointed and no -wal/-shm remain.
        #expect(directory.names() == ["outbox.sqlite3"])
        #expect(try committedNames(path).count == 1_000)
    }

    @Test("onCommit runs after commits that added events, and not for ones that did not")
    func onCommitCalled() throws {
        let path = directory.file("outbox.sqlite3")
        let seen = Mutex<[Int]>([])
        let called = DispatchSemaphore(value: 0)
        let writer = try OutboxWriter(settings: OutboxSettings(path: path), logger: testLogger) {
            seen.withLock { $0.append((try? committedNames(path).count) ?? -1) }
            called.signal()
        }
        // onCommit runs on the writer thread after the commit's completions, so a flush can return just
        // before it: wait for it rather than count right after the flush.
        #expect(writer.flush(timeout: 60))
        writer.append([event("a")])
        #expect(called.wait(timeout: .now() + 60) == .success)
        #expect(seen.withLock { $0 } == [1], "onCommit runs once, and sees the committed event")
        writer.markDelivered(queue: "q", through: 1, skipped: [])
        #expect(writer.flush(timeout: 60))
        writer.stop()
        #expect(seen.withLock { $0 } == [1], "a barrier or a mark adds no event and calls no onCommit")
    }

    @Test("the writer marks batches delivered, records failures and applies listings")
    func otherRequests() throws {
        let path = directory.file("outbox.sqlite3")
        let writer = try OutboxWriter(settings: OutboxSettings(path: path, maxPending: 100), logger: testLogger)
        defer { writer.stop() }
        writer.append((0..<6).map { event("f\($0)", queue: "a") })
        writer.append([event("g", queue: "b")])
        #expect(writer.flush(timeout: 60))
        let store = OutboxStore(connection: try OutboxFile.open(path: path, access: .inspect))
        defer { try? store.close() }
        let ids = try store.pendingBatch(queue: "a", afterID: 0, limit: 10).map(\.id)
        #expect(ids.count == 6)

        writer.markDelivered(queue: "a", through: ids[1], skipped: [SkippedEvent(id: ids[1], reason: "gone")])
        #expect(writer.markDelivered(queue: "a", upTo: ids[2], timeout: 10) == 1)
        for expectedDead in [0, 1] {
            let dead = writer.recordFailure(
                queue: "a", ids: ids[3]...ids[3], error: "WRONGTYPE", maxAttempts: 2, timeout: 10)
            #expect(dead == expectedDead)
        }
        let outcome = Mutex<ListingOutcome?>(nil)
        let listed = DispatchSemaphore(value: 0)
        writer.appendListing(
            ListingRequest(
                queue: "a", counter: nil, directory: "/d", candidates: [Array("f4".utf8), Array("new".utf8)],
                listLength: 0, limit: nil, timestamp: 5)
        ) { result in
            outcome.withLock { $0 = result }
            listed.signal()
        }
        #expect(listed.wait(timeout: .now() + 60) == .success)
        #expect(outcome.withLock { $0 } == ListingOutcome(announced: 1, alreadyPending: 1, leftOut: 0))

        let states = try ids.map { try store.event(id: $0)?.state }
        #expect(states == [.delivered, .skipped, .delivered, .dead, .pending, .pending])
        #expect(try store.event(id: ids[1])?.lastError == "gone")
        #expect(try store.pendingBatch(queue: "a", afterID: ids[5], limit: 10).map(\.kind) == [.exists])
    }

    @Test("the writer prunes old delivered events while appends keep arriving", .timeLimit(.minutes(1)))
    func pruneUnderSteadyTraffic() throws {
        let path = directory.file("outbox.sqlite3")
        let rows = 20_000
        do {
            let store = OutboxStore(connection: try OutboxFile.open(path: path, access: .daemon))
            try store.connection.transaction { () throws(SQLiteError) in
                for index in 0..<rows { try store.insert(event("old-\(index)"), createdAt: 1) }
                try store.markDelivered(queue: "q", upTo: Int64.max, at: Clock.now() - 7_200)
            }
            try store.close()
        }
        let writer = try OutboxWriter(settings: OutboxSettings(path: path, retention: 3_600), logger: testLogger)
        // Steady traffic: a producer that always has a few appends waiting, so the writer is never idle.
        let stop = Atomic<Bool>(false)
        let stopped = DispatchSemaphore(value: 0)
        Thread {
            let slots = DispatchSemaphore(value: 4)
            var sequence = 0
            while !stop.load(ordering: .relaxed) {
                slots.wait()
                writer.append([event("new-\(sequence)", queue: "live")]) { _ in slots.signal() }
                sequence += 1
            }
            stopped.signal()
        }.start()
        let reader = try OutboxFile.open(path: path, access: .inspect)
        let deadline = Clock.monotonic() + 15
        var left = rows
        while left > 0 && Clock.monotonic() < deadline {
            usleep(100_000)
            left = Int(try reader.integer("SELECT count(*) FROM events WHERE queue = 'q'"))
        }
        stop.store(true, ordering: .relaxed)
        stopped.wait()
        writer.stop()
        #expect(left == 0, "\(left) of \(rows) old delivered events still there after 15 s of traffic")
        #expect(try reader.integer("SELECT count(*) FROM events WHERE queue = 'live'") > 0)
    }
}

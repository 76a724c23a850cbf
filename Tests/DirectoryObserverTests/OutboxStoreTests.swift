import Foundation
import Testing

@testable import DirectoryObserver

@Suite("Outbox store")
struct OutboxStoreTests {
    /// This test's own directory (a suite instance per test), removed when the test ends.
    private let directory = TemporaryDirectory()

    /// A store on a new outbox in `directory`.
    private func names(_ events: [StoredEvent]) -> [String] {
        events.map { String(decoding: $0.filename, as: UTF8.self) }
    }

    @Test("pendingBatch gives a queue's pending events in id order, at most limit, after afterID")
    func pendingBatchOrder() throws {
        let store = try openStore(directory)
        var idsOfA: [Int64] = []
        for index in 0..<10 {
            idsOfA.append(try store.insert(event("a\(index)", queue: "a"), createdAt: 1))
            try store.insert(event("b\(index)", queue: "b"), createdAt: 1)
        }
        #expect(idsOfA == idsOfA.sorted() && Set(idsOfA).count == 10)

        let first = try store.pendingBatch(queue: "a", afterID: 0, limit: 4)
        #expect(first.map(\.id) == Array(idsOfA[0..<4]))
        #expect(names(first) == ["a0", "a1", "a2", "a3"])
        #expect(first.allSatisfy { $0.queue == "a" && $0.state == .pending && $0.attempts == 0 })
        let next = try store.pendingBatch(queue: "a", afterID: idsOfA[3], limit: 4)
        #expect(names(next) == ["a4", "a5", "a6", "a7"])
        let rest = try store.pendingBatch(queue: "a", afterID: idsOfA[7], limit: 100)
        #expect(names(rest) == ["a8", "a9"])
        #expect(try store.pendingBatch(queue: "a", afterID: idsOfA[9], limit: 100).isEmpty)
        #expect(try store.pendingBatch(queue: "nobody", afterID: 0, limit: 100).isEmpty)
        #expect(try store.pendingCount(queue: "a") == 10)
        #expect(try store.pendingCount() == 20)
    }

    @Test("a read in one snapshot sees one state of the outbox, and always ends its transaction")
    func readingInOneSnapshot() throws {
        let store = try openStore(directory)
        try store.insert(event("first"), createdAt: 1)
        let other = OutboxStore(connection: try OutboxFile.open(path: directory.file("outbox.sqlite3"), access: .modify))
        let counted = try store.reading { () throws(SQLiteError) -> [Int] in
            let before = try store.pendingCount(queue: "q")
            try other.insert(event("second"), createdAt: 1)
            return [before, try store.pendingCount(queue: "q")]
        }
        #expect(counted == [1, 1], "a commit by another connection is not seen inside the snapshot")
        #expect(!store.connection.isInTransaction)
        #expect(try store.pendingCount(queue: "q") == 2)

        #expect(throws: SQLiteError.self) {
            try store.reading { () throws(SQLiteError) in
                _ = try store.pendingCount(queue: "q")
                _ = try store.connection.scalar("SELECT no_such_column FROM events")
            }
        }
        #expect(!store.connection.isInTransaction, "a failed read leaves no snapshot held")
        try other.insert(event("third"), createdAt: 1)
        #expect(try store.pendingCount(queue: "q") == 3)

        try store.connection.transaction { () throws(SQLiteError) in
            #expect(try store.reading { () throws(SQLiteError) in try store.pendingCount(queue: "q") } == 3)
            #expect(store.connection.isInTransaction, "inside a transaction, the read does not end it")
            try store.insert(event("fourth"), createdAt: 1)
        }
        #expect(try other.pendingCount(queue: "q") == 4)
    }

    @Test("inserting many events at once keeps their order and every field", arguments: [1, 15, 16, 17, 127, 128, 144, 300, 1_000])
    func insertMany(count: Int) throws {
        let store = try openStore(directory)
        try store.insert(event("before"), createdAt: 1)
        let events = (0..<count).map { (index: Int) -> NewEvent in
            let kind: EventKind = index % 5 == 0 ? .exists : .created
            let counter: String? = index % 2 == 0 ? "c" : nil
            let timestamp = 1_795_548_219.5 + Double(index)
            return NewEvent(
                queue: "q\(index % 3)", counter: counter, directory: "/d\(index)",
                filename: [0xFF, UInt8(index % 256), 0x00], kind: kind, timestamp: timestamp)
        }
        try store.insert(events, createdAt: 42)
        let select = try store.connection.prepare("SELECT id FROM events ORDER BY id")
        var ids: [Int64] = []
        while try select.step() { ids.append(select.int64(0)) }
        #expect(ids == Array(1...Int64(count + 1)), "ids ascend without gaps in array order")
        for (offset, expected) in events.enumerated() {
            let stored = try #require(try store.event(id: Int64(offset + 2)))
            let readBack = NewEvent(
                queue: stored.queue, counter: stored.counter, directory: stored.directory,
                filename: stored.filename, kind: stored.kind, timestamp: stored.timestamp)
            #expect(readBack == expected)
            #expect(stored.createdAt == 42)
            #expect(stored.state == EventState.pending)
            #expect(stored.replayOf == nil)
        }
    }

    @Test("an inserted event reads back with every field")
    func fieldsRoundTrip() throws {
        let store = try openStore(directory)
        let new = NewEvent(
            queue: "stage1", counter: "stage1.count", directory: "/data/in", filename: Array("x.dat".utf8),
            kind: .exists, timestamp: 1_795_548_219.5800452)
        let id = try store.insert(new, createdAt: 1_800_000_000.25, replayOf: 7)
        let stored = try #require(try store.event(id: id))
        #expect(stored.queue == "stage1" && stored.counter == "stage1.count" && stored.directory == "/data/in")
        #expect(stored.filename == Array("x.dat".utf8) && stored.kind == .exists)
        #expect(stored.timestamp == 1_795_548_219.5800452 && stored.createdAt == 1_800_000_000.25)
        #expect(stored.state == .pending && stored.deliveredAt == nil && stored.lastError == nil)
        #expect(stored.replayOf == 7)
        #expect(try store.event(id: id + 1) == nil)
    }

    @Test(
        "file names that are not UTF-8 survive byte for byte",
        arguments: [[0xFF], [0xC3, 0x28], [0x61, 0x00, 0x62], [0x00], [0xE2, 0x82], [0xED, 0xA0, 0x80], []]
            as [[UInt8]])
    func bytesExactNames(name: [UInt8]) throws {
        let store = try openStore(directory)
        let new = NewEvent(queue: "q", counter: nil, directory: "/d", filename: name, kind: .created, timestamp: 1)
        let id = try store.insert(new, createdAt: 1)
        #expect(try store.event(id: id)?.filename == name)
        #expect(try store.pendingBatch(queue: "q", afterID: 0, limit: 10).map(\.filename) == [name])
        #expect(try store.pendingNames(queue: "q", directory: "/d") == [name])
        #expect(try store.connection.scalar("SELECT typeof(filename) FROM events") == .text("blob"))
    }

    @Test("markDelivered marks the range delivered and the skipped ids skipped, and nothing else")
    func markDeliveredWithSkipped() throws {
        let store = try openStore(directory)
        let ids = try (0..<6).map { try store.insert(event("a\($0)", queue: "a"), createdAt: 1) }
        let other = try store.insert(event("b", queue: "b"), createdAt: 1)
        let after = try store.insert(event("a-late", queue: "a"), createdAt: 1)
        _ = try store.recordFailure(queue: "a", ids: ids[4]...ids[4], error: "WRONGTYPE", maxAttempts: 1)

        try store.markDelivered(
            queue: "a", through: after - 1, skipped: [SkippedEvent(id: ids[2], reason: "file gone")], at: 500)

        for (index, id) in ids.enumerated() {
            let stored = try #require(try store.event(id: id))
            switch index {
            case 2:
                #expect(stored.state == .skipped && stored.lastError == "file gone" && stored.deliveredAt == 500)
            case 4:
                #expect(stored.state == .dead, "a dead event in the range stays dead")
            default:
                #expect(stored.state == .delivered && stored.deliveredAt == 500, "event \(index)")
            }
        }
        #expect(try store.event(id: other)?.state == .pending, "another queue's event inside the range")
        #expect(try store.event(id: after)?.state == .pending, "an event after the range")
        #expect(try store.pendingBatch(queue: "a", afterID: 0, limit: 10).map(\.id) == [after])
    }

    @Test("markDelivered(upTo:) marks a queue's pending events up to the id and counts them")
    func markDeliveredUpTo() throws {
        let store = try openStore(directory)
        let ids = try (0..<5).map { try store.insert(event("a\($0)", queue: "a"), createdAt: 1) }
        let other = try store.insert(event("b", queue: "b"), createdAt: 1)
        #expect(try store.markDelivered(queue: "a", upTo: ids[2], at: 9) == 3)
        #expect(try store.markDelivered(queue: "a", upTo: ids[2], at: 10) == 0, "already delivered")
        #expect(
            try ids.map { try store.event(id: $0)?.state } == [.delivered, .delivered, .delivered, .pending, .pending])
        #expect(try store.event(id: ids[0])?.deliveredAt == 9)
        #expect(try store.event(id: other)?.state == .pending)
        #expect(try store.markDelivered(queue: "a", upTo: other, at: 11) == 2)
        #expect(try store.event(id: other)?.state == .pending)
        #expect(try store.markDelivered(queue: "b", upTo: Int64.max, at: 12) == 1)
        let later = try store.insert(event("b-later", queue: "b"), createdAt: 1)
        #expect(try store.event(id: later)?.state == .pending, "a watermark beyond every id covers no later event")
    }

    @Test("a steady trickle of deliveries adds a row a second, and those rows age and are pruned")
    func trickleOfDeliveriesIsPruned() throws {
        let store = try openStore(directory)
        // One event every half second for five seconds, each delivered on its own.
        for step in 0..<10 {
            let id = try store.insert(event("t\(step)"), createdAt: 100 + Double(step) / 2)
            try store.markDelivered(queue: "q", through: id, skipped: [], at: 100 + Double(step) / 2 + 0.1)
        }
        #expect(try store.connection.integer("SELECT count(*) FROM deliveries") == 5, "one row per second")
        let step = try store.prune(settledBefore: 103, limit: 100, scanLimit: 100)
        #expect(step.deleted == 6, "the events delivered in seconds 100, 101 and 102")
        #expect(try store.connection.integer("SELECT count(*) FROM events") == 4)
    }

    @Test("deliveries of a queue within one second share one row, dated by the latest")
    func deliveriesCoalesce() throws {
        let store = try openStore(directory)
        let ids = try (0..<6).map { try store.insert(event("a\($0)", queue: "a"), createdAt: 1) }
        let other = try store.insert(event("b", queue: "b"), createdAt: 1)
        func rows() throws -> Int64 { try store.connection.integer("SELECT count(*) FROM deliveries") }

        try store.markDelivered(queue: "a", through: ids[0], skipped: [], at: 100.0)
        try store.markDelivered(queue: "a", through: ids[1], skipped: [], at: 100.4)
        try store.markDelivered(queue: "a", through: ids[2], skipped: [], at: 100.9)
        #expect(try rows() == 1, "three deliveries within a second: one row")
        #expect(try ids[0...2].map { try store.event(id: $0)?.deliveredAt } == [100.9, 100.9, 100.9])
        try store.markDelivered(queue: "b", through: other, skipped: [], at: 100.95)
        #expect(try rows() == 2, "another queue has rows of its own")
        try store.markDelivered(queue: "a", through: ids[3], skipped: [], at: 102.0)
        #expect(try rows() == 3, "a second or more after the last: a new row")
        try store.markDelivered(queue: "a", through: ids[4], skipped: [], at: 50)
        #expect(try rows() == 4, "a clock stepped back: a new row, the earlier events keep their time")
        #expect(try store.event(id: ids[3])?.deliveredAt == 102.0)
        #expect(try store.event(id: ids[4])?.deliveredAt == 50)
        let states = try ids.map { try store.event(id: $0)?.state }
        #expect(states == [.delivered, .delivered, .delivered, .delivered, .delivered, .pending])
    }

    @Test("recordFailure counts attempts and makes the events dead at maxAttempts")
    func recordFailureToDead() throws {
        let store = try openStore(directory)
        let ids = try (0..<4).map { try store.insert(event("a\($0)", queue: "a"), createdAt: 1) }
        let range = ids[0]...ids[2]
        #expect(try store.recordFailure(queue: "a", ids: range, error: "WRONGTYPE one", maxAttempts: 3) == 0)
        #expect(try store.recordFailure(queue: "a", ids: range, error: "WRONGTYPE two", maxAttempts: 3) == 0)
        let pending = try #require(try store.event(id: ids[0]))
        #expect(pending.state == .pending && pending.attempts == 2 && pending.lastError == "WRONGTYPE two")
        #expect(try store.recordFailure(queue: "a", ids: range, error: "WRONGTYPE three", maxAttempts: 3) == 3)
        for id in range {
            let dead = try #require(try store.event(id: id))
            #expect(dead.state == .dead && dead.attempts == 3 && dead.lastError == "WRONGTYPE three")
        }
        let outside = try #require(try store.event(id: ids[3]))
        #expect(outside.state == .pending && outside.attempts == 0 && outside.lastError == nil)
        #expect(try store.recordFailure(queue: "a", ids: range, error: "again", maxAttempts: 3) == 0, "dead stay dead")
        #expect(try store.event(id: ids[0])?.attempts == 3)
        #expect(try store.pendingBatch(queue: "a", afterID: 0, limit: 10).map(\.id) == [ids[3]])
        try store.markDelivered(queue: "a", through: ids[3], skipped: [], at: 9)
        #expect(try store.recordFailure(queue: "a", ids: ids[3]...ids[3], error: "late", maxAttempts: 1) == 0)
        let delivered = try #require(try store.event(id: ids[3]))
        #expect(delivered.state == .delivered && delivered.attempts == 0, "a delivered event is never failed")
    }

    @Test("prune deletes only delivered and skipped events settled before the cutoff, at most limit a step")
    func pruneOnlySettledOldEvents() throws {
        let store = try openStore(directory)
        func add(_ name: String) throws -> Int64 { try store.insert(event(name), createdAt: 1) }
        let oldDelivered = try (0..<3).map { try add("old-delivered-\($0)") }
        let oldSkipped = try add("old-skipped")
        let recent = try add("recent-delivered")
        let pending = try add("pending")
        let dead = try add("dead")
        for (offset, id) in oldDelivered.enumerated() {
            try store.markDelivered(queue: "q", through: id, skipped: [], at: 100 + Double(offset))
        }
        try store.markDelivered(
            queue: "q", through: oldSkipped, skipped: [SkippedEvent(id: oldSkipped, reason: "limit")], at: 50)
        try store.markDelivered(queue: "q", through: recent, skipped: [], at: 1_000)
        _ = try store.recordFailure(queue: "q", ids: dead...dead, error: "WRONGTYPE", maxAttempts: 1)
        #expect(try store.connection.integer("SELECT count(*) FROM deliveries") == 5)

        let first = try store.prune(settledBefore: 500, limit: 2, scanLimit: 100)
        #expect(first == PruneStep(deleted: 2, finished: false), "a step stops at its limit")
        #expect(try store.event(id: oldDelivered[0]) == nil)
        #expect(try store.event(id: oldDelivered[1]) == nil)
        #expect(try store.event(id: oldDelivered[2]) != nil)
        let rest = try store.prune(settledBefore: 500, limit: 100, scanLimit: 100)
        #expect(rest == PruneStep(deleted: 2, finished: false))
        #expect(try store.event(id: oldSkipped) == nil)
        #expect(try store.prune(settledBefore: 500, limit: 100, scanLimit: 100) == PruneStep(deleted: 0, finished: true))
        #expect(try store.connection.integer("SELECT count(*) FROM events") == 3)
        #expect(
            try store.connection.integer("SELECT count(*) FROM deliveries") == 2,
            "the deliveries of pruned events are gone; the one they ended with and the recent one stay")
        let kept = try #require(try store.event(id: recent))
        #expect(kept.state == .delivered && kept.deliveredAt == 1_000, "what is left reads as before")
        #expect(try store.event(id: pending)?.state == .pending, "pending events are never pruned, however old")
        #expect(try store.event(id: dead)?.state == .dead, "dead events are kept for replay")
        #expect(try store.pendingBatch(queue: "q", afterID: 0, limit: 10).map(\.id) == [pending])
    }

    /// A prune step must cost its own size: a step that sorted or scanned every delivered event would make
    /// pruning a large backlog quadratic.
    @Test("a prune step costs its own size, not the number of delivered events")
    func pruneChunkIsCheap() throws {
        let store = try openStore(directory)
        try store.connection.transaction { () throws(SQLiteError) in
            let fill = try store.connection.prepare(
                """
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)
                INSERT INTO events (queue, directory, filename, event, event_timestamp, created_at)
                SELECT 'q', '/d', CAST(i AS BLOB), 'created', i, 1 FROM n
                """)
            try fill.run()
            for through in stride(from: 4_096, through: 200_000 + 4_095, by: 4_096) {
                try store.markDelivered(queue: "q", upTo: Int64(min(through, 200_000)), at: 100)
            }
        }
        let start = Clock.monotonic()
        for _ in 0..<20 {
            // In a transaction, as the writer runs it (otherwise each DELETE is its own fsync'd commit).
            let step = try store.connection.transaction { () throws(SQLiteError) in
                try store.prune(settledBefore: 1_000_000, limit: 100, scanLimit: 100)
            }
            #expect(step == PruneStep(deleted: 100, finished: false))
        }
        let seconds = Clock.monotonic() - start
        #expect(seconds < 0.5, "20 steps of 100 took \(seconds) s among 200,000 delivered events")
        #expect(try store.connection.integer("SELECT min(id) FROM events") == 2_001, "the oldest settled went first")
    }

    @Test("a prune step stops at the first delivery made after the cutoff, even if a later one looks older")
    func pruneStopsAtYoungDeliveries() throws {
        let store = try openStore(directory)
        let old = try store.insert(event("old"), createdAt: 10)
        let young = try store.insert(event("young"), createdAt: 10)
        let afterClockJump = try store.insert(event("after-clock-jump"), createdAt: 10)
        for (id, time) in [(old, 20.0), (young, 900), (afterClockJump, 30)] {
            try store.markDelivered(queue: "q", through: id, skipped: [], at: time)
        }
        #expect(try store.prune(settledBefore: 500, limit: 100, scanLimit: 100) == PruneStep(deleted: 1, finished: false))
        #expect(try store.event(id: old) == nil)
        #expect(try store.event(id: young)?.deliveredAt == 900, "delivered after the cutoff: kept")
        #expect(try store.event(id: afterClockJump) != nil, "kept until the deliveries before it are old enough")
    }

    @Test("the forwarder's queues: every queue with events, in name order; one delivered through has no batch")
    func queuesWithEvents() throws {
        let store = try openStore(directory)
        #expect(try store.distinctQueues(in: .events) == [])
        try store.insert(event("1", queue: "zeta"), createdAt: 1)
        try store.insert(event("2", queue: "alpha"), createdAt: 1)
        try store.insert(event("3", queue: "alpha"), createdAt: 1)
        let done = try store.insert(event("4", queue: "mid"), createdAt: 1)
        try store.markDelivered(queue: "mid", through: done, skipped: [], at: 1)
        #expect(try store.distinctQueues(in: .events) == ["alpha", "mid", "zeta"])
        #expect(try store.oldestPendingID(queue: "mid") == nil)
        #expect(try store.oldestPendingID(queue: "alpha") == 2)
    }

    @Test("pendingNames gives the pending names of one queue and directory")
    func pendingNames() throws {
        let store = try openStore(directory)
        try insertPendingNeighbours(into: store, delivered: "b", pending: "a", otherDirectory: "c", otherQueue: "d")
        #expect(try store.pendingNames(queue: "q", directory: "/d") == [Array("a".utf8)])
    }
}

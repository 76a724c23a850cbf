import Foundation
import Testing

@testable import DirectoryObserver

/// `OutboxMaintenance`: purge and replay, on real outbox files.
@Suite("Outbox maintenance: purge and replay")
struct OutboxMaintenanceTests {
    // MARK: - Purge

    @Test("purge deletes only the given state, queue and age")
    func purge() throws {
        let fixture = try OutboxFixture()
        let keep1 = try fixture.add(queue: "a", state: .delivered, timestamp: 1_000)
        try fixture.add(queue: "b", state: .delivered, timestamp: 100)
        let keep2 = try fixture.add(queue: "b", state: .delivered, timestamp: 1_000)
        let keep3 = try fixture.add(queue: "b", state: .dead, timestamp: 100)
        let keep4 = try fixture.add(queue: "b", state: .pending, timestamp: 100)
        let maintenance = try OutboxMaintenance(path: fixture.path, clock: { 2_000 })
        #expect(try maintenance.purge(state: .delivered, queue: "b", olderThan: 500) == 1)
        #expect(try fixture.rows().map(\.id) == [keep1, keep2, keep3, keep4])
        #expect(try maintenance.purge(state: .delivered) == 2)
        #expect(try fixture.rows().map(\.id) == [keep3, keep4])
        #expect(try maintenance.purge(state: .skipped) == 0)
    }

    @Test("purge works through more events than one transaction holds")
    func purgeChunks() throws {
        let fixture = try OutboxFixture()
        try fixture.addMany(OutboxMaintenance.chunkSize * 2 + 7, state: .skipped)
        try fixture.add(state: .delivered)
        #expect(try OutboxMaintenance(path: fixture.path).purge(state: .skipped) == OutboxMaintenance.chunkSize * 2 + 7)
        #expect(try fixture.rows().map(\.state) == [.delivered])
    }

    @Test("purging pending events is refused and deletes nothing")
    func purgePending() throws {
        let fixture = try OutboxFixture()
        try fixture.add(state: .pending)
        let error = try #require(throws: OutboxError.self) {
            try OutboxMaintenance(path: fixture.path).purge(state: .pending)
        }
        guard case .refused = error.reason else {
            Issue.record("expected .refused, got \(error)")
            return
        }
        #expect(try fixture.rows().count == 1)
    }

    // MARK: - Replay

    @Test("replaying delivered events adds pending copies with new ids, replay_of and the same message")
    func replayDelivered() throws {
        let fixture = try OutboxFixture()
        let first = try fixture.add(
            queue: "a", state: .delivered, timestamp: 10, filename: [0x66, 0xFF],
            counter: "a:count")
        try fixture.add(queue: "a", state: .pending, timestamp: 11)
        let second = try fixture.add(queue: "b", state: .delivered, timestamp: 12, kind: .exists)
        try fixture.add(queue: "b", state: .dead, timestamp: 13)
        let before = try fixture.rows()

        let count = try OutboxMaintenance(path: fixture.path, clock: { 99 }).replay(
            matching: EventFilter(state: .delivered))
        #expect(count == 2)
        let after = try fixture.rows()
        #expect(Array(after.prefix(before.count)) == before, "originals stay as they were")
        let copies = Array(after.dropFirst(before.count))
        #expect(copies.map(\.replayOf) == [first, second])
        #expect(
            copies.allSatisfy { $0.state == .pending && $0.attempts == 0 && $0.lastError == nil && $0.createdAt == 99 })
        #expect(copies.map(\.id).allSatisfy { $0 > before.last!.id })
        for copy in copies {
            let original = try #require(before.first { $0.id == copy.replayOf })
            #expect(copy.message == original.message)
            #expect(copy.queue == original.queue)
            #expect(copy.counter == original.counter)
        }
    }

    @Test("replaying dead events moves them to the end of their queue: new ids, dead rows removed")
    func replayDead() throws {
        let fixture = try OutboxFixture()
        let dead1 = try fixture.add(queue: "a", state: .dead, timestamp: 1, attempts: 5, lastError: "WRONGTYPE")
        let pending = try fixture.add(queue: "a", state: .pending, timestamp: 2)
        let dead2 = try fixture.add(queue: "a", state: .dead, timestamp: 3, attempts: 5, lastError: "WRONGTYPE")
        let delivered = try fixture.add(queue: "a", state: .delivered, timestamp: 4)
        let before = try fixture.rows()

        #expect(try OutboxMaintenance(path: fixture.path).replay(matching: EventFilter(state: .dead)) == 2)
        let after = try fixture.rows()
        #expect(after.map(\.id).prefix(2) == [pending, delivered])
        #expect(!after.contains { $0.state == .dead })
        let copies = Array(after.dropFirst(2))
        #expect(copies.map(\.replayOf) == [dead1, dead2])
        #expect(copies.allSatisfy { $0.state == .pending && $0.id > delivered && $0.attempts == 0 })
        #expect(copies.map(\.message) == [before[0].message, before[2].message])
    }

    @Test("a dry run counts what would be replayed and changes nothing")
    func dryRun() throws {
        let fixture = try OutboxFixture()
        try fixture.add(state: .delivered)
        try fixture.add(state: .dead)
        try fixture.add(state: .dead)
        let before = try fixture.rows()
        let maintenance = try OutboxMaintenance(path: fixture.path)
        #expect(try maintenance.replay(matching: EventFilter(state: .dead), dryRun: true) == 2)
        #expect(try maintenance.replay(matching: EventFilter(state: .delivered), dryRun: true) == 1)
        #expect(try fixture.rows() == before)
    }

    @Test("--id selects events; an unknown id is an error and nothing changes")
    func replayIDs() throws {
        let fixture = try OutboxFixture()
        let a = try fixture.add(state: .delivered)
        try fixture.add(state: .delivered)
        let c = try fixture.add(state: .delivered)
        let maintenance = try OutboxMaintenance(path: fixture.path)
        let before = try fixture.rows()
        let error = try #require(throws: OutboxError.self) {
            try maintenance.replay(matching: EventFilter(state: .delivered, ids: [a, 42]))
        }
        #expect(error.reason == .unknownEvent(42))
        #expect(try fixture.rows() == before)
        #expect(try maintenance.replay(matching: EventFilter(state: .delivered, ids: [c, a])) == 2)
        #expect(try fixture.rows().dropFirst(3).map(\.replayOf) == [a, c])
    }

    @Test("matching nothing replays 0 events")
    func replayNothing() throws {
        let fixture = try OutboxFixture()
        try fixture.add(state: .pending)
        #expect(try OutboxMaintenance(path: fixture.path).replay(matching: EventFilter(state: .delivered)) == 0)
        #expect(try fixture.rows().count == 1)
    }

    @Test("a replay larger than one transaction copies every event once, in order, and stops")
    func replayChunks() throws {
        let fixture = try OutboxFixture()
        let count = OutboxMaintenance.chunkSize + 3
        try fixture.addMany(count, state: .pending)
        // state pending: the copies match the filter too; the replay must not chase its own tail.
        #expect(try OutboxMaintenance(path: fixture.path).replay(matching: EventFilter(state: .pending)) == count)
        let rows = try fixture.rows()
        #expect(rows.count == count * 2)
        #expect(rows.dropFirst(count).map(\.replayOf) == (1...Int64(count)).map { Optional($0) })
    }
}

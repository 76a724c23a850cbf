import Foundation
import Glibc
import Testing

@testable import DirectoryObserver

/// `Reconciliation` on a real outbox, without Redis: what a watermark means against the outbox's
/// delivery record, and what settling it does to the rows (SPEC §8).
@Suite("Reconciling the outbox with a Redis watermark", .timeLimit(.minutes(1)))
struct ReconciliationTests {
    /// A fixture with `count` `created` events of queue `jobs` whose files lie in the watched directory.
    private func outbox(count: Int) throws -> (ForwarderFixture, OutboxStore, [StoredEvent]) {
        let fixture = try ForwarderFixture()
        let events = ForwarderFixture.events(
            queue: "jobs", counter: nil, count: count, stem: "f", directory: fixture.watched)
        for event in events {
            let descriptor = Self.path(fixture.watched, event.filename).withUnsafeBufferPointer {
                $0.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_CREAT | O_WRONLY, 0o644) }
            }
            guard descriptor >= 0 else { throw FixtureError(detail: "cannot create a watched file") }
            close(descriptor)
        }
        try fixture.append(events)
        let store = OutboxStore(connection: try OutboxFile.open(path: fixture.writer.path, access: .modify))
        return (fixture, store, try fixture.rows())
    }

    /// `directory/name` as a NUL-terminated byte path (names may not be UTF-8).
    static func path(_ directory: String, _ name: [UInt8]) -> [UInt8] {
        Array(directory.utf8) + [UInt8(ascii: "/")] + name + [0]
    }

    private func reconciliation(_ fixture: ForwarderFixture, _ store: OutboxStore, _ policy: LostWritesPolicy = .resend)
        -> Reconciliation
    {
        Reconciliation(
            store: store, writer: fixture.writer, lostWrites: policy, logger: fixture.logger,
            isGone: { !ForwardBatch.fileExists(directory: $0, name: $1) })
    }

    private func fingerprint(_ row: StoredEvent) -> [UInt8] {
        MessageFingerprint.bytes(id: row.id, timestamp: row.timestamp, name: row.filename)
    }

    @Test("the verdicts: in step, crash window by fingerprint, diverged without or with another fingerprint, lost")
    func verdicts() throws {
        let (fixture, store, rows) = try outbox(count: 6)
        defer { try? store.close() }
        let subject = reconciliation(fixture, store)
        let third = rows[2]
        #expect(try subject.verdict(queue: "jobs", expected: 0, found: nil, fingerprint: nil) == .inStep)
        #expect(try subject.verdict(queue: "jobs", expected: third.id, found: third.id, fingerprint: nil) == .inStep)
        #expect(
            try subject.verdict(queue: "jobs", expected: rows[0].id, found: third.id, fingerprint: fingerprint(third))
                == .crashWindow(through: third.id))
        #expect(
            try subject.verdict(queue: "jobs", expected: rows[0].id, found: third.id, fingerprint: nil)
                == .diverged(found: third.id))
        #expect(
            try subject.verdict(queue: "jobs", expected: rows[0].id, found: third.id, fingerprint: fingerprint(rows[1]))
                == .diverged(found: third.id))
        #expect(
            try subject.verdict(queue: "other", expected: 0, found: third.id, fingerprint: fingerprint(third))
                == .diverged(found: third.id))
        #expect(
            try subject.verdict(queue: "jobs", expected: 0, found: 999, fingerprint: fingerprint(third))
                == .diverged(found: 999))
        #expect(
            try subject.verdict(queue: "jobs", expected: third.id, found: nil, fingerprint: nil)
                == .lostWrites(found: nil))
        #expect(
            try subject.verdict(queue: "jobs", expected: third.id, found: rows[0].id, fingerprint: nil)
                == .lostWrites(found: rows[0].id))
    }

    @Test("the crash window marks the events up to the watermark delivered and expects the watermark")
    func crashWindow() throws {
        let (fixture, store, rows) = try outbox(count: 6)
        defer { try? store.close() }
        let settlement = try reconciliation(fixture, store).settle(
            queue: "jobs", expected: 0, found: rows[3].id, fingerprint: fingerprint(rows[3]))
        #expect(settlement == .init(expected: rows[3].id))
        #expect(
            try fixture.rows().map(\.state) == [.delivered, .delivered, .delivered, .delivered, .pending, .pending])
    }

    @Test("lost writes with resend: delivered events above the watermark are pending again, a gone file skipped")
    func lostWritesResend() throws {
        let (fixture, store, rows) = try outbox(count: 10)
        defer { try? store.close() }
        #expect(fixture.writer.markDelivered(queue: "jobs", upTo: rows[7].id, timeout: 10) == 8)
        // A consumer took two of the files since.
        for row in [rows[4], rows[6]] {
            _ = Self.path(fixture.watched, row.filename).withUnsafeBufferPointer {
                $0.withMemoryRebound(to: CChar.self) { unlink($0.baseAddress!) }
            }
        }
        let settlement = try reconciliation(fixture, store).settle(
            queue: "jobs", expected: rows[7].id, found: rows[2].id, fingerprint: nil)
        #expect(settlement == .init(expected: rows[2].id))
        let states = try fixture.rows().map(\.state)
        #expect(
            states == [
                .delivered, .delivered, .delivered, .pending, .skipped, .pending, .skipped, .pending, .pending,
                .pending,
            ])
        let warning = try #require(
            fixture.logs.entries("Redis lost writes: its watermark is behind the outbox; resending").first)
        #expect(warning.level == .warning)
        #expect(warning.metadata["outbox.resent"] == "3")
        #expect(warning.metadata["outbox.skipped"] == "2")
        #expect(warning.metadata["outbox.pruned"] == "0")
        #expect(warning.metadata["redis.watermark"] == "\(rows[2].id)")
        #expect(warning.metadata["outbox.delivered_through"] == "\(rows[7].id)")
    }

    @Test("lost writes with the watermark missing resend everything the queue delivered; ignore resends nothing")
    func lostWritesMissingAndIgnore() throws {
        let (fixture, store, rows) = try outbox(count: 5)
        defer { try? store.close() }
        #expect(fixture.writer.markDelivered(queue: "jobs", upTo: rows[4].id, timeout: 10) == 5)
        let ignored = try reconciliation(fixture, store, .ignore).settle(
            queue: "jobs", expected: rows[4].id, found: nil, fingerprint: nil)
        #expect(ignored.expected == rows[4].id)
        #expect(ignored.adopt?.found == 0)
        #expect(ignored.adopt?.fingerprint == fingerprint(rows[4]))
        #expect(try fixture.count(.delivered) == 5)
        let resent = try reconciliation(fixture, store).settle(
            queue: "jobs", expected: rows[4].id, found: nil, fingerprint: nil)
        #expect(resent == .init(expected: 0))
        #expect(try fixture.count(.pending) == 5)
        #expect(fixture.logs.entries("Redis lost writes: its watermark is behind the outbox; not resending").count == 1)
    }

    @Test("a diverged history gives every pending event a new id above the watermark, in the same order")
    func diverged() throws {
        let (fixture, store, rows) = try outbox(count: 6)
        defer { try? store.close() }
        #expect(fixture.writer.markDelivered(queue: "jobs", upTo: rows[0].id, timeout: 10) == 1)
        let watermark = rows[5].id + 100
        let settlement = try reconciliation(fixture, store).settle(
            queue: "jobs", expected: rows[0].id, found: watermark, fingerprint: Array("foreign".utf8))
        #expect(settlement == .init(expected: watermark))
        let after = try fixture.rows()
        #expect(after.map(\.filename) == rows.map(\.filename))
        #expect(after[0].id == rows[0].id && after[0].state == .delivered)
        #expect(after.dropFirst().allSatisfy { $0.id > watermark && $0.state == .pending })
        #expect(try store.deliveredThrough(queue: "jobs") == watermark)
        // New events come after the renumbered ones.
        try fixture.append(ForwarderFixture.events(queue: "jobs", counter: nil, count: 1, stem: "late"))
        let late = try #require(try fixture.rows().last)
        #expect(late.id > after.last!.id)
        #expect(
            fixture.logs.entries(
                "the outbox is behind Redis (diverged history); pending events get new ids above the watermark"
            ).count == 1)
    }
}

import Dispatch
import Foundation
import Glibc
import Synchronization
import Testing

@testable import DirectoryObserver

/// The parts of SPEC §6's "one file for every process" that need no daemon: the journal mode a restored
/// copy is opened in, the prune schedule under load, the writer after it stopped.
@Suite("Outbox: one file for every process (units)")
struct OutboxSharingUnitTests {
    /// This test's own directory (a suite instance per test), removed when the test ends.
    private let directory = TemporaryDirectory()

    /// Byte 18 of an SQLite header: 1 for a rollback journal, 2 for WAL.
    private func journalFormat(_ path: String) throws -> UInt8 {
        let bytes = try #require(FileManager.default.contents(atPath: path))
        return bytes[18]
    }

    @Test("a VACUUM INTO copy (rollback journal) restored in place is opened in WAL mode, its events intact")
    func restoredCopyOpensInWAL() throws {
        let path = directory.file("outbox.sqlite3")
        let backup = directory.file("backup.sqlite3")
        let writer = try OutboxWriter(settings: OutboxSettings(path: path), logger: testLogger)
        writer.append([event("one"), event("two")])
        #expect(writer.flush(timeout: 10))
        writer.stop()
        let source = try SQLiteConnection(path: path, mode: .readOnly)
        try source.execute("VACUUM INTO '\(backup)'")
        try source.close()
        #expect(try journalFormat(backup) == 1)
        for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
        #expect(rename(backup, path) == 0)

        let restored = try OutboxWriter(settings: OutboxSettings(path: path), logger: testLogger)
        restored.append([event("three")])
        #expect(restored.flush(timeout: 10))
        let reader = try OutboxFile.open(path: path, access: .inspect)
        #expect(try reader.scalar("PRAGMA journal_mode") == .text("wal"))
        #expect(try reader.integer("SELECT count(*) FROM events") == 3)
        try reader.close()
        restored.stop()
        #expect(try journalFormat(path) == 2)
    }

    @Test("a due prune step waits for an idle writer, or for enough commits under steady load")
    func pruneStepsUnderLoad() {
        var schedule = PruneSchedule(now: 100)
        #expect(schedule.isDue(now: 100, idle: true))
        #expect(!schedule.isDue(now: 100, idle: false))
        for _ in 1..<PruneSchedule.commitsBetweenStepsUnderLoad { schedule.recordCommit(now: 100, retention: 60) }
        #expect(!schedule.isDue(now: 100, idle: false))
        schedule.recordCommit(now: 100, retention: 60)
        #expect(schedule.isDue(now: 100, idle: false))
        // A step that found work: the next one at once; the commit count starts again.
        schedule.record(PruneStep(deleted: 2_000, finished: false), now: 100, nextDueIn: nil)
        #expect(schedule.isDue(now: 100, idle: true))
        #expect(!schedule.isDue(now: 100, idle: false))
    }

    @Test("after a step that found nothing, the next is due when the oldest retained delivery ages out, or never")
    func pruneTimerWhenIdle() {
        var schedule = PruneSchedule(now: 100)
        schedule.record(PruneStep(deleted: 0, finished: true), now: 100, nextDueIn: 30)
        #expect(!schedule.isDue(now: 129.9, idle: true))
        #expect(schedule.isDue(now: 130, idle: true))
        // Nothing retained: no timer at all until a commit, which may record a delivery.
        schedule.record(PruneStep(deleted: 0, finished: true), now: 130, nextDueIn: nil)
        #expect(schedule.nextStep == .infinity)
        #expect(!schedule.isDue(now: 1e12, idle: true))
        schedule.recordCommit(now: 200, retention: 60)
        #expect(schedule.nextStep == 260)
        // A later commit does not push a scheduled step back.
        schedule.recordCommit(now: 250, retention: 60)
        #expect(schedule.nextStep == 260)
    }

    @Test("a stopped writer refuses requests at once instead of leaving their callers waiting")
    func stoppedWriterRefuses() throws {
        let writer = try OutboxWriter(settings: OutboxSettings(path: directory.file("outbox.sqlite3")), logger: testLogger)
        writer.stop()
        let answered = DispatchSemaphore(value: 0)
        let committed = Mutex<Bool?>(nil)
        writer.append([event("late")]) { ok in
            committed.withLock { $0 = ok }
            answered.signal()
        }
        #expect(answered.wait(timeout: .now() + 5) == .success)
        #expect(committed.withLock { $0 } == false)
        #expect(writer.markDelivered(queue: "q", upTo: 10, timeout: 10) == 0)
    }
}

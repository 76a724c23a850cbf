import Foundation
import Glibc
import Testing

@testable import DirectoryObserver

/// The kernel keeps one watch per directory, and an overflow drops the events that say a directory went
/// away. A watcher driven by hand (no thread: the test decides when the kernel queue is read) shows that
/// neither loses a file: monitors naming one directory by two paths each get the events they need, and
/// a directory replaced while the queue overflowed is watched again at its path.
@Suite("Watcher: one directory under two paths, a directory replaced during an overflow")
struct WatcherSharedAndReplacedDirectoryTests {
    /// This test's own directory (a suite instance per test), removed when the test ends.
    private let directory = TemporaryDirectory()

    @Test("a close-mode and a create-mode monitor of one directory, named two ways, both announce a written file")
    func twoPathsOneDirectory() throws {
        let watched = directory.file("watched")
        try FileManager.default.createDirectory(atPath: watched, withIntermediateDirectories: false)
        let outbox = directory.file("outbox.sqlite3")
        let writer = try OutboxWriter(settings: OutboxSettings(path: outbox), logger: testLogger)
        defer { writer.stop() }
        // The close-mode monitor arms first: without IN_MASK_ADD the second path's mask replaced its own.
        let watcher = try makeWatcher(
            [
                MonitorConfig(
                    section: "closing", directory: watched, queue: "closed", pollQueueLimit: nil, announce: .close),
                MonitorConfig(
                    section: "creating", directory: watched + "/", queue: "created", pollQueueLimit: nil,
                    announce: .create),
            ], writer: writer)
        watcher.armAll()
        #expect(writer.flush(timeout: 10, includingListings: true))

        touch(watched + "/report.csv")  // IN_CREATE, then IN_CLOSE_WRITE
        watcher.readQueue(atMost: 1_000)
        #expect(writer.flush(timeout: 10, includingListings: true))
        #expect(try events(in: outbox) == ["created created report.csv", "closed created report.csv"])
    }

    @Test("a directory deleted and made again while the kernel queue overflowed is watched at its path after")
    func directoryReplacedDuringOverflow() throws {
        let (watched, outbox, writer, watcher) = try watchOneDirectory()
        defer { writer.stop() }
        removeDuringOverflow(watched, recreate: true, watcher: watcher, writer: writer)

        touch(watched + "/late")
        watcher.readQueue(atMost: 1_000)
        #expect(writer.flush(timeout: 10, includingListings: true))
        #expect(try events(in: outbox).filter { $0.hasSuffix(" late") } == ["q created late"])
    }

    @Test("a directory removed while the kernel queue overflowed is checked every second, then listed when back")
    func directoryRemovedDuringOverflow() throws {
        let (watched, outbox, writer, watcher) = try watchOneDirectory()
        defer { writer.stop() }
        removeDuringOverflow(watched, recreate: false, watcher: watcher, writer: writer)
        // Gone: the next availability check is at most a second away.
        let wait = watcher.runTimers()
        #expect(wait > 0 && wait <= 1)

        #expect(mkdir(watched, 0o755) == 0)
        touch(watched + "/back")
        usleep(UInt32(wait * 1_000_000) + 20_000)
        _ = watcher.runTimers()
        #expect(writer.flush(timeout: 10, includingListings: true))
        #expect(try events(in: outbox).filter { $0.hasSuffix(" back") } == ["q exists back"])
    }

    /// A directory `watched` with one create-mode monitor of queue `q`, armed and listed; the caller stops
    /// the writer.
    private func watchOneDirectory() throws -> (watched: String, outbox: String, writer: OutboxWriter, watcher: Watcher)
    {
        let watched = directory.file("watched")
        try FileManager.default.createDirectory(atPath: watched, withIntermediateDirectories: false)
        let outbox = directory.file("outbox.sqlite3")
        let writer = try OutboxWriter(settings: OutboxSettings(path: outbox), logger: testLogger)
        let watcher = try makeWatcher(
            [MonitorConfig(section: "w", directory: watched, queue: "q", pollQueueLimit: nil)], writer: writer)
        watcher.armAll()
        #expect(writer.flush(timeout: 10, includingListings: true))
        return (watched, outbox, writer, watcher)
    }

    /// More events than the kernel queues, then, while it is full, the directory emptied and removed (and
    /// made again with `recreate`): its IN_DELETE_SELF and IN_IGNORED are dropped with the overflow. The
    /// watcher then reads the whole queue, and what it hands the writer is committed.
    private func removeDuringOverflow(_ watched: String, recreate: Bool, watcher: Watcher, writer: OutboxWriter) {
        let queueLimit = ReadPacing.forThisMachine().queueLimit
        let names = (0..<(queueLimit + 50)).map { watched + "/f\($0)" }
        for name in names { touch(name) }
        for name in names { unlink(name) }
        #expect(rmdir(watched) == 0)
        if recreate { #expect(mkdir(watched, 0o755) == 0) }
        watcher.readQueue(atMost: 10 * queueLimit)
        #expect(writer.flush(timeout: 30, includingListings: true))
    }

    private func makeWatcher(_ configs: [MonitorConfig], writer: OutboxWriter) throws -> Watcher {
        try Watcher(
            monitors: try configs.map {
                Watcher.Monitor(config: $0, filter: try NameFilter(monitor: $0, file: "test.ini"))
            },
            writer: writer, board: QueueLengthBoard(), inactivityTimeout: nil, logger: testLogger, metrics: .disabled())
    }

    /// `queue event filename` of every event in the outbox, in id order.
    private func events(in path: String) throws -> [String] {
        let connection = try OutboxFile.open(path: path, access: .inspect)
        let select = try connection.prepare("SELECT queue, event, filename FROM events ORDER BY id")
        var found: [String] = []
        while try select.step() {
            found.append("\(select.text(0)) \(select.text(1)) \(String(decoding: select.blob(2), as: UTF8.self))")
        }
        return found
    }

    private func touch(_ path: String) {
        let descriptor = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
        precondition(descriptor >= 0, "open(\(path)) failed: errno \(errno)")
        close(descriptor)
    }
}

import Foundation
import Glibc
import Testing

@testable import DirectoryObserver

/// How the watcher paces its reads of the kernel queue: no pause for a lone event, a pause in a burst, none
/// when the queue nears its limit; and one read takes what fits in its buffer, leaving the rest queued.
@Suite("Watcher: read pacing")
struct ReadPacingTests {
    private let directory = TemporaryDirectory()

    @Test("a read of one event is not followed by a pause; two or more up to an eighth of the limit are")
    func pauseOnlyInABurst() {
        let pacing = ReadPacing(queueLimit: 16_384)
        #expect(pacing.pause(afterReading: 0) == nil)
        #expect(pacing.pause(afterReading: 1) == nil)
        #expect(pacing.pause(afterReading: 2) == ReadPacing.pauseMilliseconds)
        #expect(pacing.pause(afterReading: 2_048) == ReadPacing.pauseMilliseconds)
        #expect(pacing.pause(afterReading: 2_049) == nil, "a queue filling this fast is read again at once")
    }

    @Test("a lowered max_queued_events lowers the count above which the watcher reads again at once")
    func limitFollowsTheKernel() {
        let pacing = ReadPacing(queueLimit: 64)
        #expect(pacing.pause(afterReading: 8) == ReadPacing.pauseMilliseconds)
        #expect(pacing.pause(afterReading: 9) == nil)
    }

    @Test("the limit is read from /proc's text; a missing, empty or non-positive value means the default")
    func limitFromProc() {
        #expect(ReadPacing.queueLimit(fromProcText: "16384\n") == 16_384)
        #expect(ReadPacing.queueLimit(fromProcText: "1048576") == 1_048_576)
        for text in [nil, "", "zero", "0", "-5"] {
            #expect(ReadPacing.queueLimit(fromProcText: text) == ReadPacing.defaultQueueLimit, "\(text ?? "nil")")
        }
        #expect(ReadPacing.forThisMachine().queueLimit > 0)
    }

    @Test("one read takes the events that fit in the buffer and leaves the rest queued, in kernel order")
    func oneReadLeavesTheRest() throws {
        let inotify = try Inotify()
        _ = try inotify.addWatch(path: directory.path, mask: UInt32(IN_CREATE))
        let names = Self.longNames(3_000)
        for name in names {
            let fd = open(directory.path + "/" + name, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
            try #require(fd >= 0)
            close(fd)
        }
        var events: [InotifyEvent] = []
        let first = try inotify.readOnce(into: &events)
        #expect(first > 0 && first < names.count, "one read returned \(first) of \(names.count) events")
        #expect(events.count == first)
        events += try inotify.readAvailable()
        #expect(events.map { String(decoding: $0.name, as: UTF8.self) } == names)
        #expect(try inotify.readOnce(into: &events) == 0, "the queue is empty")
    }

    @Test("readEvents takes one read's worth; readQueue hands every queued event to the outbox, in order")
    func watcherReadsOneBufferThenTheQueue() throws {
        let watched = directory.file("watched")
        try FileManager.default.createDirectory(atPath: watched, withIntermediateDirectories: false)
        let path = directory.file("outbox.sqlite3")
        let writer = try OutboxWriter(settings: OutboxSettings(path: path, sync: .normal), logger: testLogger)
        defer { writer.stop() }
        let config = MonitorConfig(section: "watched", directory: watched, queue: "q", pollQueueLimit: nil)
        let watcher = try Watcher(
            monitors: [Watcher.Monitor(config: config, filter: try NameFilter(monitor: config, file: "test.ini"))],
            writer: writer, board: QueueLengthBoard(), inactivityTimeout: nil, logger: testLogger,
            metrics: .disabled())
        watcher.armAll()
        let names = Self.longNames(3_000)
        for name in names {
            let fd = open(watched + "/" + name, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
            try #require(fd >= 0)
            close(fd)
        }
        let first = watcher.readEvents()
        #expect(first > 0 && first < names.count, "one read returned \(first) of \(names.count) events")
        watcher.readQueue(atMost: 16_384)
        #expect(writer.flush(timeout: 10, includingListings: true))
        #expect(try committedNames(in: path) == names)
        #expect(watcher.readEvents() == 0, "the queue is empty")
    }

    /// `count` names of 200 bytes, in creation order: their 224-byte events need several reads of the
    /// watcher's 256 KB buffer, well under the kernel's default limit of 16,384 queued events.
    private static func longNames(_ count: Int) -> [String] {
        (0..<count).map { String(format: "%05d", $0) + String(repeating: "n", count: 195) }
    }

    /// The committed file names, in id order.
    private func committedNames(in path: String) throws -> [String] {
        let connection = try OutboxFile.open(path: path, access: .inspect)
        let select = try connection.prepare("SELECT filename FROM events ORDER BY id")
        var names: [String] = []
        while try select.step() { names.append(String(decoding: select.blob(0), as: UTF8.self)) }
        return names
    }
}

import Foundation
import Glibc
import Logging
import Synchronization

@testable import DirectoryObserver

/// A library-level watching setup for one test: its own temporary directory (on /dev/shm when asked,
/// to keep big bursts fast), an `OutboxWriter` on a fresh outbox there, and a `WatcherService` started
/// on demand. Rows are read back through a read-only connection after `writer.flush()`.
final class WatchHarness: Sendable {
    let temporary: TemporaryDirectory
    let outboxPath: String
    /// `in` inside the temporary directory, made by `init`: the directory most tests watch.
    let watched: String
    let writer: OutboxWriter
    let board = QueueLengthBoard()
    let log = LogRecorder()
    private let service = Mutex<WatcherService?>(nil)

    init(onTmpfs: Bool = false) throws {
        if onTmpfs, access("/dev/shm", W_OK) == 0 {
            temporary = try TemporaryDirectory(prefix: "dirobs-watch", base: "/dev/shm")
        } else {
            temporary = try TemporaryDirectory(prefix: "dirobs-watch")
        }
        outboxPath = temporary.appending("outbox.sqlite3")
        watched = temporary.appending("in")
        try FileManager.default.createDirectory(atPath: watched, withIntermediateDirectories: false)
        writer = try OutboxWriter(
            settings: OutboxSettings(path: outboxPath, sync: .normal), logger: log.logger(label: "writer"))
    }

    deinit {
        stop()
    }

    /// A new directory inside the test's temporary directory.
    func makeDirectory(_ name: String) throws -> String {
        let path = temporary.appending(name)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A monitor on `directory` with the given options and queue "q".
    static func monitor(
        _ directory: String, queue: String = "q", forcedPoll: Double = 0, pollQueueLimit: Int? = 10_000,
        only: [String] = ["^.*$"], ignore: [String] = [], announce: AnnounceMode = .create
    ) -> MonitorConfig {
        MonitorConfig(
            section: "test", directory: directory, queue: queue, counter: "\(queue):count", forcedPoll: forcedPoll,
            pollQueueLimit: pollQueueLimit, only: only, ignore: ignore, announce: announce)
    }

    /// Starts watching.
    func start(_ monitors: [MonitorConfig], inactivityTimeout: Double? = nil) throws {
        let pairs = try monitors.map { ($0, try NameFilter(monitor: $0, file: "test.ini")) }
        let started = try WatcherService(
            monitors: pairs, writer: writer, board: board, inactivityTimeout: inactivityTimeout,
            logger: log.logger(label: "watcher"))
        service.withLock { $0 = started }
    }

    /// Stops the watcher, then the writer. Safe to call twice.
    func stop() {
        let running = service.withLock { service in
            defer { service = nil }
            return service
        }
        running?.stop()
        writer.stop()
    }

    /// Every committed row, after the writer committed what it was handed.
    func rows() throws -> [OutboxRow] {
        writer.flush(timeout: 10, includingListings: true)
        return try OutboxRows.all(in: outboxPath)
    }

    /// Waits (up to `seconds`) until `condition` holds for the rows, and returns them; returns the last
    /// rows read when time ran out, so the caller's expectation fails with what was there.
    func rows(within seconds: Double = 5, until condition: ([OutboxRow]) -> Bool) async throws -> [OutboxRow] {
        var last: [OutboxRow] = []
        let found = try await eventually(within: seconds) { () throws -> [OutboxRow]? in
            last = try rows()
            return condition(last) ? last : nil
        }
        return found ?? last
    }

    /// Marks every pending event of `queue` delivered, as the forwarder would after pushing them.
    func markAllDelivered(queue: String = "q") {
        _ = writer.markDelivered(queue: queue, upTo: Int64.max, timeout: 30)
    }
}

/// File helpers for the watching tests, on plain system calls so each step is one kernel operation.
enum Files {
    /// Creates an empty file (open O_CREAT + close).
    static func create(_ path: String) throws {
        let fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SystemError(call: "open(\(path))", errno: errno) }
        close(fd)
    }

    /// Creates a file and sets its modification time to `mtime` (Unix seconds) with `futimens`.
    static func create(_ path: String, mtime: Double) throws {
        let fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SystemError(call: "open(\(path))", errno: errno) }
        defer { close(fd) }
        let seconds = floor(mtime)
        let time = timespec(tv_sec: Int(seconds), tv_nsec: Int((mtime - seconds) * 1_000_000_000))
        var times = [time, time]
        guard futimens(fd, &times) == 0 else { throw SystemError(call: "futimens(\(path))", errno: errno) }
    }

    static func rename(_ from: String, _ to: String) throws {
        guard Glibc.rename(from, to) == 0 else { throw SystemError(call: "rename(\(from), \(to))", errno: errno) }
    }
}

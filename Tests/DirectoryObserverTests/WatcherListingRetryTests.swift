import Foundation
import Glibc
import Testing

@testable import DirectoryObserver

/// A listing that fails (an unreadable directory, no room for its spool) is owed, not forgotten: the
/// watcher tries it again after a backoff until it succeeds.
@Suite("Watcher: a failed listing is tried again")
struct WatcherListingRetryTests {
    /// This test's own directory (a suite instance per test), removed when the test ends.
    private let directory = TemporaryDirectory()

    @Test("the files a failed listing missed are announced by its retry, once, and the retries then stop")
    func failedListingRetried() throws {
        let watched = directory.file("watched")
        try FileManager.default.createDirectory(atPath: watched, withIntermediateDirectories: false)
        for name in ["a", "b"] { #expect(FileManager.default.createFile(atPath: watched + "/" + name, contents: nil)) }
        let path = directory.file("outbox.sqlite3")
        let writer = try OutboxWriter(settings: OutboxSettings(path: path), logger: testLogger)
        defer { writer.stop() }
        let config = MonitorConfig(section: "watched", directory: watched, queue: "q", pollQueueLimit: nil)
        var failuresLeft = 1
        let watcher = try Watcher(
            monitors: [Watcher.Monitor(config: config, filter: try NameFilter(monitor: config, file: "test.ini"))],
            writer: writer, board: QueueLengthBoard(), inactivityTimeout: nil, logger: testLogger,
            metrics: .disabled(),
            scan: { directory, body in
                if failuresLeft > 0 {
                    failuresLeft -= 1
                    throw SystemError(call: "opendir(\(directory))", errno: EMFILE)
                }
                try DirectoryListing.scan(directory, body)
            })

        watcher.armAll()
        #expect(writer.flush(timeout: 10, includingListings: true))
        #expect(try announced(in: path).isEmpty)
        // The retry is the next deadline: within the first backoff (at most a second).
        let wait = watcher.runTimers()
        #expect(wait > 0 && wait <= 1)
        usleep(UInt32(wait * 1_000_000) + 20_000)
        #expect(watcher.runTimers() > 60)  // listed; nothing else is due
        #expect(writer.flush(timeout: 10, includingListings: true))
        #expect(failuresLeft == 0)
        #expect(try announced(in: path) == ["a", "b"])
    }

    /// The `exists` events in the outbox, in id order.
    private func announced(in path: String) throws -> [String] {
        let connection = try OutboxFile.open(path: path, access: .inspect)
        let select = try connection.prepare("SELECT filename FROM events WHERE event = 'exists' ORDER BY id")
        var names: [String] = []
        while try select.step() { names.append(String(decoding: select.blob(0), as: UTF8.self)) }
        return names
    }
}

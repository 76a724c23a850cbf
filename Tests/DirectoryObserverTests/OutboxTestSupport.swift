import DirectoryObserver
import Foundation
import Glibc
import Logging
import Testing

/// A directory of its own for one test, removed when it goes away (suites hold one as a property, and Swift
/// Testing makes a suite instance per test).
final class TemporaryDirectory: Sendable {
    let path: String

    /// Makes the directory. Should that fail, the first file made in it fails the test with the reason.
    init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("dirobs-test-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// `name` inside the directory.
    func file(_ name: String) -> String { path + "/" + name }

    /// The names in the directory, sorted.
    func names() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }
}

/// The package's root, found from this file's path (Tests/DirectoryObserverTests/…).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The bytes of a file, or nil when it cannot be read.
func contents(of path: String) -> [UInt8]? {
    FileManager.default.contents(atPath: path).map { Array($0) }
}

/// A `created` event for `queue` with the file name `name`.
func event(_ name: String, queue: String = "q", directory: String = "/d", kind: EventKind = .created)
    -> NewEvent
{
    NewEvent(
        queue: queue, counter: nil, directory: directory, filename: Array(name.utf8), kind: kind,
        timestamp: 1_795_548_219.58)
}

/// A store on a new outbox `outbox.sqlite3` in `directory`, opened the way the daemon opens it.
func openStore(_ directory: TemporaryDirectory) throws -> OutboxStore {
    OutboxStore(connection: try OutboxFile.open(path: directory.file("outbox.sqlite3"), access: .daemon))
}

/// Adds the events a question about the pending names of queue `q` in directory `/d` must tell apart:
/// `delivered`, delivered (the queue's oldest: delivery goes in id order); `pending`, pending in `q` and
/// `/d`; `otherDirectory`, pending in `q` under `/elsewhere`; `otherQueue`, pending in `other` under `/d`.
func insertPendingNeighbours(
    into store: OutboxStore, delivered: String, pending: String, otherDirectory: String, otherQueue: String
) throws {
    let id = try store.insert(event(delivered, queue: "q", directory: "/d"), createdAt: 1)
    try store.markDelivered(queue: "q", through: id, skipped: [], at: 1)
    try store.insert(event(pending, queue: "q", directory: "/d"), createdAt: 1)
    try store.insert(event(otherDirectory, queue: "q", directory: "/elsewhere"), createdAt: 1)
    try store.insert(event(otherQueue, queue: "other", directory: "/d"), createdAt: 1)
}

/// A logger for the code under test.
let testLogger = Logger(label: "test")

/// `dirobs-test-child` (the lock tests' other holder), built beside the binary under test: next to
/// `$DIRECTORY_OBSERVER_BIN` (set by tools/test), else in `.build/debug`.
func testChildBinary() -> URL {
    if let bin = ProcessInfo.processInfo.environment["DIRECTORY_OBSERVER_BIN"], !bin.isEmpty {
        return URL(fileURLWithPath: bin).deletingLastPathComponent().appendingPathComponent("dirobs-test-child")
    }
    return packageRoot.appendingPathComponent(".build/debug/dirobs-test-child")
}

import DirectoryObserver
import Foundation
import Glibc
import Testing

/// What the watcher commits for files appearing in a watched directory (SPEC §4, `created`), on real
/// inotify, through a real `OutboxWriter`.
@Suite("Watcher: created events", .serialized, .timeLimit(.minutes(1)))
struct WatcherEventTests {
    /// This test's harness (Swift Testing makes a suite instance per test; the harness stops when it goes)
    /// and the directory it watches.
    private let harness: WatchHarness
    private var directory: String { harness.watched }

    init() throws {
        harness = try WatchHarness()
    }

    /// Creates `sentinel` and expects the committed names to be exactly `names`, then `sentinel`: inotify
    /// reports in kernel order, so once the sentinel is in, every earlier event has been handled and none
    /// came in between.
    private func expectBeforeSentinel(_ names: [String], sentinel: String = "sentinel") async throws {
        try Files.create(directory + "/" + sentinel)
        let rows = try await harness.rows { $0.contains { $0.filename == sentinel } }
        #expect(rows.map(\.filename) == names + [sentinel], "\(rows)")
    }

    @Test("a file created in the directory is committed as one created event with the configured directory")
    func createdOnCreate() async throws {
        try harness.start([WatchHarness.monitor(directory)])
        let before = Clock.now()
        try Files.create(directory + "/a.txt")
        let rows = try await harness.rows { $0.count >= 1 }
        try #require(rows.count == 1, "\(rows)")
        let row = rows[0]
        #expect(row.event == "created")
        #expect(row.filename == "a.txt")
        #expect(row.directory == directory)
        #expect(row.queue == "q")
        #expect(row.state == "pending")
        #expect(row.eventTimestamp >= before && row.eventTimestamp <= Clock.now())
    }

    @Test("a file created as soon as the service is started is announced as created: the watch is armed first")
    func armedWhenStartReturns() async throws {
        try harness.start([WatchHarness.monitor(directory)])
        try Files.create(directory + "/first")
        let rows = try await harness.rows { $0.count >= 1 }
        #expect(rows.map(\.event) == ["created"], "\(rows)")
    }

    @Test(
        "a file moved in from outside the directory is a created event, with announce=close too (it is complete)",
        arguments: [AnnounceMode.create, .close])
    func createdOnMoveIn(announce: AnnounceMode) async throws {
        let outside = try harness.makeDirectory("outside")
        try Files.create(outside + "/moved.dat")
        try harness.start([WatchHarness.monitor(directory, announce: announce)])
        try Files.rename(outside + "/moved.dat", directory + "/moved.dat")
        let rows = try await harness.rows { $0.count >= 1 }
        #expect(rows.map(\.event) == ["created"], "\(rows)")
        #expect(rows.map(\.filename) == ["moved.dat"])
    }

    @Test("a file renamed inside the directory is announced again under its new name")
    func createdOnRenameInside() async throws {
        try harness.start([WatchHarness.monitor(directory)])
        try Files.create(directory + "/draft")
        _ = try await harness.rows { $0.count >= 1 }
        try Files.rename(directory + "/draft", directory + "/final")
        let rows = try await harness.rows { $0.count >= 2 }
        #expect(rows.map(\.filename) == ["draft", "final"], "\(rows)")
        #expect(rows.map(\.event) == ["created", "created"])
    }

    @Test("subdirectories and names rejected by only, ignore or .working produce nothing")
    func nothingForDirectoriesAndFilteredNames() async throws {
        let outside = try harness.makeDirectory("outside")
        try FileManager.default.createDirectory(atPath: outside + "/keep-moved-dir", withIntermediateDirectories: false)
        try harness.start([WatchHarness.monitor(directory, only: [#"^keep"#], ignore: [#"^.*\.tmp$"#])])
        try FileManager.default.createDirectory(atPath: directory + "/keep-subdir", withIntermediateDirectories: false)
        try Files.rename(outside + "/keep-moved-dir", directory + "/keep-moved-dir")
        try Files.create(directory + "/other.txt")
        try Files.create(directory + "/keep.tmp")
        try Files.create(directory + "/keep.working")
        try Files.create(directory + "/xkeep")
        try await expectBeforeSentinel([], sentinel: "keep-sentinel")
        // The names match re.match semantics: anchored at the start only.
        try Files.create(directory + "/keep.tmp.done")
        let more = try await harness.rows { $0.count >= 2 }
        #expect(more.map(\.filename) == ["keep-sentinel", "keep.tmp.done"], "\(more)")
    }

    @Test("announce=close: nothing while the writer keeps the file open, exactly one event after it closes")
    func closeModeWaitsForTheClose() async throws {
        try harness.start([WatchHarness.monitor(directory, announce: .close)])
        let fd = open(directory + "/big.bin", O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
        try #require(fd >= 0)
        var closed = false
        defer { if !closed { close(fd) } }
        let bytes = [UInt8](repeating: 0x41, count: 4096)
        #expect(bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == 4096)
        try await Task.sleep(for: .milliseconds(300))
        #expect(try harness.rows().isEmpty, "announced while still open")
        #expect(bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == 4096)
        let closedAt = Clock.now()
        close(fd)
        closed = true
        let rows = try await harness.rows { $0.count >= 1 }
        try #require(rows.count == 1, "\(rows)")
        #expect(rows[0].event == "created")
        #expect(rows[0].filename == "big.bin")
        #expect(rows[0].eventTimestamp >= closedAt, "announced before the close")
        // Exactly one: no second event for big.bin before the sentinel.
        try await expectBeforeSentinel(["big.bin"])
    }

    @Test("announce=close: a file opened and closed again without being created is not announced")
    func closeModeIgnoresRewrites() async throws {
        try harness.start([WatchHarness.monitor(directory, announce: .close)])
        try Files.create(directory + "/once")
        _ = try await harness.rows { $0.count >= 1 }
        try Files.create(directory + "/once")  // opened for writing and closed again: IN_CLOSE_WRITE only
        try await expectBeforeSentinel(["once"])
    }
}

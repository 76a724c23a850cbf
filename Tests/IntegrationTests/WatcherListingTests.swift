import DirectoryObserver
import Foundation
import Glibc
import Testing

/// Listings (SPEC §4, `exists`): at start, on `forced_poll`, after `monitor_inactivitytimeout`; their
/// order, their limit and their de-duplication against pending events.
@Suite("Watcher: listings", .serialized, .timeLimit(.minutes(1)))
struct WatcherListingTests {
    /// This test's harness (Swift Testing makes a suite instance per test; the harness stops when it goes)
    /// and the directory it watches.
    private let harness: WatchHarness
    private var directory: String { harness.watched }

    init() throws {
        harness = try WatchHarness()
    }

    /// Five files whose modification times are out of name order: e(-500 s) c(-400) a(-300) d(-200) b(-100).
    static let byAge = ["e", "c", "a", "d", "b"]

    private func makeAgedFiles(in directory: String) throws {
        let now = Clock.now()
        for (rank, name) in Self.byAge.enumerated() {
            try Files.create(directory + "/" + name, mtime: now - Double(500 - rank * 100))
        }
    }

    @Test("files present before the start are announced as exists, oldest modification time first")
    func startListingOldestFirst() async throws {
        try makeAgedFiles(in: directory)
        try FileManager.default.createDirectory(atPath: directory + "/subdir", withIntermediateDirectories: false)
        try harness.start([WatchHarness.monitor(directory)])
        let rows = try await harness.rows { $0.count >= 5 }
        #expect(rows.map(\.filename) == Self.byAge, "\(rows)")
        #expect(rows.allSatisfy { $0.event == "exists" && $0.directory == directory })
        // One listing: every row carries the same event_timestamp.
        #expect(Set(rows.map(\.eventTimestamp)).count == 1)
    }

    @Test("the start listing stops at poll_queue_limit: limit 3, five files, the three oldest")
    func startListingLimited() async throws {
        try makeAgedFiles(in: directory)
        try harness.start([WatchHarness.monitor(directory, pollQueueLimit: 3)])
        let warning = try await eventually(within: 5) {
            harness.log.messages(containing: "listing stopped early").first
        }
        #expect(warning?.level == .warning)
        #expect(warning?.metadata["listing.left_out"] == "2")
        let rows = try harness.rows()
        #expect(rows.map(\.filename) == ["e", "c", "a"], "\(rows)")
    }

    @Test("the limit counts pending events of the queue: limit 3 with one pending leaves room for two")
    func startListingLimitCountsPending() async throws {
        try makeAgedFiles(in: directory)
        harness.writer.append([
            NewEvent(
                queue: "q", counter: nil, directory: "/elsewhere", filename: Array("older".utf8), kind: .created,
                timestamp: Clock.now())
        ])
        try harness.start([WatchHarness.monitor(directory, pollQueueLimit: 3)])
        _ = try await eventually(within: 5) { harness.log.messages(containing: "listing stopped early").first }
        let rows = try harness.rows()
        #expect(rows.map(\.filename) == ["older", "e", "c"], "\(rows)")
    }

    @Test("the limit counts the list length last seen in Redis: limit 3 with a list of 2 leaves room for one")
    func startListingLimitCountsListLength() async throws {
        try makeAgedFiles(in: directory)
        harness.board.publish(queue: "q", length: 2)
        try harness.start([WatchHarness.monitor(directory, pollQueueLimit: 3)])
        _ = try await eventually(within: 5) { harness.log.messages(containing: "listing stopped early").first }
        let rows = try harness.rows()
        #expect(rows.map(\.filename) == ["e"], "\(rows)")
    }

    @Test("a listing skips names that already have a pending event for the queue")
    func listingSkipsPendingNames() async throws {
        try makeAgedFiles(in: directory)
        harness.writer.append(
            ["a", "d"].map {
                NewEvent(
                    queue: "q", counter: nil, directory: directory, filename: Array($0.utf8), kind: .created,
                    timestamp: Clock.now())
            })
        try harness.start([WatchHarness.monitor(directory)])
        let rows = try await harness.rows { $0.count >= 5 }
        try await Task.sleep(for: .milliseconds(200))
        let settled = try harness.rows()
        #expect(settled.map(\.filename) == ["a", "d", "e", "c", "b"], "\(rows)")
        #expect(settled.map(\.event) == ["created", "created", "exists", "exists", "exists"])
    }

    @Test("forced_poll=1 re-announces a file whose event was delivered, once, and not while it is pending")
    func forcedPollReannounces() async throws {
        try harness.start([WatchHarness.monitor(directory, forcedPoll: 1)])
        try Files.create(directory + "/stays")
        _ = try await harness.rows { $0.count >= 1 }
        harness.markAllDelivered()
        let rows = try await harness.rows(within: 4) { rows in rows.contains { $0.state == "pending" } }
        #expect(rows.map(\.event) == ["created", "exists"], "\(rows)")
        #expect(rows.map(\.filename) == ["stays", "stays"])
        #expect(rows.map(\.state) == ["delivered", "pending"])
        // While that exists event is pending, the next forced listings add nothing.
        try await Task.sleep(for: .milliseconds(2_300))
        let later = try harness.rows()
        #expect(later.count == 2, "\(later)")
        #expect(harness.log.messages(containing: "rebuilding").isEmpty)
    }

    @Test("monitor_inactivitytimeout=1 rebuilds the watch and lists; watching goes on afterwards")
    func inactivityRebuildsAndLists() async throws {
        try harness.start([WatchHarness.monitor(directory)], inactivityTimeout: 1)
        try Files.create(directory + "/quiet")
        _ = try await harness.rows { $0.count >= 1 }
        harness.markAllDelivered()
        let rows = try await harness.rows(within: 5) { rows in rows.contains { $0.state == "pending" } }
        #expect(rows.map(\.event) == ["created", "exists"], "\(rows)")
        #expect(rows.last?.filename == "quiet")
        #expect(!harness.log.messages(containing: "no event for monitor_inactivitytimeout").isEmpty)
        // The rebuilt inotify instance delivers events.
        try Files.create(directory + "/after-rebuild")
        let after = try await harness.rows { rows in rows.contains { $0.filename == "after-rebuild" } }
        #expect(after.last?.event == "created", "\(after)")
        #expect(after.last?.filename == "after-rebuild")
    }
}

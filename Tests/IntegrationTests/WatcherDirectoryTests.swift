import DirectoryObserver
import Foundation
import Glibc
import Testing

/// A watched directory that is missing, deleted or moved away (SPEC §4): it is checked every second and,
/// when a directory exists at the path again, watched and listed.
@Suite("Watcher: directories that come and go", .serialized, .timeLimit(.minutes(1)))
struct WatcherDirectoryTests {
    /// This test's harness (Swift Testing makes a suite instance per test; the harness stops when it goes)
    /// and the directory it watches.
    private let harness: WatchHarness
    private var directory: String { harness.watched }

    init() throws {
        harness = try WatchHarness()
    }

    /// Builds a directory holding `files` next to `path`, then renames it into place in one step, so its
    /// files can only be found by a listing (the watch never sees them created).
    private func moveIntoPlace(_ path: String, files: [String]) throws {
        try Files.rename(try stage(path, files: files), path)
    }

    /// A directory holding `files` next to `path`, not yet in place.
    private func stage(_ path: String, files: [String]) throws -> String {
        let staging = path + ".staging"
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: false)
        for name in files { try Files.create(staging + "/" + name) }
        return staging
    }

    @Test("a directory missing at start is watched and listed once it appears")
    func missingAtStart() async throws {
        let directory = harness.temporary.appending("later")
        try harness.start([WatchHarness.monitor(directory)])
        let warning = try await eventually(within: 3) {
            harness.log.messages(containing: "directory not watched").first
        }
        #expect(warning?.metadata["watch.reason"] == "missing")
        try moveIntoPlace(directory, files: ["waiting"])
        let listed = try await harness.rows { $0.count >= 1 }
        #expect(listed.map(\.event) == ["exists"], "\(listed)")
        #expect(listed.map(\.filename) == ["waiting"])
        try Files.create(directory + "/fresh")
        let rows = try await harness.rows { $0.count >= 2 }
        #expect(rows.map(\.filename) == ["waiting", "fresh"], "\(rows)")
        #expect(rows.last?.event == "created")
    }

    @Test("a directory deleted then created again (a new inode) is watched again and listed")
    func deletedThenRecreated() async throws {
        try harness.start([WatchHarness.monitor(directory)])
        try Files.create(directory + "/before")
        _ = try await harness.rows { $0.count >= 1 }
        var original = stat()
        try #require(stat(directory, &original) == 0)
        // Made while the original still exists, so it cannot get the original's inode number.
        let staging = try stage(directory, files: ["in-new-dir"])

        try FileManager.default.removeItem(atPath: directory)
        let warning = try await eventually(within: 3) {
            harness.log.messages(containing: "directory not watched").first
        }
        #expect(warning?.metadata["watch.reason"] == "deleted")
        try Files.rename(staging, directory)
        var replacement = stat()
        try #require(stat(directory, &replacement) == 0)
        #expect(replacement.st_ino != original.st_ino)

        let listed = try await harness.rows { rows in rows.contains { $0.filename == "in-new-dir" } }
        #expect(listed.map(\.filename) == ["before", "in-new-dir"], "\(listed)")
        #expect(listed.last?.event == "exists")
        try Files.create(directory + "/created-in-new-dir")
        let rows = try await harness.rows { $0.count >= 3 }
        #expect(rows.last?.filename == "created-in-new-dir", "\(rows)")
        #expect(rows.last?.event == "created")
        #expect(!harness.log.messages(containing: "directory is back").isEmpty)
    }

    @Test("a directory moved away is no longer watched there; a new directory at the path is watched and listed")
    func movedAwayThenReplaced() async throws {
        try harness.start([WatchHarness.monitor(directory)])
        try Files.create(directory + "/before")
        _ = try await harness.rows { $0.count >= 1 }

        let movedAway = harness.temporary.appending("moved-away")
        try Files.rename(directory, movedAway)
        let warning = try await eventually(within: 3) {
            harness.log.messages(containing: "directory not watched").first
        }
        #expect(warning?.metadata["watch.reason"] == "moved away")
        try Files.create(movedAway + "/in-old-dir")
        try moveIntoPlace(directory, files: ["in-new-dir"])
        let listed = try await harness.rows { rows in rows.contains { $0.filename == "in-new-dir" } }
        try Files.create(directory + "/created-in-new-dir")
        let rows = try await harness.rows { rows in rows.contains { $0.filename == "created-in-new-dir" } }
        #expect(rows.map(\.filename) == ["before", "in-new-dir", "created-in-new-dir"], "\(rows) after \(listed)")
        #expect(rows.map(\.event) == ["created", "exists", "created"])
        #expect(rows.allSatisfy { $0.directory == directory })
    }

    @Test("two monitors on one directory with different queues each get the event")
    func twoMonitorsOneDirectory() async throws {
        try harness.start([
            WatchHarness.monitor(directory, queue: "first"),
            WatchHarness.monitor(directory, queue: "second", only: [#"^.*\.xml$"#]),
        ])
        try Files.create(directory + "/a.txt")
        try Files.create(directory + "/b.xml")
        let rows = try await harness.rows { $0.count >= 3 }
        #expect(rows.map { "\($0.queue):\($0.filename)" } == ["first:a.txt", "first:b.xml", "second:b.xml"], "\(rows)")
    }
}

import DirectoryObserver
import Foundation
import Glibc
import Testing

/// SPEC §6: the outbox is one file for every process. Operator tools run beside the daemon never detach
/// it from the files at the path; another process's write transaction is waited out; an outbox removed
/// or replaced under the daemon stops it (status 75) before it commits to the orphan; the write-ahead
/// log shrinks again after a backlog.
@Suite("The outbox shared with other processes", .serialized, .timeLimit(.minutes(3)))
struct OutboxSharingTests {
    /// A command an operator runs beside the daemon, and the status it ends with.
    enum Tool: String, CaseIterable, CustomTestStringConvertible {
        case replayDryRun, replayID, purge, drainRefused, stats

        func arguments(config: String) -> [String] {
            switch self {
            case .replayDryRun: return ["replay", "--config", config, "--dry-run"]
            case .replayID: return ["replay", "--config", config, "--id", "1"]
            case .purge: return ["outbox", "purge", "--config", config, "--state", "delivered"]
            case .drainRefused: return ["drain", "--config", config]
            case .stats: return ["outbox", "stats", "--config", config, "--json"]
            }
        }

        var expectedStatus: Int32 { self == .drainRefused ? 75 : 0 }
    }

    /// The daemon's descriptors that name a deleted file of the outbox (`… (deleted)` in /proc/PID/fd).
    static func deletedOutboxDescriptors(pid: pid_t, outbox: String) -> [String] {
        let directory = "/proc/\(pid)/fd"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "\(directory)/\($0)") }
            .filter { $0.hasPrefix(outbox) && $0.hasSuffix("(deleted)") }
    }

    static func createFiles(_ names: [String], in directory: String) throws {
        for name in names { try Files.create(directory + "/" + name) }
    }

    /// The `created` messages' file names on list `q`, in the order they happened.
    static func createdNames(_ server: RedisServer) throws -> [String] {
        try server.list("q").reversed().compactMap { message in
            let object = try SurrogateJSON.object(String(decoding: message, as: UTF8.self))
            return object["event"] as? String == "created" ? object["filename"] as? String : nil
        }
    }

    static func logLines(_ path: String) -> [Substring] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n")
    }

    @Test("a tool run beside the daemon, then a crash: every created event still arrives, once", arguments: Tool.allCases)
    func toolBesideDaemonThenCrash(tool: Tool) async throws {
        let server = try RedisServer()
        let setup = try DaemonSetup(port: server.port)
        let log = setup.temporary.appending("daemon.log")
        let first = try await setup.start(["--log", log])
        let before = ["a0", "a1", "a2"]
        try Self.createFiles(before, in: setup.watched)
        try #require(try await eventually(within: 10) { try Self.createdNames(server).count == 3 ? true : nil } != nil)
        server.stop()

        let result = try ObserverBinary.run(tool.arguments(config: setup.configPath))
        #expect(result.status == tool.expectedStatus, "\(result.stderr)")
        #expect(Self.deletedOutboxDescriptors(pid: first.pid, outbox: setup.outboxPath) == [])

        let after = (0..<5).map { "b\($0)" }
        try Self.createFiles(after, in: setup.watched)
        try #require(
            try await eventually(within: 10) {
                try OutboxRows.all(in: setup.outboxPath).filter { $0.filename.hasPrefix("b") }.count == 5 ? true : nil
            } != nil)
        #expect(Self.deletedOutboxDescriptors(pid: first.pid, outbox: setup.outboxPath) == [])
        first.send(SIGKILL)
        _ = try await first.exitStatus(within: 5)
        // No listing can stand in for a lost `created`: the files are gone before the restart.
        for name in before + after { unlink(setup.watched + "/" + name) }

        try server.restart()
        let second = try await setup.start(["--log", log], name: "restarted")
        let arrived = try await eventually(within: 10) { () -> [String]? in
            let names = try Self.createdNames(server)
            return Set(after).isSubset(of: names) ? names : nil
        }
        let seen = try Self.createdNames(server)
        let names = try #require(arrived, "\(seen)")
        for name in after { #expect(names.filter { $0 == name }.count == 1, "\(name) in \(names)") }
        second.send(SIGTERM)
        #expect(try await second.exitStatus(within: 5) == 0)
    }

    @Test("another process's write transaction is waited out: no error, no re-listing, nothing lost", arguments: [3.0, 7.0])
    func writeTransactionHeldElsewhere(seconds: Double) async throws {
        let server = try RedisServer()
        let setup = try DaemonSetup(port: server.port)
        let log = setup.temporary.appending("daemon.log")
        let daemon = try await setup.start(["--log", log])
        try Self.createFiles(["before"], in: setup.watched)
        try #require(try await eventually(within: 10) { try Self.createdNames(server).count == 1 ? true : nil } != nil)

        let shell = try SQLiteConnection(path: setup.outboxPath, mode: .readWrite)
        try shell.execute("BEGIN IMMEDIATE")
        let names = (0..<5).map { "held\($0)" }
        try Self.createFiles(names, in: setup.watched)
        try await Task.sleep(for: .seconds(seconds))
        try shell.execute("COMMIT")
        try shell.close()

        let arrived = try await eventually(within: 10) { () -> [String]? in
            let all = try Self.createdNames(server)
            return all.count >= 6 ? all : nil
        }
        #expect(arrived == ["before"] + names)
        #expect(try server.list("q").count == 6, "an exists event means a re-listing")
        let lines = Self.logLines(log)
        #expect(!lines.contains { $0.contains(" error ") }, "\(lines)")
        let busyWarnings = lines.filter { $0.contains(" warning ") && $0.contains("outbox busy") }
        // Up to the busy timeout (5 s) SQLite waits by itself; past it the writer says so once.
        #expect(busyWarnings.count == (seconds > 5 ? 1 : 0), "\(lines)")
        daemon.send(SIGTERM)
        #expect(try await daemon.exitStatus(within: 5) == 0)
    }

    /// What happens to the outbox's files under the daemon.
    enum Detachment: String, CaseIterable, CustomTestStringConvertible {
        /// The main file, its log and its shared memory moved away together (to `<outbox>.moved`).
        case movedAway
        /// Another file renamed over the path.
        case replaced
        /// The write-ahead log unlinked (what a tool that wrongly believed it was last used to do).
        case logRemoved
        /// The shared-memory index unlinked (a cleanup job): the next process would build its own.
        case sharedMemoryRemoved
    }

    @Test("an outbox removed or replaced under the daemon: one error line, exit 75, nothing committed to the orphan",
        arguments: Detachment.allCases)
    func detachedOutboxStopsTheDaemon(detachment: Detachment) async throws {
        let server = try RedisServer()
        server.stop()
        let setup = try DaemonSetup(port: server.port)
        let log = setup.temporary.appending("daemon.log")
        let daemon = try await setup.start(["--log", log])
        try Self.createFiles(["first"], in: setup.watched)
        try #require(try await eventually(within: 10) { try OutboxRows.count(in: setup.outboxPath) == 1 ? true : nil } != nil)

        let path = setup.outboxPath
        let moved = path + ".moved"
        switch detachment {
        case .movedAway:
            for suffix in ["", "-wal", "-shm"] { try Files.rename(path + suffix, moved + suffix) }
        case .replaced:
            let copy = path + ".copy"
            try FileManager.default.copyItem(atPath: path, toPath: copy)
            try Files.rename(copy, path)
        case .logRemoved:
            unlink(path + "-wal")
        case .sharedMemoryRemoved:
            unlink(path + "-shm")
        }
        try Self.createFiles(["second"], in: setup.watched)
        #expect(try await daemon.exitStatus(within: 10) == 75)
        let errors = Self.logLines(log).filter { $0.contains(" error ") }
        #expect(errors.count == 1, "\(errors)")
        #expect(errors.first?.contains(path) == true, "\(errors)")
        if detachment == .movedAway {
            #expect(try OutboxRows.all(in: moved).map(\.filename) == ["first"])
        }
    }

    @Test("an outbox path that is a symbolic link works: the log and its index are beside the link's target")
    func symlinkedOutbox() async throws {
        let server = try RedisServer()
        let storage = try TemporaryDirectory(prefix: "dirobs-outbox-target")
        let target = storage.appending("real.outbox.sqlite3")
        let setup = try DaemonSetup(port: server.port, outboxPath: storage.appending("link.outbox.sqlite3"))
        // A first daemon creates the outbox at the target; then the configured path becomes a link to it.
        let direct = try DaemonSetup(port: server.port, outboxPath: target)
        let creator = try await direct.start()
        creator.send(SIGTERM)
        _ = try await creator.exitStatus(within: 5)
        try FileManager.default.createSymbolicLink(atPath: setup.outboxPath, withDestinationPath: target)

        let daemon = try await setup.start()
        try Self.createFiles(["through-link"], in: setup.watched)
        #expect(try await eventually(within: 10) { try Self.createdNames(server) == ["through-link"] ? true : nil } != nil)
        #expect(FileManager.default.fileExists(atPath: target + "-wal"))
        daemon.send(SIGTERM)
        #expect(try await daemon.exitStatus(within: 5) == 0)
    }

    @Test("after a large backlog drains, the write-ahead log is back under 1 MiB and size_bytes counts no more of it")
    func writeAheadLogShrinksAfterBacklog() async throws {
        let server = try RedisServer()
        server.stop()
        let setup = try DaemonSetup(port: server.port, extra: "poll_queue_limit=0")
        // Already there at start: the listing goes in transactions of 8,192 names (three here), and a
        // transaction's frames cannot be checkpointed before it ends, so with long names each one takes
        // the log past 1 MiB whatever the writer's checkpoints do between commits; the last one leaves it
        // there until the writer has been idle for 2 s.
        let count = 3 * 8_192
        let padding = String(repeating: "x", count: 128)
        for index in 0..<count {
            try Files.create(setup.watched + "/f\(index)-\(padding)")
        }
        let daemon = try await setup.start()
        var peak = 0
        var peakLog = 0
        func fileSize(_ path: String) -> Int {
            var info = stat()
            return stat(path, &info) == 0 ? Int(info.st_size) : 0
        }
        func outboxBytes() -> Int {
            let log = fileSize(setup.outboxPath + "-wal")
            peakLog = max(peakLog, log)
            return fileSize(setup.outboxPath) + log
        }
        try #require(
            try await eventually(within: 60) { () -> Bool? in
                peak = max(peak, outboxBytes())
                return try OutboxRows.count(in: setup.outboxPath) >= count ? true : nil
            } != nil)
        try server.restart()
        try #require(
            try await eventually(within: 60) { () -> Bool? in
                peak = max(peak, outboxBytes())
                return try server.command("LLEN", "q") == .integer(Int64(count)) ? true : nil
            } != nil)
        #expect(peakLog > 1 << 20, "the backlog never made the log larger than 1 MiB: \(peakLog)")
        let shrunk = try await eventually(within: 60) { () -> Int? in
            let size = fileSize(setup.outboxPath + "-wal")
            return size <= 1 << 20 ? size : nil
        }
        #expect(shrunk != nil)
        let stats = try ObserverBinary.run(["outbox", "stats", "--config", setup.configPath, "--json"])
        let reported = try #require(try SurrogateJSON.object(stats.stdoutText)["size_bytes"] as? Int)
        // The writer keeps the log it reuses at up to 1 MiB (see "The writer checkpoints" in the README),
        // so what is left above the database is at most that, and never more than at the peak.
        let database = fileSize(setup.outboxPath)
        #expect(reported <= database + 1 << 20, "size_bytes \(reported), database \(database)")
        #expect(reported <= peak, "size_bytes \(reported), peak \(peak)")
        daemon.send(SIGTERM)
        #expect(try await daemon.exitStatus(within: 5) == 0)
    }
}

import DirectoryObserver
import Foundation
import Glibc
import Testing

/// What the binary refuses at start, and what it takes from the command line (SPEC §2, §6): one line on
/// stderr and a non-zero exit, never the usage text.
@Suite("Daemon binary: start-up and refusals", .serialized, .timeLimit(.minutes(1)))
struct DaemonStartupTests {
    @Test("a second daemon on the same outbox exits non-zero with one stderr line naming the first one's pid")
    func secondDaemonRefused() async throws {
        let server = try RedisServer()
        let setup = try DaemonSetup(port: server.port)
        let first = try await setup.start()
        let second = try await setup.start(name: "second", waitForStart: false)
        let status = try await second.exitStatus(within: 5)
        #expect(status != nil && status != 0, "the second daemon exited with \(String(describing: status))")
        #expect(second.stderrLines.count == 1, "\(second.stderr)")
        #expect(second.stderr.contains("\(first.pid)"), "\(second.stderr)")
        #expect(!second.stdout.contains("directory_observer started"))
        #expect(first.isRunning)
        first.send(SIGTERM)
        #expect(try await first.exitStatus(within: 3) == 0)
    }

    @Test("--outbox PATH wins over outbox_path from the configuration")
    func outboxOptionOverridesConfig() async throws {
        let server = try RedisServer()
        server.stop()  // keep the events pending, to read them from the outbox
        let setup = try DaemonSetup(port: server.port)
        let override = setup.temporary.appending("override.sqlite3")
        let daemon = try await setup.start(["--outbox", override])
        try Files.create(setup.watched + "/routed")
        let rows = try await eventually(within: 5) { () -> [OutboxRow]? in
            let rows = try OutboxRows.all(in: override)
            return rows.isEmpty ? nil : rows
        }
        #expect(rows?.map(\.filename) == ["routed"])
        #expect(!FileManager.default.fileExists(atPath: setup.outboxPath))
        #expect(daemon.stdoutLines.contains { $0.contains("outbox.path=\(override)") })
        daemon.send(SIGTERM)
        #expect(try await daemon.exitStatus(within: 3) == 0)
    }

    @Test("an outbox whose directory is missing is refused with one line naming it")
    func missingOutboxDirectoryRefused() async throws {
        let setup = try DaemonSetup(port: 1)
        let missing = setup.temporary.appending("no-such-dir")
        let daemon = try await setup.start(["--outbox", missing + "/outbox.sqlite3"], waitForStart: false)
        let status = try await daemon.exitStatus(within: 5)
        #expect(status != nil && status != 0, "exit \(String(describing: status)); stdout: \(daemon.stdout)")
        #expect(daemon.stderrLines.count == 1, "\(daemon.stderr)")
        #expect(daemon.stderr.contains("directory \(missing) does not exist"), "\(daemon.stderr)")
        #expect(!FileManager.default.fileExists(atPath: missing))
    }

    @Test(
        "a bad argument gives one line on stderr and a non-zero exit, without the usage text",
        arguments: [
            ["--log-level", "loud"], ["--log-level=loud"], ["--no-such-option"],
        ])
    func badArgumentsOneLine(extra: [String]) async throws {
        let setup = try DaemonSetup(port: 1)
        let daemon = try await setup.start(extra, waitForStart: false)
        let status = try await daemon.exitStatus(within: 5)
        #expect(status != nil && status != 0, "exit \(String(describing: status))")
        #expect(daemon.stderrLines.count == 1, "\(daemon.stderr)")
        #expect(!daemon.stderr.lowercased().contains("usage"), "\(daemon.stderr)")
        #expect(daemon.stdout.isEmpty, "\(daemon.stdout)")
        if extra.joined().contains("loud") {
            #expect(daemon.stderr.contains("loud"), "the line does not name the value: \(daemon.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: setup.outboxPath), "it started anyway")
    }
}

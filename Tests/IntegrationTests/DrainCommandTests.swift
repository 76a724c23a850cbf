import DirectoryObserver
import Foundation
import Glibc
import Testing

/// `directory_observer drain --config FILE` (SPEC §2): forwards what is pending and exits 0, refuses while a
/// daemon holds the outbox, never creates an outbox, and fails when Redis cannot be reached in time.
@Suite("drain command", .serialized, .timeLimit(.minutes(1)))
struct DrainCommandTests {
    /// A daemon started while Redis is down records a created event for each of `names`, then is stopped:
    /// the outbox holds them pending. Returns the stopped server (`restart()` brings it up on the same port)
    /// and the daemon's setup.
    private func leftPending(_ names: [String]) async throws -> (RedisServer, DaemonSetup) {
        let server = try RedisServer()
        server.stop()
        let setup = try DaemonSetup(port: server.port)
        let daemon = try await setup.start()
        for name in names { try Files.create(setup.watched + "/" + name) }
        let recorded = try await eventually(within: 5) { () -> Bool? in
            try OutboxRows.all(in: setup.outboxPath).count == names.count ? true : nil
        }
        #expect(recorded == true)
        daemon.send(SIGTERM)
        #expect(try await daemon.exitStatus(within: 5) == 0)
        return (server, setup)
    }

    @Test("drain forwards the events a stopped daemon left pending, then exits 0")
    func drainsPendingEvents() async throws {
        let (server, setup) = try await leftPending(["one", "two", "three"])
        try server.restart()
        let result = try ObserverBinary.run(["drain", "--config", setup.configPath])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutText.contains("drained 3 events"), "\(result.stdoutText)")
        let names = try server.list("q").reversed().map { String(decoding: $0, as: UTF8.self) }
        #expect(names.count == 3 && names.allSatisfy { $0.contains("\"event\": \"created\"") })
        #expect(try OutboxRows.all(in: setup.outboxPath).allSatisfy { $0.state == "delivered" })
    }

    @Test("drain refuses while a daemon holds the outbox, naming its pid")
    func refusedWhileDaemonRuns() async throws {
        let server = try RedisServer()
        let setup = try DaemonSetup(port: server.port)
        let daemon = try await setup.start()
        let result = try ObserverBinary.run(["drain", "--config", setup.configPath])
        #expect(result.status != 0)
        #expect(result.stderrLines.count == 1, "\(result.stderr)")
        #expect(result.stderr.contains("\(daemon.pid)"), "\(result.stderr)")
        daemon.send(SIGTERM)
        #expect(try await daemon.exitStatus(within: 5) == 0)
    }

    @Test("drain with no outbox file refuses and creates nothing")
    func neverCreatesAnOutbox() throws {
        let setup = try DaemonSetup(port: 1)
        let result = try ObserverBinary.run(["drain", "--config", setup.configPath])
        #expect(result.status != 0)
        #expect(result.stderrLines.count == 1, "\(result.stderr)")
        #expect(result.stderr.contains("does not exist"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: setup.outboxPath))
        #expect(!FileManager.default.fileExists(atPath: setup.outboxPath + ".lock"))
    }

    @Test("drain exits non-zero with one line when Redis cannot be reached within the timeout")
    func failsWithoutRedis() async throws {
        let (_, setup) = try await leftPending(["waiting"])
        let started = Clock.monotonic()
        let result = try ObserverBinary.run(["drain", "--config", setup.configPath])
        #expect(result.status != 0)
        #expect(result.stderrLines.count == 1, "\(result.stderr)")
        #expect(result.stderr.contains("Redis"), "\(result.stderr)")
        #expect(Clock.monotonic() - started < 10, "timeout=2 in the configuration")
    }
}

import Foundation
import Glibc
import Testing

@testable import DirectoryObserver

/// SPEC §5/§8 failure classes against a real server: a server state that refuses writes (`MISCONF`,
/// `NOREPLICAS`, `OOM`, `READONLY`) or a configuration Redis refuses (`NOPERM`) never makes an event
/// `dead`, and each episode is a handful of log lines, not one per try.
@Suite("Redis server states and configuration refusals against a real server", .timeLimit(.minutes(2)))
struct ForwarderServerStateTests {
    /// How long each refusal lasts. With `retry_max = 0.5` that is dozens of tries.
    static let episodeSeconds: Double = 20

    enum ServerState: String, CaseIterable, CustomTestStringConvertible {
        case misconf = "MISCONF"
        case noReplicas = "NOREPLICAS"
        case oom = "OOM"
        case readOnly = "READONLY"

        func enter(_ server: RedisServer) throws {
            switch self {
            case .misconf:
                // A save whose file name is a directory fails; with a save point set, writes are refused.
                try #require(mkdir(server.directory.appending("isdir"), 0o755) == 0)
                try server.command("CONFIG", "SET", "save", "3600 1")
                try server.command("CONFIG", "SET", "dbfilename", "isdir")
                try server.command("BGSAVE")
            case .noReplicas: try server.command("CONFIG", "SET", "min-replicas-to-write", "1")
            case .oom: try server.command("CONFIG", "SET", "maxmemory", "1")
            case .readOnly: try server.command("REPLICAOF", "127.0.0.1", "1")
            }
            try #require(waitForWrites(server, refusedWith: rawValue))
        }

        func leave(_ server: RedisServer) throws {
            switch self {
            case .misconf:
                try server.command("CONFIG", "SET", "dbfilename", "dump.rdb")
                _ = waitUntil { (try? server.command("BGSAVE")) != nil }
            case .noReplicas: try server.command("CONFIG", "SET", "min-replicas-to-write", "0")
            case .oom: try server.command("CONFIG", "SET", "maxmemory", "0")
            case .readOnly: try server.command("REPLICAOF", "NO", "ONE")
            }
            try #require(waitForWrites(server, refusedWith: nil))
        }

        /// Waits until a write is refused with `prefix` (or, for nil, accepted).
        private func waitForWrites(_ server: RedisServer, refusedWith prefix: String?) -> Bool {
            waitUntil {
                do {
                    try server.command("SET", "probe", "x")
                    return prefix == nil
                } catch let error as RedisError {
                    return prefix != nil && error.kind == .reply(prefix: prefix!)
                } catch {
                    return false
                }
            }
        }

        private func waitUntil(_ condition: () -> Bool) -> Bool {
            let deadline = Clock.monotonic() + 10
            while Clock.monotonic() < deadline {
                if condition() { return true }
                usleep(50_000)
            }
            return false
        }
    }

    /// The Redis state lines of the log (everything at info or above except the first connect).
    private static func stateLines(_ logs: LogRecorder) -> [LogRecorder.Entry] {
        logs.all.filter { $0.level >= .info && $0.message != "connected to Redis" }
    }

    @Test(
        "a server state refusing writes for a while: nothing dead, all delivered after, at most 4 log lines",
        arguments: ServerState.allCases)
    func serverStateEpisode(state: ServerState) async throws {
        let server = try RedisServer(arguments: ["--enable-protected-configs", "yes"])
        let fixture = try ForwarderFixture()
        let events = ForwarderFixture.events(queue: "jobs", counter: "jobs:count", count: 30)
        let service = try fixture.service(
            fixture.settings(server, retry: RetrySettings(initial: 0.05, maximum: 0.5, maxAttempts: 3)))
        defer { service.stop() }
        try fixture.append(Array(events[..<10]))
        try #require(try await fixture.waitAsync { (try? server.length("jobs")) == 10 })

        try state.enter(server)
        let start = Clock.monotonic()
        try fixture.append(Array(events[10..<20]))
        try await pauseAsync(Self.episodeSeconds / 2)
        try fixture.append(Array(events[20...]))
        try await pauseAsync(Self.episodeSeconds - (Clock.monotonic() - start))
        #expect(try fixture.count(.dead) == 0)
        #expect(try fixture.count(.pending) == 20)
        #expect(try fixture.rows().allSatisfy { $0.attempts == 0 })
        try state.leave(server)

        try #require(try await fixture.waitAsync { (try? server.length("jobs")) == 30 })
        try #require(try await fixture.waitAsync { try fixture.count(.pending) == 0 })
        #expect(try server.consumerOrder("jobs") == events.map(ForwarderFixture.message))
        #expect(try server.integer("jobs:count") == 30)
        #expect(try fixture.count(.dead) == 0)
        let lines = Self.stateLines(fixture.logs)
        #expect(lines.count <= 4, "\(lines.map(\.message))")
        #expect(lines.first?.message == "Redis refuses writes for now; events wait in the outbox")
        #expect(lines.first?.metadata["error"]?.contains(state.rawValue) == true)
        #expect(lines.last?.message == "Redis reachable again")
    }

    @Test("NOPERM on the queue: held without attempts, one error naming the fix, delivered once the ACL allows it")
    func noPermissionHolds() async throws {
        let server = try RedisServer()
        try server.command("ACL", "SETUSER", "observer", "on", ">observer-pw", "~*", "&*", "+@all", "-lpush")
        let fixture = try ForwarderFixture()
        let events = ForwarderFixture.events(queue: "jobs", counter: nil, count: 10)
        try fixture.append(events)
        let settings = fixture.settings(
            server, retry: RetrySettings(initial: 0.01, maximum: 0.3, maxAttempts: 1),
            redis: RedisSettings(endpoint: server.endpoint, username: "observer", password: "observer-pw"))
        let service = try fixture.service(settings)
        defer { service.stop() }
        try #require(
            try await fixture.waitAsync(seconds: 10) {
                !fixture.logs.messages(containing: "configuration is fixed").isEmpty
            })
        try await pauseAsync(2)
        #expect(try fixture.count(.dead) == 0)
        #expect(try fixture.rows().allSatisfy { $0.attempts == 0 && $0.state == .pending })
        let held = fixture.logs.messages(containing: "configuration is fixed")
        #expect(held.count == 1)
        #expect(held.first?.level == .error)
        #expect(held.first?.metadata["fix"]?.contains("grant the ACL user") == true)

        try server.command("ACL", "SETUSER", "observer", "+lpush")
        try #require(try await fixture.waitAsync(seconds: 10) { try fixture.count(.pending) == 0 })
        #expect(try server.consumerOrder("jobs") == events.map(ForwarderFixture.message))
        #expect(fixture.logs.entries("queue accepts events again").count == 1)
    }

    @Test("a wrong password holds the forwarder with one error naming the fix, and retries at retry_max")
    func wrongPasswordHolds() async throws {
        let server = try RedisServer(password: "right")
        let fixture = try ForwarderFixture()
        try fixture.append(ForwarderFixture.events(queue: "jobs", counter: nil, count: 3))
        let settings = fixture.settings(
            server, retry: RetrySettings(initial: 0.01, maximum: 0.4, maxAttempts: 1),
            redis: RedisSettings(endpoint: server.endpoint, password: "wrong"))
        let service = try fixture.service(settings)
        try await pauseAsync(2)
        service.stop()
        let refused = fixture.logs.entries("Redis refuses the observer's configuration; events wait in the outbox")
        #expect(refused.count == 1)
        #expect(refused.first?.metadata["fix"]?.contains("redis_password") == true)
        #expect(
            !fixture.logs.all.contains {
                $0.metadata.values.contains { $0.contains("wrong") && !$0.contains("WRONGPASS") }
            })
        #expect(try fixture.count(.pending) == 3)
        #expect(try fixture.rows().allSatisfy { $0.attempts == 0 })
    }
}

@testable import DirectoryObserver
import Foundation
import Glibc
import Testing

/// How the forwarder reaches Redis (password, ACL user, unix socket, database) and `Drain.run`
/// (SPEC §2 `drain`, §3 Redis keys).
@Suite("Forwarder connection settings and drain against a real server", .timeLimit(.minutes(1)))
struct ForwarderConnectionTests {
    // MARK: - Reaching Redis

    @Test("requirepass: the password from the settings is sent, events arrive")
    func password() throws {
        let server = try RedisServer(password: "pässword with spaces")
        let fixture = try ForwarderFixture()
        let events = try fixture.appendJobs(count: 300)
        let settings = fixture.settings(
            server, redis: RedisSettings(endpoint: server.endpoint, password: "pässword with spaces"))
        let outcome = try Drain.run(settings: settings, writer: fixture.writer, logger: fixture.logger)
        #expect(outcome == Drain.Outcome(settled: 300, dead: 0))
        #expect(try server.consumerOrder("jobs") == events.map(ForwarderFixture.message))
        #expect(try server.integer("jobs:count") == 300)
    }

    @Test("a wrong password is not retried into success: drain fails and never names the password")
    func wrongPassword() throws {
        let server = try RedisServer(password: "right-one")
        let fixture = try ForwarderFixture()
        try fixture.append(ForwarderFixture.events(queue: "jobs", counter: nil, count: 5))
        let settings = fixture.settings(
            server, timeout: 0.5, redis: RedisSettings(endpoint: server.endpoint, password: "wrong-one"))
        let error = try #require(throws: DrainError.self) {
            try Drain.run(settings: settings, writer: fixture.writer, logger: fixture.logger)
        }
        guard case .redis(let redisError) = error else {
            Issue.record("expected a Redis error, got \(error)")
            return
        }
        #expect(redisError.kind == .reply(prefix: "WRONGPASS"))
        #expect(!error.description.contains("wrong-one"))
        #expect(!fixture.logs.all.contains { "\($0.metadata)".contains("wrong-one") })
        #expect(try fixture.count(.pending) == 5)
        #expect(try server.length("jobs") == 0)
    }

    @Test("username and password of an ACL user (the default user cannot push)")
    func aclUser() throws {
        let server = try RedisServer(password: "admin-secret")
        try server.command("ACL", "SETUSER", "forwarder", "on", ">pushing-secret", "~*", "&*", "+@all")
        let fixture = try ForwarderFixture()
        let events = try fixture.appendJobs(count: 120)
        let settings = fixture.settings(
            server,
            redis: RedisSettings(endpoint: server.endpoint, username: "forwarder", password: "pushing-secret"))
        let outcome = try Drain.run(settings: settings, writer: fixture.writer, logger: fixture.logger)
        #expect(outcome.settled == 120)
        #expect(try server.consumerOrder("jobs") == events.map(ForwarderFixture.message))
        // AUTH with the password alone (as `default`) would have been refused: the username was sent.
    }

    @Test("a unix socket endpoint")
    func unixSocket() throws {
        let server = try RedisServer(unixSocket: true)
        let path = try #require(server.unixSocketPath)
        let fixture = try ForwarderFixture()
        let events = ForwarderFixture.events(queue: "jobs", counter: nil, count: 250)
        try fixture.append(events)
        let settings = fixture.settings(server, redis: RedisSettings(endpoint: .unix(path: path)))
        let service = try fixture.service(settings)
        defer { service.stop() }
        try #require(try fixture.waitUntilNothingPending())
        #expect(try server.consumerOrder("jobs") == events.map(ForwarderFixture.message))
        #expect(fixture.logs.entries("connected to Redis").first?.metadata["redis.endpoint"] == "unix:\(path)")
    }

    @Test("redis_db 3: the events, the counter and the watermark land in database 3, nothing in 0")
    func database() throws {
        let server = try RedisServer()
        let fixture = try ForwarderFixture()
        let events = try fixture.appendJobs(count: 150)
        let settings = fixture.settings(
            server, redis: RedisSettings(endpoint: server.endpoint, database: 3, keyPrefix: "obs"))
        _ = try Drain.run(settings: settings, writer: fixture.writer, logger: fixture.logger)

        #expect(try server.command("DBSIZE") == .integer(0))
        let connection = try server.connect()
        try connection.select(database: 3)
        guard case .array(let elements) = try connection.command("LRANGE", "jobs", "0", "-1") else {
            Issue.record("LRANGE did not answer with an array")
            return
        }
        #expect(Array(elements.reversed()) == events.map { .bulk(ForwarderFixture.message($0)) })
        #expect(try connection.command("GET", "jobs:count").integerValue == 150)
        let watermark = try connection.command("GET", fixture.watermarkKey("jobs", prefix: "obs")).integerValue
        let lastID = try fixture.rows().last?.id
        #expect(watermark == lastID)
    }

    // MARK: - Drain

    @Test("drain forwards every pending event of every queue and returns")
    func drainEverything() throws {
        let server = try RedisServer()
        let fixture = try ForwarderFixture()
        let first = ForwarderFixture.events(queue: "one", counter: "one:count", count: 2_345, stem: "p")
        let second = ForwarderFixture.events(queue: "two", counter: nil, count: 1_234, stem: "q")
        try fixture.append(first + second)
        let outcome = try Drain.run(
            settings: fixture.settings(server, batchSize: 500), writer: fixture.writer, logger: fixture.logger)
        #expect(outcome == Drain.Outcome(settled: 3_579, dead: 0))
        // Drain returns only once the marks are committed.
        #expect(try fixture.count(.pending) == 0)
        #expect(try fixture.count(.delivered) == 3_579)
        #expect(try server.consumerOrder("one") == first.map(ForwarderFixture.message))
        #expect(try server.consumerOrder("two") == second.map(ForwarderFixture.message))
    }

    @Test("drain with nothing pending returns at once")
    func drainNothing() throws {
        let server = try RedisServer()
        let fixture = try ForwarderFixture()
        let started = Clock.monotonic()
        let outcome = try Drain.run(settings: fixture.settings(server), writer: fixture.writer, logger: fixture.logger)
        #expect(outcome == Drain.Outcome(settled: 0, dead: 0))
        #expect(Clock.monotonic() - started < 1)
    }

    @Test("drain with no server reachable throws .redis after about the timeout", arguments: [0.5, 1.5])
    func drainWithoutServer(timeout: Double) throws {
        let server = try RedisServer()
        server.stop()
        let fixture = try ForwarderFixture()
        try fixture.append(ForwarderFixture.events(queue: "jobs", counter: nil, count: 10))
        let settings = fixture.settings(
            server, timeout: timeout, retry: RetrySettings(initial: 0.05, maximum: 30))
        let started = Clock.monotonic()
        let error = try #require(throws: DrainError.self) {
            try Drain.run(settings: settings, writer: fixture.writer, logger: fixture.logger)
        }
        let elapsed = Clock.monotonic() - started
        guard case .redis(let redisError) = error else {
            Issue.record("expected a Redis error, got \(error)")
            return
        }
        #expect(redisError.kind == .connection)
        #expect(error.description.contains(String(server.port)))
        #expect(elapsed >= timeout * 0.9 && elapsed < timeout * 2 + 1, "took \(elapsed) s")
        #expect(try fixture.count(.pending) == 10)
    }

    @Test("drain held by a configuration refusal (NOPERM on the queue) fails after the timeout, naming the fix")
    func drainHeldByRefusal() throws {
        let server = try RedisServer(password: "admin-secret")
        try server.command("ACL", "SETUSER", "forwarder", "on", ">pushing-secret", "~*", "&*", "+@all", "-lpush")
        let fixture = try ForwarderFixture()
        _ = try fixture.appendJobs(count: 5)
        let settings = fixture.settings(
            server, timeout: 1, retry: RetrySettings(initial: 0.05, maximum: 0.2),
            redis: RedisSettings(endpoint: server.endpoint, username: "forwarder", password: "pushing-secret"))
        let started = Clock.monotonic()
        let error = try #require(throws: DrainError.self) {
            try Drain.run(settings: settings, writer: fixture.writer, logger: fixture.logger)
        }
        guard case .refused = error else {
            Issue.record("expected a configuration refusal, got \(error)")
            return
        }
        #expect(error.description.contains("fix:"))
        #expect(Clock.monotonic() - started < 10)
        #expect(try fixture.count(.pending) == 5)
        #expect(try fixture.count(.dead) == 0)
    }
}

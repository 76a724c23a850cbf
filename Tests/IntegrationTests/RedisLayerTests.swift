import DirectoryObserver
import Foundation
import Glibc
import Testing

/// The Redis layer (`RedisConnection`, `RedisReply`, `RedisError`) against a private redis-server.
@Suite("Redis layer against a real server", .timeLimit(.minutes(1)))
struct RedisLayerTests {
    /// Bytes no text codec would let through: NUL, CR LF, 0xFF 0xFE, and every byte value once.
    static let awkwardBytes: [UInt8] = [0x00, 0x61, 0x00, 0xFF, 0xFE, 0x0D, 0x0A, 0x00] + (0...255).map { UInt8($0) }

    // MARK: - Pipelining and values

    @Test("ten thousand pipelined commands all come back, correct and in order")
    func pipelineOfTenThousand() throws {
        let server = try RedisServer()
        let connection = try server.connect()
        let commands: [[[UInt8]]] = (0..<10_000).map { index in
            index.isMultiple(of: 2)
                ? [Array("INCR".utf8), Array("counter".utf8)]
                : [Array("ECHO".utf8), Array("message-\(index)".utf8)]
        }
        let replies = try connection.pipeline(commands)
        try #require(replies.count == 10_000)
        for (index, reply) in replies.enumerated() {
            let expected: RedisReply =
                index.isMultiple(of: 2) ? .integer(Int64(index / 2 + 1)) : .bulk(Array("message-\(index)".utf8))
            #expect(reply == expected, "reply \(index)")
            if reply != expected { break }
        }
        #expect(try server.command("GET", "counter").integerValue == 5_000)
        #expect(!connection.isBroken)
    }

    @Test("values with NUL and 0xFF bytes round-trip through SET and GET")
    func binarySafeStrings() throws {
        let server = try RedisServer()
        let connection = try server.connect()
        let key: [UInt8] = [0x6B, 0x00, 0xFF]
        #expect(try connection.command([Array("SET".utf8), key, Self.awkwardBytes]) == .status("OK"))
        #expect(try connection.command([Array("GET".utf8), key]) == .bulk(Self.awkwardBytes))
        #expect(try connection.command([Array("STRLEN".utf8), key]) == .integer(Int64(Self.awkwardBytes.count)))
        #expect(try connection.command("GET", "missing") == .null)
    }

    @Test("list elements with NUL and 0xFF bytes round-trip through LPUSH and LRANGE")
    func binarySafeLists() throws {
        let server = try RedisServer()
        let connection = try server.connect()
        let first: [UInt8] = [0x00]
        let second = Self.awkwardBytes
        let third: [UInt8] = []
        let pushed = try connection.command([Array("LPUSH".utf8), Array("queue".utf8), first, second, third])
        #expect(pushed == .integer(3))
        let range = try connection.command("LRANGE", "queue", "0", "-1")
        #expect(range == .array([.bulk(third), .bulk(second), .bulk(first)]))
        #expect(try server.list("queue") == [third, second, first])
    }

    // MARK: - Error replies

    @Test("WRONGTYPE is an error reply on a healthy connection, not a connection failure")
    func wrongTypeIsAReplyError() throws {
        let server = try RedisServer()
        let connection = try server.connect()
        _ = try connection.command("SET", "plain", "value")
        let error = try #require(throws: RedisError.self) { try connection.command("LPUSH", "plain", "x") }
        #expect(error.kind == .reply(prefix: "WRONGTYPE"))
        #expect(!error.isConnectionLevel)
        #expect(!error.isTransient)
        #expect(error.description.contains("WRONGTYPE"))
        #expect(!connection.isBroken)
        #expect(try connection.command("PING") == .status("PONG"))
    }

    @Test("an error reply in a pipeline fails only its own slot")
    func errorReplyInPipeline() throws {
        let server = try RedisServer()
        let connection = try server.connect()
        _ = try connection.command("SET", "plain", "value")
        let replies = try connection.pipeline([
            [Array("RPUSH".utf8), Array("list".utf8), Array("a".utf8)],
            [Array("RPUSH".utf8), Array("plain".utf8), Array("b".utf8)],
            [Array("RPUSH".utf8), Array("list".utf8), Array("c".utf8)],
        ])
        #expect(replies.count == 3)
        #expect(replies[0] == .integer(1))
        #expect(replies[2] == .integer(2))
        let error = try #require(throws: RedisError.self) { try replies[1].get() }
        #expect(error.kind == .reply(prefix: "WRONGTYPE"))
        #expect(try server.list("list") == [Array("a".utf8), Array("c".utf8)])
    }

    // MARK: - Authentication

    @Test("requirepass: NOAUTH without AUTH (transient), the right password works, a wrong one fails")
    func passwordAuthentication() throws {
        let server = try RedisServer(password: "s3cret-pass")
        let anonymous = try RedisConnection(endpoint: server.endpoint, timeout: 2)
        let refused = try #require(throws: RedisError.self) { try anonymous.command("PING") }
        #expect(refused.kind == .reply(prefix: "NOAUTH"))
        #expect(refused.isTransient)
        #expect(!refused.isConnectionLevel)

        try anonymous.authenticate(username: nil, password: "s3cret-pass")
        #expect(try anonymous.command("PING") == .status("PONG"))

        let wrong = try RedisConnection(endpoint: server.endpoint, timeout: 2)
        let denied = try #require(throws: RedisError.self) {
            try wrong.authenticate(username: nil, password: "not-the-password")
        }
        #expect(denied.kind == .reply(prefix: "WRONGPASS"))
        #expect(!denied.isTransient)
        #expect(!denied.description.contains("not-the-password"))
        #expect(throws: RedisError.self) { try wrong.command("PING") }
    }

    @Test("AUTH with a username and a password works for an ACL user")
    func aclUserAuthentication() throws {
        let server = try RedisServer()
        try server.command("ACL", "SETUSER", "forwarder", "on", ">pushing-secret", "~*", "&*", "+@all")

        let connection = try RedisConnection(endpoint: server.endpoint, timeout: 2)
        try connection.authenticate(username: "forwarder", password: "pushing-secret")
        #expect(try connection.command("ACL", "WHOAMI") == .bulk(Array("forwarder".utf8)))

        let other = try RedisConnection(endpoint: server.endpoint, timeout: 2)
        let denied = try #require(throws: RedisError.self) {
            try other.authenticate(username: "forwarder", password: "wrong")
        }
        #expect(denied.kind == .reply(prefix: "WRONGPASS"))
        #expect(try other.command("ACL", "WHOAMI") == .bulk(Array("default".utf8)))
    }

    // MARK: - Endpoints and connection failures

    @Test("a unix socket endpoint reaches the same server")
    func unixSocketEndpoint() throws {
        let server = try RedisServer(unixSocket: true)
        let path = try #require(server.unixSocketPath)
        let connection = try RedisConnection(endpoint: .unix(path: path), timeout: 2)
        #expect(try connection.command("SET", "via", "unix") == .status("OK"))
        #expect(try server.command("GET", "via") == .bulk(Array("unix".utf8)))
    }

    @Test("a missing unix socket is a connection error")
    func missingUnixSocket() throws {
        let directory = try TemporaryDirectory()
        let error = try #require(throws: RedisError.self) {
            try RedisConnection(endpoint: .unix(path: directory.appending("nothing.sock")), timeout: 1)
        }
        #expect(error.kind == .connection)
    }

    @Test("connecting where nothing listens is refused with a connection error")
    func connectionRefused() throws {
        let server = try RedisServer()
        let endpoint = server.endpoint
        server.stop()
        let started = ContinuousClock.now
        let error = try #require(throws: RedisError.self) { try RedisConnection(endpoint: endpoint, timeout: 2) }
        #expect(error.kind == .connection)
        #expect(error.isConnectionLevel)
        #expect(error.isTransient)
        #expect(error.description.contains(String(server.port)))
        #expect(ContinuousClock.now - started < .seconds(1))
    }

    @Test("a SIGSTOPped server times out within about the timeout and breaks the connection")
    func stoppedServerTimesOut() throws {
        let server = try RedisServer()
        let connection = try RedisConnection(endpoint: server.endpoint, timeout: 0.5)
        #expect(try connection.command("PING") == .status("PONG"))

        try server.pause()
        let started = ContinuousClock.now
        let error = try #require(throws: RedisError.self) { try connection.command("PING") }
        let elapsed = ContinuousClock.now - started
        #expect(error.kind == .timeout)
        #expect(elapsed > .milliseconds(300) && elapsed < .seconds(3), "took \(elapsed)")
        #expect(connection.isBroken)
        #expect(throws: RedisError.self) { try connection.command("PING") }

        try server.resume()
        #expect(connection.isBroken)
        #expect(throws: RedisError.self) { try connection.command("PING") }
        #expect(try server.connect().command("PING") == .status("PONG"))
    }

    @Test("after a restart on the same port a new connection works and the old one fails")
    func restartedServer() throws {
        let server = try RedisServer()
        let old = try server.connect()
        #expect(try old.command("SET", "before", "restart") == .status("OK"))
        let firstPID = server.pid

        try server.restart()
        #expect(server.pid != firstPID)

        let error = try #require(throws: RedisError.self) { try old.command("PING") }
        #expect(error.kind == .eof || error.kind == .connection, "got \(error)")
        #expect(old.isBroken)

        let fresh = try RedisConnection(endpoint: server.endpoint, timeout: 2)
        #expect(try fresh.command("PING") == .status("PONG"))
        // `--save ''`: nothing survives a restart.
        #expect(try fresh.command("GET", "before") == .null)
    }

    @Test("a command too large for the socket buffer to a dead server fails the command, not the process")
    func largeCommandToDeadServer() throws {
        let server = try RedisServer()
        let connection = try server.connect()
        #expect(try connection.command("PING") == .status("PONG"))
        server.stop()

        let payload = [UInt8](repeating: 0x78, count: 32 << 20)
        let error = try #require(throws: RedisError.self) {
            try connection.command([Array("SET".utf8), Array("big".utf8), payload])
        }
        #expect(error.isConnectionLevel)
        #expect(connection.isBroken)
    }
}

/// The test fixture itself: other suites rely on it cleaning up.
@Suite("RedisServer fixture", .timeLimit(.minutes(1)))
struct RedisServerFixtureTests {
    @Test("stop shuts the process down, reaps it, and is idempotent")
    func stopReapsTheProcess() throws {
        let server = try RedisServer()
        let pid = try #require(server.pid)
        #expect(kill(pid, 0) == 0)
        #expect(server.port != 6379)
        server.stop()
        #expect(server.pid == nil)
        // Reaped: the pid no longer names a child of ours.
        #expect(kill(pid, 0) == -1 && errno == ESRCH)
        server.stop()
        #expect(throws: (any Error).self) { try server.connect() }
    }

    @Test("a paused server is still stopped promptly")
    func stopWhilePaused() throws {
        let server = try RedisServer()
        let pid = try #require(server.pid)
        try server.pause()
        let started = ContinuousClock.now
        server.stop()
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(kill(pid, 0) == -1)
    }

    @Test("the server's directory is removed when the fixture goes away")
    func directoryIsRemoved() throws {
        var server: RedisServer? = try RedisServer()
        let path = try #require(server?.directory.path)
        #expect(FileManager.default.fileExists(atPath: path))
        server = nil
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}

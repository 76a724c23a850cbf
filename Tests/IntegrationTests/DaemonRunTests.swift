import DirectoryObserver
import Foundation
import Glibc
import Testing

/// The `directory_observer` binary as an operator runs it (SPEC §2, §4, §7): messages in Redis, the
/// counter, signals, the log file, and starting without Redis.
@Suite("Daemon binary: running", .serialized, .timeLimit(.minutes(2)))
struct DaemonRunTests {
    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ level message key=value…`
    static func isLogLine(_ line: String) -> Bool {
        let pattern =
            #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z (trace|debug|info|notice|warning|error|critical) [^ ].*$"#
        guard let regex = try? Regex(pattern) else { return false }
        return (try? regex.wholeMatch(in: line)) != nil
    }

    private func list(_ server: RedisServer, within seconds: Double = 10, count: Int) async throws -> [String] {
        var last: [String] = []
        _ = try await eventually(within: seconds) { () -> Bool? in
            last = try server.list("q").map { String(decoding: $0, as: UTF8.self) }
            return last.count >= count ? true : nil
        }
        return last
    }

    /// Checks one message is exactly `{"directory": DIR, "filename": NAME, "event": EVENT,
    /// "event_timestamp": FLOAT}` with the float between `earliest` and `latest`.
    private func expectMessage(
        _ message: String, directory: String, filename: String, event: String, between earliest: Double,
        and latest: Double, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let head =
            #"{"directory": ""# + directory + #"", "filename": ""# + filename + #"", "event": ""# + event
            + #"", "event_timestamp": "#
        #expect(message.hasPrefix(head), "\(message)", sourceLocation: sourceLocation)
        #expect(message.hasSuffix("}"), "\(message)", sourceLocation: sourceLocation)
        guard message.hasPrefix(head), message.hasSuffix("}") else { return }
        let number = message.dropFirst(head.count).dropLast()
        let timestamp = Double(number)
        #expect(timestamp != nil && number.contains("."), "not a float: \(number)", sourceLocation: sourceLocation)
        if let timestamp {
            #expect(timestamp >= earliest && timestamp <= latest, "\(timestamp)", sourceLocation: sourceLocation)
        }
    }

    @Test("a file dropped in the directory arrives on the list as the exact JSON message; the counter counts it")
    func fileArrivesInRedis() async throws {
        let server = try RedisServer()
        let setup = try DaemonSetup(port: server.port)
        let daemon = try await setup.start()
        let before = Clock.now()
        try Files.create(setup.watched + "/report.csv")
        let first = try await list(server, count: 1)
        try #require(first.count == 1, "stdout: \(daemon.stdout)")
        expectMessage(
            first[0], directory: setup.watched, filename: "report.csv", event: "created", between: before,
            and: Clock.now())
        #expect(try server.command("GET", "q:count") == .bulk(Array("1".utf8)))

        try Files.create(setup.watched + "/second.csv")
        let both = try await list(server, count: 2)
        #expect(both.count == 2)
        // LPUSH: the newest is first.
        if both.count == 2 {
            expectMessage(
                both[0], directory: setup.watched, filename: "second.csv", event: "created", between: before,
                and: Clock.now())
        }
        let counted = try await eventually(within: 5) { () -> Bool? in
            try server.command("GET", "q:count") == .bulk(Array("2".utf8)) ? true : nil
        }
        #expect(counted == true)
        daemon.send(SIGTERM)
        #expect(try await daemon.exitStatus(within: 3) == 0)
    }

    @Test("a file present at start arrives as an exists message")
    func fileAtStartArrivesAsExists() async throws {
        let server = try RedisServer()
        let setup = try DaemonSetup(port: server.port)
        try Files.create(setup.watched + "/old.dat")
        let before = Clock.now()
        let daemon = try await setup.start()
        let messages = try await list(server, count: 1)
        try #require(messages.count == 1, "stdout: \(daemon.stdout)")
        expectMessage(
            messages[0], directory: setup.watched, filename: "old.dat", event: "exists", between: before,
            and: Clock.now())
    }

    @Test(
        "SIGTERM and SIGINT: exit status 0 within 3 s, after logging stopping and stopped, every line in the log format",
        arguments: [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")])
    func signalStopsCleanly(signal: Int32, name: String) async throws {
        let server = try RedisServer()
        let setup = try DaemonSetup(port: server.port)
        let daemon = try await setup.start()
        daemon.send(signal)
        let status = try await daemon.exitStatus(within: 3)
        #expect(status == 0, "stderr: \(daemon.stderr)")
        let lines = daemon.stdoutLines
        #expect(lines.contains { $0.contains("info directory_observer stopping") }, "\(lines)")
        #expect(lines.contains { $0.contains("info directory_observer stopped") }, "\(lines)")
        #expect(lines.contains { $0.contains("signal=\(name)") }, "\(lines)")
        for line in lines {
            #expect(Self.isLogLine(line), "not in the log format: \(line)")
        }
        #expect(lines.last?.contains("directory_observer stopped") == true)
        #expect(daemon.stderr.isEmpty)
    }

    @Test("SIGHUP with --log: after the file was renamed, a new file is created and gets the next lines")
    func sighupReopensTheLog() async throws {
        let server = try RedisServer()
        let setup = try DaemonSetup(port: server.port)
        let logPath = setup.temporary.appending("observer.log")
        let rotated = logPath + ".1"
        let daemon = try await setup.start(["--log", logPath])
        try Files.rename(logPath, rotated)
        daemon.send(SIGHUP)
        #expect(try await daemon.waitFor("log file reopened", in: logPath, within: 5))
        #expect(daemon.isRunning, "SIGHUP ended the daemon")
        daemon.send(SIGTERM)
        #expect(try await daemon.exitStatus(within: 3) == 0)

        let fresh = try String(contentsOfFile: logPath, encoding: .utf8).split(separator: "\n").map(String.init)
        let old = try String(contentsOfFile: rotated, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(old.contains { $0.contains("directory_observer started") })
        #expect(!old.contains { $0.contains("log file reopened") || $0.contains("stopping") }, "\(old)")
        #expect(fresh.first?.contains("log file reopened") == true, "\(fresh)")
        #expect(fresh.contains { $0.contains("directory_observer stopping") })
        #expect(fresh.contains { $0.contains("directory_observer stopped") })
        for line in old + fresh {
            #expect(Self.isLogLine(line), "not in the log format: \(line)")
        }
        #expect(daemon.stdout.isEmpty, "with --log nothing goes to stdout: \(daemon.stdout)")
    }

    @Test("Redis down at start: the daemon runs, commits the event, and delivers it once Redis is up")
    func redisDownAtStart() async throws {
        let server = try RedisServer()
        server.stop()
        let setup = try DaemonSetup(port: server.port)
        let daemon = try await setup.start()
        try Files.create(setup.watched + "/waiting.txt")
        let committed = try await eventually(within: 5) { () -> [OutboxRow]? in
            let rows = try OutboxRows.all(in: setup.outboxPath)
            return rows.isEmpty ? nil : rows
        }
        #expect(committed?.map(\.filename) == ["waiting.txt"])
        #expect(committed?.map(\.state) == ["pending"])
        #expect(daemon.stdoutLines.contains { $0.contains("warning Redis unreachable") }, "\(daemon.stdout)")
        try await Task.sleep(for: .milliseconds(500))
        #expect(daemon.isRunning)

        try server.restart()
        let messages = try await list(server, within: 15, count: 1)
        #expect(messages.count == 1)
        #expect(messages.first?.contains(#""filename": "waiting.txt""#) == true)
        let delivered = try await eventually(within: 5) { () -> Bool? in
            try OutboxRows.all(in: setup.outboxPath).map(\.state) == ["delivered"] ? true : nil
        }
        #expect(delivered == true)
        daemon.send(SIGTERM)
        #expect(try await daemon.exitStatus(within: 3) == 0)
    }
}

import DirectoryObserver
import Foundation
import Glibc
import Testing

/// The operator tools next to a running daemon and a real Redis: `show` reports the very bytes the daemon
/// pushed, and a replayed event reaches Redis again within a second.
@Suite("Operator tools beside a running daemon", .serialized, .timeLimit(.minutes(2)))
struct OperatorToolsDaemonTests {
    /// Polls `condition` every 10 ms until it holds or `seconds` pass; returns whether it held.
    func eventually(within seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(10_000)
        }
        return try condition()
    }

    @Test("show's payload equals what the daemon pushed; stats names the daemon; replay is forwarded within a second")
    func showMatchesRedisAndReplayIsForwarded() throws {
        let redis = try RedisServer()
        let directory = try TemporaryDirectory(prefix: "dirobs-tools-daemon")
        let watched = directory.appending("incoming")
        try FileManager.default.createDirectory(atPath: watched, withIntermediateDirectories: false)
        let outbox = directory.appending("daemon.outbox.sqlite3")
        let config = directory.appending("config.ini")
        try """
        [common]
        active=false
        redis_server=127.0.0.1
        redis_port=\(redis.port)
        outbox_path=\(outbox)

        [incoming:common]
        active=true
        directory=\(watched)
        queue=tools:incoming
        """.write(toFile: config, atomically: true, encoding: .utf8)

        let daemon = try ObserverBinary.startDaemon(config: config, log: directory.appending("daemon.log"))
        defer { ObserverBinary.stop(daemon) }
        #expect(eventually(within: 10) { FileManager.default.fileExists(atPath: outbox) })
        usleep(300_000)  // let the watch be set up before the file appears

        // A name that is not UTF-8: the payload must carry it exactly as the daemon encoded it.
        let name: [UInt8] = Array("report-".utf8) + [0xFF, 0xFE] + Array(".csv".utf8)
        let fd = (Array(watched.utf8) + [UInt8(ascii: "/")] + name + [0]).withUnsafeBufferPointer {
            $0.baseAddress!.withMemoryRebound(to: CChar.self, capacity: $0.count) {
                open($0, O_CREAT | O_WRONLY, 0o644)
            }
        }
        try #require(fd >= 0)
        close(fd)

        try #require(try eventually(within: 10) { try redis.list("tools:incoming").count == 1 })
        let pushed = try redis.list("tools:incoming")[0]

        let listed = try ObserverBinary.run(["outbox", "list", "--config", config, "--json", "--state", "delivered"])
        try #require(listed.status == 0, "\(listed.stderr)")
        let row = try SurrogateJSON.object(try #require(listed.stdoutText.split(separator: "\n").first))
        let id = try #require(row["id"] as? Int)
        #expect(row["filename"] as? String == #"report-\udcff\udcfe.csv"#)

        let shown = try ObserverBinary.run(["outbox", "show", String(id), "--config", config, "--json"])
        try #require(shown.status == 0, "\(shown.stderr)")
        let payload = try #require(try SurrogateJSON.object(shown.stdoutText)["payload"] as? String)
        #expect(Array(payload.utf8) == pushed)

        let stats = try ObserverBinary.run(["outbox", "stats", "--config", config, "--json"])
        try #require(stats.status == 0, "\(stats.stderr)")
        let statsObject = try SurrogateJSON.object(stats.stdoutText)
        #expect(statsObject["daemon_pid"] as? Int == Int(daemon.processIdentifier))

        let replayed = try ObserverBinary.run(["replay", "--config", config, "--id", String(id)])
        #expect(replayed.stdoutText == "replayed 1 events\n")
        let start = Date()
        #expect(try eventually(within: 1.0) { try redis.list("tools:incoming").count == 2 })
        #expect(Date().timeIntervalSince(start) <= 1.2)
        #expect(try redis.list("tools:incoming") == [pushed, pushed])
    }
}

import DirectoryObserver
import Foundation
import Testing

/// `outbox stats|list|show|purge` and `replay` through the built binary: what an operator sees.
@Suite("Operator tools: output of the binary", .timeLimit(.minutes(2)))
struct OperatorToolsTests {
    let directory: TemporaryDirectory
    let outbox: String

    init() throws {
        directory = try TemporaryDirectory(prefix: "dirobs-tools")
        outbox = directory.appending("test.outbox.sqlite3")
    }

    /// Three queues' worth of events: ids 1…6.
    func createStandardOutbox() throws {
        try OutboxFiles.create(
            outbox,
            rows: [
                .init(queue: "a", state: .delivered, timestamp: 1_795_514_400),
                .init(queue: "a", state: .pending, timestamp: 1_795_514_401),
                .init(queue: "b", state: .dead, timestamp: 1_795_514_402, filename: [0x62, 0xFF]),
                .init(queue: "b", state: .skipped, timestamp: 1_795_514_403, kind: .exists),
                .init(queue: "a", state: .delivered, timestamp: 1_795_514_404),
                .init(queue: "c", state: .delivered, timestamp: 1_795_514_405),
            ])
    }

    func jsonObject(_ text: some StringProtocol) throws -> [String: Any] {
        try SurrogateJSON.object(text)
    }

    /// "Now" for the commands, and the clock moved 30 days on: whatever depends on the date must hold
    /// on any date.
    static let clockShifts: [Double] = [0, 30 * 86_400]

    /// Runs the binary (its clock moved by `clockShift`) and requires exit 0 and an empty stderr.
    func ok(_ arguments: [String], clockShift: Double = 0) throws -> String {
        let result = try ObserverBinary.run(arguments, clockShift: clockShift)
        try #require(result.status == 0, "\(arguments): status \(result.status), stderr \(result.stderr)")
        #expect(result.stderr.isEmpty)
        return result.stdoutText
    }

    func writeConfig(queues: [String]) throws -> String {
        var text = "[common]\nactive=false\noutbox_path=\(outbox)\n"
        for (index, queue) in queues.enumerated() {
            text += "\n[m\(index):common]\nactive=true\ndirectory=\(directory.path)\nqueue=\(queue)\n"
        }
        let path = directory.appending("config.ini")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    // MARK: - stats

    @Test("stats --json: every SPEC key, configured queues first with zeros, totals")
    func statsJSON() throws {
        try createStandardOutbox()
        let config = try writeConfig(queues: ["z", "a"])
        let object = try jsonObject(try ok(["outbox", "stats", "--config", config, "--json"]))
        #expect(
            Set(object.keys) == ["outbox", "uuid", "schema_version", "daemon_pid", "size_bytes", "queues", "totals"])
        #expect(object["outbox"] as? String == outbox)
        #expect((object["uuid"] as? String)?.count == 36)
        #expect(object["schema_version"] as? Int == Migrations.latestVersion)
        #expect(object["daemon_pid"] is NSNull)
        let size = try #require(FileManager.default.attributesOfItem(atPath: outbox)[.size] as? Int)
        let wal = (try? FileManager.default.attributesOfItem(atPath: outbox + "-wal")[.size] as? Int) ?? 0
        #expect(object["size_bytes"] as? Int == size + wal)
        let queues = try #require(object["queues"] as? [[String: Any]])
        #expect(queues.map { $0["queue"] as? String } == ["z", "a", "b", "c"])
        for queue in queues {
            #expect(Set(queue.keys) == ["queue", "pending", "delivered", "skipped", "dead", "oldest_pending_age_s"])
        }
        #expect(queues[0]["pending"] as? Int == 0 && queues[0]["delivered"] as? Int == 0)
        #expect(queues[0]["oldest_pending_age_s"] is NSNull)
        #expect(queues[1]["pending"] as? Int == 1 && queues[1]["delivered"] as? Int == 2)
        #expect((queues[1]["oldest_pending_age_s"] as? Double ?? 0) > 0)
        #expect(queues[2]["dead"] as? Int == 1 && queues[2]["skipped"] as? Int == 1)
        #expect((object["totals"] as? [String: Int]) == ["pending": 1, "delivered": 3, "skipped": 1, "dead": 1])
    }

    @Test("stats without --json is a table a person can read; --outbox wins over --config")
    func statsText() throws {
        try createStandardOutbox()
        let other = directory.appending("other.sqlite3")
        let config = try writeConfig(queues: ["a"])
        try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(of: outbox, with: other)
            .write(toFile: config, atomically: true, encoding: .utf8)
        let text = try ok(["outbox", "stats", "--config", config, "--outbox", outbox])
        #expect(text.contains("daemon          not running"))
        let lines = text.split(separator: "\n")
        let header = try #require(lines.firstIndex { $0.hasPrefix("QUEUE") })
        #expect(
            lines[header].split(separator: " ", omittingEmptySubsequences: true).prefix(5)
                == ["QUEUE", "PENDING", "DELIVERED", "SKIPPED", "DEAD"])
        #expect(lines[header + 1].split(separator: " ").prefix(5) == ["a", "1", "2", "0", "0"])
        #expect(lines.last?.split(separator: " ") == ["total", "1", "3", "1", "1"])
        #expect(!FileManager.default.fileExists(atPath: other))
    }

    // MARK: - list

    @Test("list --json is JSON Lines, oldest first, with the SPEC keys in order")
    func listJSON() throws {
        try createStandardOutbox()
        let text = try ok(["outbox", "list", "--outbox", outbox, "--json"])
        let lines = text.split(separator: "\n")
        #expect(lines.count == 6)
        let keys = [
            "id", "queue", "counter", "state", "event", "directory", "filename", "event_timestamp",
            "attempts", "last_error", "replay_of",
        ]
        for (index, line) in lines.enumerated() {
            let object = try jsonObject(line)
            #expect(object["id"] as? Int == index + 1)
            #expect(Set(object.keys) == Set(keys))
            let positions = keys.map { line.range(of: "\"\($0)\":")?.lowerBound }
            #expect(positions.allSatisfy { $0 != nil } && positions.map { $0! } == positions.map { $0! }.sorted())
        }
        // A name that is not UTF-8 is written as the message writes it.
        #expect(lines[2].contains(#""filename":"b\udcff""#))
        #expect(lines[2].contains(#""event_timestamp":1795514402.0"#))
        #expect(lines[3].contains(#""event":"exists""#))
    }

    @Test("list: --limit keeps the oldest, 0 means all, default 100; filters and inclusive bounds")
    func listFilters() throws {
        try OutboxFiles.create(
            outbox, rows: (0..<150).map { .init(state: .delivered, timestamp: 1_795_514_400 + Double($0)) })
        func ids(_ extra: [String]) throws -> [Int] {
            try ok(["outbox", "list", "--outbox", outbox, "--json"] + extra).split(separator: "\n")
                .map { try jsonObject($0)["id"] as? Int ?? -1 }
        }
        #expect(try ids([]) == Array(1...100))
        #expect(try ids(["--limit", "0"]) == Array(1...150))
        #expect(try ids(["--limit", "3"]) == [1, 2, 3])
        #expect(try ids(["--limit=2", "--since", "2026-11-24T10:00:10Z"]) == [11, 12])
        #expect(try ids(["--since", "1795514410", "--until", "2026-11-24T10:00:12Z"]) == [11, 12, 13])
        #expect(try ids(["--state", "pending"]) == [])
        #expect(try ids(["--queue", "other"]) == [])
        #expect(try ok(["outbox", "list", "--outbox", outbox, "--queue", "other"]) == "no matching events\n")
    }

    @Test("list without --json is an aligned table with UTC times and visible escapes")
    func listText() throws {
        try createStandardOutbox()
        let lines = try ok(["outbox", "list", "--outbox", outbox]).split(separator: "\n")
        #expect(lines.count == 7)
        #expect(lines[0].contains("EVENT TIME (UTC)"))
        #expect(lines[3].contains("2026-11-24T10:00:02.000Z"))
        #expect(lines[3].contains("/data/in/b\\xff"))
        let stateColumn = try #require(lines[0].range(of: "STATE")).lowerBound.utf16Offset(in: lines[0])
        for line in lines.dropFirst() {
            let state = try #require(line.range(of: #"(pending|delivered|skipped|dead)"#, options: .regularExpression))
            #expect(state.lowerBound.utf16Offset(in: line) == stateColumn)
        }
    }

    // MARK: - show

    @Test("show --json is the list object plus the payload, a JSON string of the exact message")
    func showJSON() throws {
        try createStandardOutbox()
        let text = try ok(["outbox", "show", "3", "--outbox", outbox, "--json"])
        let object = try jsonObject(text)
        #expect(object.count == 12)
        #expect(object["id"] as? Int == 3)
        #expect(object["state"] as? String == "dead")
        let payload = try #require(object["payload"] as? String)
        let expected = EventMessage.encode(
            directory: "/data/in", filename: [0x62, 0xFF], event: "created", timestamp: 1_795_514_402)
        #expect(Array(payload.utf8) == expected)
        let human = try ok(["outbox", "show", "3", "--outbox", outbox])
        #expect(human.contains("b\\xff"))
        #expect(human.contains("2026-11-24T10:00:02.000Z UTC"))
    }

    // MARK: - purge and replay

    @Test("purge deletes the state asked for and says how many; --older-than counts from now", arguments: clockShifts)
    func purge(clockShift: Double) throws {
        // Event times relative to the commands' "now": two dead events, ten days and one hour old.
        let now = Clock.now() + clockShift
        try OutboxFiles.create(
            outbox,
            rows: [
                .init(queue: "a", state: .delivered, timestamp: now - 10 * 86_400),
                .init(queue: "a", state: .pending, timestamp: now - 10 * 86_400),
                .init(queue: "b", state: .dead, timestamp: now - 10 * 86_400),
                .init(queue: "b", state: .dead, timestamp: now - 3_600),
                .init(queue: "a", state: .delivered, timestamp: now - 3_600),
            ])
        #expect(
            try ok(["outbox", "purge", "--outbox", outbox, "--state", "delivered", "--queue", "a"], clockShift: clockShift)
                == "purged 2 events\n")
        #expect(
            try ok(["outbox", "purge", "--outbox", outbox, "--state", "dead", "--older-than", "7d"], clockShift: clockShift)
                == "purged 1 events\n")
        let remaining = try ok(["outbox", "list", "--outbox", outbox, "--json"]).split(separator: "\n")
            .map { try jsonObject($0)["id"] as? Int ?? -1 }
        #expect(remaining == [2, 4])
    }

    @Test("ages in list and replay filters count back from now", arguments: clockShifts)
    func ageFilters(clockShift: Double) throws {
        let now = Clock.now() + clockShift
        // Events 10 days, 3 hours, 30 minutes and 1 minute old.
        try OutboxFiles.create(
            outbox,
            rows: [10 * 86_400, 3 * 3_600, 30 * 60, 60].map { .init(state: .delivered, timestamp: now - $0) })
        func ids(_ extra: [String]) throws -> [Int] {
            try ok(["outbox", "list", "--outbox", outbox, "--json"] + extra, clockShift: clockShift)
                .split(separator: "\n").map { try jsonObject($0)["id"] as? Int ?? -1 }
        }
        #expect(try ids(["--since", "7d"]) == [2, 3, 4])
        #expect(try ids(["--since", "2h"]) == [3, 4])
        #expect(try ids(["--until", "15m"]) == [1, 2, 3])
        #expect(try ids(["--since", "4h", "--until", "10m"]) == [2, 3])
        #expect(
            try ok(["replay", "--outbox", outbox, "--since", "1h", "--dry-run"], clockShift: clockShift)
                == "replayed 2 events\n")
        #expect(try ok(["replay", "--outbox", outbox, "--until", "1d"], clockShift: clockShift) == "replayed 1 events\n")
        #expect(try ids(["--state", "pending"]) == [5])
    }

    @Test("replay: delivered by default, dead rows move to the end, dry runs change nothing")
    func replay() throws {
        try createStandardOutbox()
        let before = OutboxFiles.contents(outbox)
        #expect(try ok(["replay", "--outbox", outbox, "--dry-run"]) == "replayed 3 events\n")
        #expect(try ok(["replay", "--outbox", outbox, "--dry-run", "--json"]) == "{\"replayed\": 3}\n")
        #expect(OutboxFiles.contents(outbox) == before)
        #expect(try ok(["replay", "--outbox", outbox, "--queue", "a", "--json"]) == "{\"replayed\": 2}\n")
        #expect(try ok(["replay", "--outbox", outbox, "--state", "dead"]) == "replayed 1 events\n")
        #expect(try ok(["replay", "--outbox", outbox, "--state", "skipped", "--queue", "a"]) == "replayed 0 events\n")
        let rows = try ok(["outbox", "list", "--outbox", outbox, "--json"]).split(separator: "\n").map(jsonObject)
        #expect(rows.map { $0["id"] as? Int } == [1, 2, 4, 5, 6, 7, 8, 9])
        #expect(rows.suffix(3).map { $0["replay_of"] as? Int } == [1, 5, 3])
        #expect(rows.suffix(3).allSatisfy { $0["state"] as? String == "pending" })
        #expect(rows.last?["filename"] as? String == #"b\udcff"#)
        #expect(try ok(["replay", "--outbox", outbox, "--id", "6", "--id", "1", "--json"]) == "{\"replayed\": 2}\n")
    }
}

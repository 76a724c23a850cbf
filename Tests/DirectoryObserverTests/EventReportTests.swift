import Foundation
import Testing

@testable import DirectoryObserver

/// What `outbox list`, `show` and `stats` print, from values (no file needed).
@Suite("Outbox reports: JSON shapes and tables")
struct EventReportTests {
    static let event = StoredEvent(
        id: 7,
        event: NewEvent(
            queue: "q:1", counter: nil, directory: "/data/in", filename: [0x61, 0xFF, 0x0A, 0x62], kind: .created,
            timestamp: 1_795_514_400.25),
        state: .dead, attempts: 5, lastError: "WRONGTYPE \"x\"",
        createdAt: 1_795_514_400.5,
        deliveredAt: nil, replayOf: 3)

    @Test("a list line has exactly the SPEC keys, in order, on one line")
    func jsonLine() throws {
        let line = EventReport.jsonLine(Self.event)
        #expect(!line.contains("\n"))
        #expect(
            line == #"{"id":7,"queue":"q:1","counter":null,"state":"dead","event":"created","directory":"/data/in","#
                + #""filename":"a\udcff\nb","event_timestamp":1795514400.25,"attempts":5,"#
                + #""last_error":"WRONGTYPE \"x\"","replay_of":3}"#)
        // Foundation refuses lone surrogates, so parse a twin whose name is UTF-8 to count the keys.
        var twin = Self.event
        twin.filename = Array("ab".utf8)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(EventReport.jsonLine(twin).utf8)) as? [String: Any])
        #expect(object.count == 11)
    }

    @Test("show's payload is a JSON string holding the exact message bytes")
    func showPayload() throws {
        // The whole line, byte for byte: the list object, then the message quoted as a JSON string.
        let line = EventReport.jsonLine(Self.event)
        #expect(
            EventReport.showJSON(Self.event)
                == line.dropLast() + #","payload":"{\"directory\": \"/data/in\", \"filename\": "#
                + #"\"a\\udcff\\nb\", \"event\": \"created\", \"event_timestamp\": 1795514400.25}"}"#)
        var twin = Self.event
        twin.filename = Array("ab c".utf8)
        let text = EventReport.showJSON(twin)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let payload = try #require(object["payload"] as? String)
        #expect(Array(payload.utf8) == twin.message)
        #expect(object.count == 12)
    }

    @Test("tables escape odd bytes visibly and label times as UTC")
    func table() {
        let table = EventReport.table([Self.event], now: 1_795_514_592.25)
        let lines = table.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0].contains("EVENT TIME (UTC)"))
        #expect(lines[1].contains("/data/in/a\\xff\\x0ab"))
        #expect(lines[1].contains("2026-11-24T10:00:00.250Z"))
        #expect(lines[1].contains("3m12s"))
        #expect(EventReport.table([], now: 0) == "no matching events")
        let show = EventReport.text(Self.event, now: 1_795_514_592.25)
        #expect(show.contains("a\\xff\\x0ab"))
        #expect(show.contains("2026-11-24T10:00:00.250Z UTC (3m12s ago)"))
    }

    @Test("stats JSON has the SPEC keys; the table lines up")
    func stats() throws {
        let stats = OutboxStats(
            path: "/o", uuid: "u", schemaVersion: 1, daemonPID: 42, sizeBytes: 2048,
            queues: [
                .init(name: "a", counts: .init(pending: 1, delivered: 20), oldestPendingAge: 12.5),
                .init(name: "b", counts: .init(), oldestPendingAge: nil),
            ])
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(OutboxStatsReport.json(stats).utf8)) as? [String: Any])
        #expect(
            Set(object.keys) == ["outbox", "uuid", "schema_version", "daemon_pid", "size_bytes", "queues", "totals"])
        let queues = try #require(object["queues"] as? [[String: Any]])
        #expect(Set(queues[0].keys) == ["queue", "pending", "delivered", "skipped", "dead", "oldest_pending_age_s"])
        #expect(queues[0]["oldest_pending_age_s"] as? Double == 12.5)
        #expect(queues[1]["oldest_pending_age_s"] is NSNull)
        #expect((object["totals"] as? [String: Int]) == ["pending": 1, "delivered": 20, "skipped": 0, "dead": 0])
        let lines = OutboxStatsReport.text(stats).split(separator: "\n", omittingEmptySubsequences: false)
        let header = try #require(lines.firstIndex { $0.hasPrefix("QUEUE") })
        #expect(lines[header + 1].hasPrefix("a "))
        #expect(lines[header + 1].hasSuffix("12s"))
        #expect(lines.allSatisfy { !$0.hasSuffix(" ") })
        // Numbers are right-aligned under their header.
        let headerLine = String(lines[header])
        let row = String(lines[header + 1])
        let end = try #require(headerLine.range(of: "DELIVERED")).upperBound.utf16Offset(in: headerLine)
        #expect(row.range(of: " 20 ").map { $0.upperBound.utf16Offset(in: row) - 1 } == end)
        #expect(OutboxStatsReport.text(stats).contains("running (pid 42)"))
    }
}

import Foundation
import Testing

@testable import DirectoryObserver

@Suite("check-config's report")
struct ConfigReportTests {
    /// This test's own directory (a suite instance per test), removed when the test ends.
    private let scratch = ConfigScratch()

    @Test("the JSON report has the monitors, Redis, outbox and retry settings, and never the password")
    func json() throws {
        let configuration = try scratch.load(
            "[common]\nredis_password=hunter2\nredis_port=7000\n"
                + monitorSection(extra: "counter=c\npoll_queue_limit=0\nonly=^a\"b"))
        let text = ConfigReport.json(configuration)
        #expect(!text.contains("hunter2"))

        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let monitors = try #require(object["monitors"] as? [[String: Any]])
        let monitor = try #require(monitors.first)
        #expect(
            Set(monitor.keys)
                == [
                    "section", "directory", "queue", "counter", "forced_poll", "poll_queue_limit", "timeout", "only",
                    "ignore", "announce",
                ])
        #expect(monitor["section"] as? String == "m")
        #expect(monitor["directory"] as? String == "dir/m")
        #expect(monitor["counter"] as? String == "c")
        #expect(monitor["poll_queue_limit"] is NSNull)
        #expect(monitor["only"] as? [String] == ["^a\"b"])
        #expect(monitor["ignore"] as? [String] == [#"^.*\.working$"#])
        #expect(monitor["announce"] as? String == "create")

        let redis = try #require(object["redis"] as? [String: Any])
        #expect(redis["server"] as? String == "127.0.0.1")
        #expect(redis["port"] as? Int == 7000)
        #expect(redis["password_set"] as? Bool == true)
        #expect(redis["db"] as? Int == 0)
        #expect(redis["key_prefix"] as? String == "directory_observer")
        let outbox = try #require(object["outbox"] as? [String: Any])
        #expect(outbox["path"] as? String == scratch.path + "/directory_observer.outbox.sqlite3")
        #expect(outbox["sync"] as? String == "full")
        #expect(outbox["retention"] as? Int == 86_400)
        #expect(outbox["max_pending"] as? Int == 1_000_000)
        let retry = try #require(object["retry"] as? [String: Any])
        #expect(retry["initial"] as? Double == 0.1)
        #expect(object["monitor_inactivitytimeout"] as? Int == 300)
    }

    @Test("the JSON keys come in a fixed order, so two runs print the same text")
    func stableOrder() throws {
        let configuration = try scratch.load("[common]\nredis_unix_socket=/run/r.sock\n" + monitorSection())
        let text = ConfigReport.json(configuration)
        #expect(text == ConfigReport.json(configuration))
        let order = ["\"file\"", "\"monitors\"", "\"redis\"", "\"unix_socket\"", "\"outbox\"", "\"retry\""]
        let positions = order.compactMap { text.firstRange(of: $0)?.lowerBound }
        #expect(positions.count == order.count)
        #expect(positions == positions.sorted())
        #expect(!text.contains("\"port\""))
    }

    @Test("the text report names each monitor and the settings, and says only whether a password is set")
    func text() throws {
        let configuration = try scratch.load("[common]\nredis_password=hunter2\n" + monitorSection())
        let text = ConfigReport.text(configuration)
        #expect(text.contains("[m]"))
        #expect(text.contains("queue:m"))
        #expect(text.contains("password          set"))
        #expect(text.contains("127.0.0.1:6379"))
        #expect(!text.contains("hunter2"))
    }
}

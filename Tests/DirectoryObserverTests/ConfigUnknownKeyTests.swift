import Testing

@testable import DirectoryObserver

/// Keys no rule reads (SPEC §9): each is reported with its file, section, key and line, and the known key
/// it most likely stands for; a file in the original's layout, or one using every known key, has none.
@Suite("Configuration: unknown keys")
struct ConfigUnknownKeyTests {
    /// This test's own directory (a suite instance per test), removed when the test ends.
    private let scratch = ConfigScratch()

    struct Case: CustomTestStringConvertible, Sendable {
        let section: String
        let line: String
        let key: String
        let suggestion: String?
        var testDescription: String { "[\(section)] \(line)" }
    }

    static let cases: [Case] = [
        Case(section: "common", line: "redis_prot=6380", key: "redis_prot", suggestion: "redis_port"),
        Case(section: "common", line: "redis-server=10.0.0.1", key: "redis-server", suggestion: "redis_server"),
        Case(section: "redis", line: "port=6380", key: "port", suggestion: "redis_port"),
        Case(section: "outbox", line: "sync=normal", key: "sync", suggestion: "outbox_sync"),
        Case(section: "m", line: "directroy=/tmp/x", key: "directroy", suggestion: "directory"),
        Case(section: "m", line: "qeue=q2", key: "qeue", suggestion: "queue"),
        Case(section: "m", line: "timout[prod]=3", key: "timout", suggestion: "timeout"),
        Case(section: "m", line: "forcedpoll=60", key: "forcedpoll", suggestion: "forced_poll"),
        Case(
            section: "common", line: "metrics_listne=127.0.0.1:9464", key: "metrics_listne",
            suggestion: "metrics_listen"),
        Case(section: "m", line: "colour=blue", key: "colour", suggestion: nil),
    ]

    @Test("each kind of unknown key is named with its file, section, line and the right suggestion", arguments: cases)
    func unknownKeyIsReported(_ example: Case) throws {
        let extra = example.section == "m" ? example.line : ""
        var text = monitorSection("m", extra: extra)
        if example.section != "m" { text += "\n[\(example.section)]\n\(example.line)\n" }
        let configuration = try scratch.load(text)
        try #require(configuration.unknownKeys.count == 1, "\(configuration.unknownKeys)")
        let unknown = configuration.unknownKeys[0]
        #expect(unknown.key == example.key)
        #expect(unknown.section == example.section)
        #expect(unknown.suggestion == example.suggestion)
        #expect(unknown.file == scratch.path + "/config.ini")
        let expectedLine = text.split(separator: "\n", omittingEmptySubsequences: false)
            .firstIndex { $0.trimmingCharacters(in: .whitespaces) == example.line }.map { $0 + 1 }
        #expect(unknown.line == expectedLine)
        let hint = example.suggestion.map { "; did you mean '\($0)'?" } ?? ""
        #expect(
            unknown.description
                == "\(scratch.path)/config.ini: [\(example.section)] \(example.key) (line \(unknown.line)): unknown key, ignored\(hint)"
        )
    }

    @Test("the original's layout has no unknown key")
    func originalLayoutIsClean() throws {
        #expect(try scratch.load(originalLayout).unknownKeys == [])
    }

    @Test("every key of SPEC §3, §8 and §9, in any case and with a variant, is known")
    func everyKnownKeyIsQuiet() throws {
        let globals = """
            [common]
            Redis_Server=127.0.0.1
            redis_port=6379
            redis_unix_socket=null
            redis_username=u
            redis_password=p
            redis_password_file=
            redis_db=0
            redis_key_prefix=k
            monitor_inactivitytimeout=300
            outbox_path=o.sqlite3
            outbox_sync=full
            outbox_retention=60
            outbox_max_pending=10
            retry_initial=0.1
            retry_max=1
            max_attempts=3
            metrics_listen=127.0.0.1:0
            redis_sentinels=127.0.0.1:26379
            redis_sentinel_master=mymaster
            redis_sentinel_password=s
            redis_sentinel_password_file=
            redis_lost_writes=resend
            timeout[prod]=5

            """
        let monitor = monitorSection(
            "m", extra: "counter=c\nforced_poll=0\npoll_queue_limit=5\nonly=^a\nignore=^b\nannounce=close")
        #expect(try scratch.load(globals + monitor).unknownKeys == [])
    }

    @Test("metrics_listen takes host:port or [v6]:port; anything else names the key and the value")
    func metricsListen() throws {
        #expect(
            try scratch.load("[common]\nmetrics_listen=127.0.0.1:9464\n" + monitorSection()).metricsListen
                == ListenAddress(host: "127.0.0.1", port: 9464))
        #expect(
            try scratch.load("[common]\nmetrics_listen=[::1]:9464\n" + monitorSection()).metricsListen
                == ListenAddress(host: "::1", port: 9464))
        #expect(try scratch.load(monitorSection()).metricsListen == nil)
        for bad in ["9464", "localhost:http", "127.0.0.1:70000", ":9464"] {
            let error = try scratch.loadError("[common]\nmetrics_listen=\(bad)\n" + monitorSection())
            #expect(error?.key == "metrics_listen", "\(bad)")
            #expect(error?.value == bad)
        }
    }
}

import Foundation
import Testing

@testable import DirectoryObserver

@Suite("Loading a configuration file")
struct ConfigLoaderTests {
    /// This test's own directory (a suite instance per test), removed when the test ends.
    private let scratch = ConfigScratch()

    @Test("the original's layout loads unchanged with its two monitors, shared settings and Redis port 8080")
    func originalLayout() throws {
        let configuration = try scratch.load(DirectoryObserverTests.originalLayout)

        #expect(configuration.file == scratch.path + "/config.ini")
        #expect(configuration.monitors.map(\.section) == ["stage1", "stage2"])
        #expect(configuration.monitors.map(\.directory) == ["dir/stage1", "dir/stage2"])
        #expect(configuration.monitors.map(\.queue) == ["queue:stage1", "queue:stage2"])
        #expect(configuration.monitors.map(\.counter) == ["counter:stage1", "counter:stage2"])
        let ignore = [
            #"^.*\.t$"#, #"^.*\.tmp$"#, #"^.*\.[0-9][0-9]$"#,
            #"^.*\.[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]$"#, #"^.*\.working$"#,
        ]
        for monitor in configuration.monitors {
            #expect(monitor.ignore == ignore)
            #expect(monitor.only == ["^.*$"])
            #expect(monitor.forcedPoll == 300)
            #expect(monitor.pollQueueLimit == 10_000)
            #expect(monitor.timeout == 10)
            #expect(monitor.announce == .create)
        }
        #expect(configuration.redis.endpoint == .tcp(host: "127.0.0.1", port: 8080))
        #expect(configuration.inactivityTimeout == 300)
    }

    @Test("every default of SPEC §3 applies when the file sets nothing but the monitor")
    func defaults() throws {
        let configuration = try scratch.load(monitorSection())
        let monitor = try #require(configuration.monitors.first)
        #expect(monitor.counter == nil)
        #expect(monitor.forcedPoll == 0)
        #expect(monitor.pollQueueLimit == 10_000)
        #expect(monitor.timeout == 10)
        #expect(monitor.only == ["^.*$"])
        #expect(monitor.ignore == [#"^.*\.working$"#])
        #expect(monitor.announce == .create)
        #expect(configuration.redis == RedisSettings())
        #expect(configuration.outbox.path == scratch.path + "/directory_observer.outbox.sqlite3")
        #expect(configuration.outbox.sync == .full)
        #expect(configuration.outbox.retention == 86_400)
        #expect(configuration.outbox.maxPending == 1_000_000)
        #expect(configuration.retry == RetrySettings(initial: 0.1, maximum: 30, maxAttempts: 10))
        #expect(configuration.inactivityTimeout == 300)
    }

    @Test("every key can be set, and the values reach the configuration")
    func everyKey() throws {
        let configuration = try scratch.load(
            """
            [common]
            redis_server=redis.example
            redis_port=6380
            redis_username=observer
            redis_password=secret
            redis_db=3
            redis_key_prefix=obs
            monitor_inactivitytimeout=0
            outbox_path=state/outbox.sqlite3
            outbox_sync=NORMAL
            outbox_retention=60
            outbox_max_pending=500
            retry_initial=0.5
            retry_max=5
            max_attempts=3

            [m]
            active=yes
            directory=/data/in
            queue=q
            counter=c
            forced_poll=2.5
            poll_queue_limit=0
            timeout=1.5
            only=^a;^b
            ignore=^.*\\.working$;^x
            announce=close
            """)
        let monitor = try #require(configuration.monitors.first)
        #expect(
            monitor
                == MonitorConfig(
                    section: "m", directory: "/data/in", queue: "q", counter: "c", forcedPoll: 2.5,
                    pollQueueLimit: nil, timeout: 1.5, only: ["^a", "^b"], ignore: ["^x", #"^.*\.working$"#],
                    announce: .close))
        #expect(
            configuration.redis
                == RedisSettings(
                    endpoint: .tcp(host: "redis.example", port: 6380), username: "observer", password: "secret",
                    database: 3, keyPrefix: "obs"))
        #expect(
            configuration.outbox
                == OutboxSettings(
                    path: scratch.path + "/state/outbox.sqlite3", sync: .normal, retention: 60, maxPending: 500))
        #expect(configuration.retry == RetrySettings(initial: 0.5, maximum: 5, maxAttempts: 3))
        #expect(configuration.inactivityTimeout == nil)
    }

    @Test("a section inherits from its parent, the parent's parent, then [common]; the closest value wins")
    func inheritanceChain() throws {
        let configuration = try scratch.load(
            """
            [common]
            timeout=1
            forced_poll=7
            counter=from-common

            [base]
            queue=from-base
            timeout=2

            [middle:base]
            directory=from-middle
            timeout=3

            [leaf:middle]
            active=true
            counter=from-leaf
            """)
        let monitor = try #require(configuration.monitors.first)
        #expect(configuration.monitors.count == 1)
        #expect(monitor.section == "leaf")
        #expect(monitor.queue == "from-base")
        #expect(monitor.directory == "from-middle")
        #expect(monitor.timeout == 3)
        #expect(monitor.forcedPoll == 7)
        #expect(monitor.counter == "from-leaf")
    }

    @Test("[common] is not a monitor itself, even with active=true and a directory")
    func commonIsNotAMonitor() throws {
        let configuration = try scratch.load(
            """
            [common]
            active=true
            directory=dir/common
            queue=q

            [other]
            directory=dir/other
            """)
        #expect(configuration.monitors.map(\.section) == ["other"])
        #expect(configuration.monitors.first?.queue == "q")
    }

    @Test("keys are case-insensitive, `key: value` works, values are trimmed and comments are skipped")
    func syntax() throws {
        let configuration = try scratch.load(
            """
            # a comment
            ; another comment
            [M]
              # an indented comment
            ACTIVE : True
            Directory:   dir/x   
            QUEUE=queue:with:colons
            Counter =  c=1
            """)
        let monitor = try #require(configuration.monitors.first)
        #expect(monitor.section == "M")
        #expect(monitor.directory == "dir/x")
        #expect(monitor.queue == "queue:with:colons")
        #expect(monitor.counter == "c=1")
    }

    @Test("keys indented alike are separate keys; a line indented deeper than its key continues the value")
    func indentation() throws {
        let configuration = try scratch.load(
            """
            [m]
                active = true
                directory = dir/x
                queue = q
                ignore = ^a$;
                    ^b$
            """)
        let monitor = try #require(configuration.monitors.first)
        #expect(monitor.directory == "dir/x")
        #expect(monitor.queue == "q")
        #expect(monitor.ignore.first == "^a$")
        #expect(monitor.ignore.contains { $0.hasSuffix("^b$") }, "the deeper line joined the ignore value")
    }

    @Test("a duration too large to be a timer is refused with one line naming the key and the value")
    func hugeDuration() throws {
        let error = try #require(try scratch.loadError(monitorSection(extra: "timeout=1e300")))
        #expect(error.key == "timeout")
        #expect(error.description.contains("1e300") && error.description.contains("too large"))
    }

    @Test("CRLF line endings and a byte order mark are accepted")
    func crlfAndBOM() throws {
        let configuration = try scratch.load("\u{FEFF}[m]\r\nactive=1\r\ndirectory=d\r\nqueue=q\r\n")
        #expect(configuration.monitors.first?.directory == "d")
        #expect(configuration.monitors.first?.queue == "q")
    }

    @Test("a key[variant] wins when MFCONFIG names it, in any case; GENERIC is the default variant")
    func variants() throws {
        let text = """
            [common]
            redis_server=plain
            redis_server[PROD]=prod-host
            redis_server[generic]=generic-host

            \(monitorSection())
            """
        let prod = try scratch.load(text, environment: ["MFCONFIG": "prod"])
        #expect(prod.redis.endpoint == .tcp(host: "prod-host", port: 6379))
        let unset = try scratch.load(text)
        #expect(unset.redis.endpoint == .tcp(host: "generic-host", port: 6379))
        let other = try scratch.load(text, environment: ["MFCONFIG": "dev"])
        #expect(other.redis.endpoint == .tcp(host: "plain", port: 6379))
    }

    @Test("{{ NAME }} is replaced by the environment variable, empty when unset")
    func interpolation() throws {
        let configuration = try scratch.load(
            """
            [m]
            active=true
            directory={{ BASE }}/in/{{NOPE}}x
            queue={{QUEUE}}
            counter=a{{ not a name }}b
            """,
            environment: ["BASE": "/srv", "QUEUE": "q1"])
        let monitor = try #require(configuration.monitors.first)
        #expect(monitor.directory == "/srv/in/x")
        #expect(monitor.queue == "q1")
        #expect(monitor.counter == "a{{ not a name }}b")
    }

    @Test(
        "booleans accept 1/yes/true/on and 0/no/false/off in any case",
        arguments: [
            ("1", true), ("yes", true), ("TRUE", true), ("On", true),
            ("0", false), ("no", false), ("False", false), ("OFF", false),
        ])
    func booleans(text: String, expected: Bool) throws {
        let configuration = try scratch.load(
            monitorSection("always") + "[m]\nactive=\(text)\ndirectory=d\nqueue=q\n")
        #expect(configuration.monitors.map(\.section) == (expected ? ["always", "m"] : ["always"]))
    }

    @Test("a section without a directory, or not active, is not a monitor")
    func notMonitors() throws {
        let configuration = try scratch.load(
            monitorSection() + "[nodir]\nactive=true\nqueue=q\n\n[off]\nactive=false\ndirectory=d\n")
        #expect(configuration.monitors.map(\.section) == ["m"])
    }

    @Test(
        "redis_unix_socket set to a path uses the socket; null or empty means TCP",
        arguments: [
            ("/run/redis.sock", RedisEndpoint.unix(path: "/run/redis.sock")),
            ("NULL", RedisEndpoint.tcp(host: "127.0.0.1", port: 6379)),
            ("", RedisEndpoint.tcp(host: "127.0.0.1", port: 6379)),
        ])
    func unixSocket(value: String, expected: RedisEndpoint) throws {
        let configuration = try scratch.load("[common]\nredis_unix_socket=\(value)\n" + monitorSection())
        #expect(configuration.redis.endpoint == expected)
    }

    @Test("poll_queue_limit and monitor_inactivitytimeout at or below 0 mean no limit and off")
    func offValues() throws {
        let configuration = try scratch.load(
            "[common]\nmonitor_inactivitytimeout=-1\n" + monitorSection(extra: "poll_queue_limit=-5"))
        #expect(configuration.monitors.first?.pollQueueLimit == nil)
        #expect(configuration.inactivityTimeout == nil)
    }

    @Test("ignore keeps exactly one ^.*\\.working$, last")
    func workingOnce() throws {
        let configuration = try scratch.load(monitorSection(extra: #"ignore=^.*\.working$;^a;^.*\.working$"#))
        #expect(configuration.monitors.first?.ignore == ["^a", #"^.*\.working$"#])
    }

    @Test("two active sections that agree on global keys, even spelled differently, load")
    func agreeingGlobals() throws {
        let configuration = try scratch.load(
            monitorSection("a", extra: "redis_port=6379\nretry_max=30.0\nredis_unix_socket=null")
                + monitorSection("b", extra: "retry_max=30\nredis_unix_socket="))
        #expect(configuration.monitors.count == 2)
        #expect(configuration.retry.maximum == 30)
    }
}

@Suite("Where the configuration file and the derived paths are found")
struct ConfigPathTests {
    /// This test's own directory (a suite instance per test), removed when the test ends.
    private let scratch = ConfigScratch()

    @Test("a relative path that exists is used as given, against the working directory")
    func relativeExisting() throws {
        try scratch.write("sub/my.ini", monitorSection())
        let configuration = try ConfigLoader.load(
            path: "./sub/my.ini", environment: ["MFMODULE": "MFDATA", "MFDATA_HOME": "/nowhere"],
            workingDirectory: scratch.path)
        #expect(configuration.file == scratch.path + "/sub/my.ini")
    }

    @Test("a relative path that does not exist is looked up in $<MFMODULE>_HOME/config_auto, then config")
    func mfmoduleLookup() throws {
        let environment = ["MFMODULE": "MFDATA", "MFDATA_HOME": scratch.path + "/home"]
        try scratch.write("home/config/observer.ini", monitorSection("fromconfig"))
        let fromConfig = try ConfigLoader.load(
            path: "observer.ini", environment: environment, workingDirectory: scratch.path)
        #expect(fromConfig.file == scratch.path + "/home/config/observer.ini")
        #expect(fromConfig.monitors.first?.section == "fromconfig")

        try scratch.write("home/config_auto/observer.ini", monitorSection("fromauto"))
        let fromAuto = try ConfigLoader.load(
            path: "observer.ini", environment: environment, workingDirectory: scratch.path)
        #expect(fromAuto.file == scratch.path + "/home/config_auto/observer.ini")
        #expect(fromAuto.monitors.first?.section == "fromauto")
    }

    @Test("outbox_path defaults to $STATE_DIRECTORY/directory_observer.outbox.sqlite3 when it is set")
    func stateDirectory() throws {
        let configuration = try scratch.load(
            monitorSection(), environment: ["STATE_DIRECTORY": "/var/lib/directory_observer:/var/lib/other"])
        #expect(configuration.outbox.path == "/var/lib/directory_observer/directory_observer.outbox.sqlite3")
    }

    @Test("the password comes from redis_password, else redis_password_file (trimmed), else the environment")
    func passwordSources() throws {
        try scratch.write("secret.txt", "  from-file \n")
        let environment = ["DIRECTORY_OBSERVER_REDIS_PASSWORD": "from-env"]
        let direct = try scratch.load(
            "[common]\nredis_password=inline\nredis_password_file=secret.txt\n" + monitorSection(),
            environment: environment)
        #expect(direct.redis.password == "inline")
        let file = try scratch.load(
            "[common]\nredis_password_file=secret.txt\n" + monitorSection(), environment: environment)
        #expect(file.redis.password == "from-file")
        let env = try scratch.load(monitorSection(), environment: environment)
        #expect(env.redis.password == "from-env")
        let none = try scratch.load(monitorSection())
        #expect(none.redis.password == nil)
    }
}

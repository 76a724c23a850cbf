import Testing

@testable import DirectoryObserver

/// The keys of SPEC §8: `redis_lost_writes`, Sentinel, and a username that needs a password.
@Suite("Redis failover and lost-write settings")
struct ConfigRedisFailoverTests {
    /// This test's own directory (a suite instance per test), removed when the test ends.
    private let scratch = ConfigScratch()

    @Test("redis_lost_writes is resend by default, ignore when set, anything else an error naming the key")
    func lostWrites() throws {
        #expect(try scratch.load(monitorSection()).redis.lostWrites == .resend)
        #expect(try scratch.load("[common]\nredis_lost_writes=IGNORE\n" + monitorSection()).redis.lostWrites == .ignore)
        let error = try #require(try scratch.loadError("[common]\nredis_lost_writes=drop\n" + monitorSection()))
        #expect("\(error)".contains("redis_lost_writes"))
        #expect("\(error)".contains("resend or ignore"))
    }

    @Test("redis_username without any password is refused; with a password from the environment it loads")
    func usernameNeedsPassword() throws {
        let error = try #require(try scratch.loadError("[common]\nredis_username=observer\n" + monitorSection()))
        #expect("\(error)".contains("redis_username"))
        #expect("\(error)".contains("needs a password"))
        let loaded = try scratch.load(
            "[common]\nredis_username=observer\n" + monitorSection(),
            environment: ["DIRECTORY_OBSERVER_REDIS_PASSWORD": "pw"])
        #expect(loaded.redis.username == "observer" && loaded.redis.password == "pw")
    }

    @Test("Sentinel: the sentinels in order, the master name, the password from the file, the environment or the key")
    func sentinel() throws {
        try scratch.write("sentinel.pw", "from-file\n")
        let text =
            "[common]\nredis_sentinels=10.0.0.1:26379, sentinel-b:26380,[::1]:26381\nredis_sentinel_master=main\n"
        let plain = try scratch.load(text + monitorSection())
        #expect(
            plain.redis.sentinel
                == SentinelSettings(
                    sentinels: [
                        .tcp(host: "10.0.0.1", port: 26379), .tcp(host: "sentinel-b", port: 26380),
                        .tcp(host: "::1", port: 26381),
                    ], master: "main"))
        let fromEnvironment = try scratch.load(
            text + monitorSection(), environment: ["DIRECTORY_OBSERVER_REDIS_SENTINEL_PASSWORD": "from-env"])
        #expect(fromEnvironment.redis.sentinel?.password == "from-env")
        let fromFile = try scratch.load(text + "redis_sentinel_password_file=sentinel.pw\n" + monitorSection())
        #expect(fromFile.redis.sentinel?.password == "from-file")
        let fromKey = try scratch.load(text + "redis_sentinel_password=inline\n" + monitorSection())
        #expect(fromKey.redis.sentinel?.password == "inline")
        #expect(fromKey.redis.password == nil)
    }

    @Test(
        "Sentinel: a master without sentinels, sentinels without a master, or a bad address is refused",
        arguments: [
            ("redis_sentinel_master=main\n", "redis_sentinel_master"),
            ("redis_sentinels=127.0.0.1:26379\n", "redis_sentinel_master"),
            ("redis_sentinels=127.0.0.1\nredis_sentinel_master=main\n", "not host:port"),
            ("redis_sentinels=127.0.0.1:0\nredis_sentinel_master=main\n", "not host:port"),
        ])
    func sentinelErrors(keys: String, expected: String) throws {
        let error = try #require(try scratch.loadError("[common]\n" + keys + monitorSection()))
        #expect("\(error)".contains(expected), "\(error)")
    }

    @Test("check-config says whether Sentinel or redis_server applies, and never prints the sentinels' password")
    func report() throws {
        let configuration = try scratch.load(
            "[common]\nredis_sentinels=127.0.0.1:26379\nredis_sentinel_master=main\nredis_sentinel_password=hush\n"
                + monitorSection())
        let text = ConfigReport.text(configuration)
        #expect(text.contains("found through Sentinel (redis_server and redis_port are not used)"))
        #expect(text.contains("sentinel_master   main"))
        #expect(text.contains("lost_writes       resend"))
        #expect(!text.contains("hush"))
        let json = ConfigReport.json(configuration)
        #expect(json.contains("\"master\":\"main\"") || json.contains("\"master\": \"main\""))
        #expect(!json.contains("hush"))
    }
}

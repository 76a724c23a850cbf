import Testing

@testable import DirectoryObserver

/// SPEC §5/§8: which failures count attempts toward `dead` and which never do.
@Suite("Redis failure classes")
struct RedisFailureClassTests {
    @Test(
        "connection failures and server states are .unavailable",
        arguments: [
            "LOADING Redis is loading the dataset in memory", "BUSY Redis is busy running a script",
            "OOM command not allowed when used memory > 'maxmemory'. script: abc, on @user_script:1.",
            "READONLY You can't write against a read only replica.", "MASTERDOWN Link with MASTER is down",
            "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk.",
            "NOREPLICAS Not enough good replicas to write.", "TRYAGAIN Multiple keys request during rehashing of slot",
            "CLUSTERDOWN The cluster is down", "NOAUTH Authentication required.", "ERR max number of clients reached",
        ])
    func unavailable(text: String) {
        #expect(RedisError.reply(text).failureClass == .unavailable)
        #expect(RedisError.reply(text).isTransient)
    }

    @Test(
        "configuration refusals are .configuration and name a fix",
        arguments: [
            ("WRONGPASS invalid username-password pair or user is disabled.", "redis_password"),
            ("NOPERM this user has no permissions to run the 'evalsha' command", "grant the ACL user"),
            (
                "ERR The user executing the script can't run this command or subcommand script: abc",
                "grant the ACL user"
            ),
            ("MOVED 3999 127.0.0.1:6381", "Redis Cluster is not supported"),
            ("ASK 3999 127.0.0.1:6381", "Redis Cluster is not supported"),
            ("CROSSSLOT Keys in request don't hash to the same slot", "Redis Cluster is not supported"),
            ("ERR unknown command 'EVALSHA', with args beginning with: ", "renamed or disabled"),
            (
                "ERR AUTH <password> called without any password configured for the default user.",
                "remove redis_password"
            ),
        ])
    func configuration(text: String, fix: String) {
        let error = RedisError.reply(text)
        #expect(error.failureClass == .configuration)
        #expect(!error.isTransient)
        #expect(error.fix.contains(fix), "\(error.fix)")
    }

    @Test(
        "errors of the batch itself are .batch",
        arguments: [
            "WRONGTYPE Operation against a key holding the wrong kind of value",
            "ERR counter jobs:count does not hold an integer INCRBY can add to",
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
        ])
    func batch(text: String) {
        #expect(RedisError.reply(text).failureClass == .batch)
    }

    /// Before 7.0, an error raised inside the script comes back wrapped in `ERR Error running script`;
    /// the code inside decides, with or without its dash (the wording varies between versions).
    @Test(
        "an error a pre-7.0 server wrapped around the script's LPUSH is classified by the code inside",
        arguments: [
            ("OOM command not allowed when used memory > 'maxmemory'.", RedisError.FailureClass.unavailable),
            ("-READONLY You can't write against a read only replica.", .unavailable),
            (
                "-MISCONF Redis is configured to save RDB snapshots, but it is currently not able to persist.",
                .unavailable
            ),
            ("NOREPLICAS Not enough good replicas to write.", .unavailable),
            ("-WRONGTYPE Operation against a key holding the wrong kind of value", .batch),
            ("-NOPERM this user has no permissions to access one of the keys used as arguments", .configuration),
        ])
    func wrappedByOlderServer(inner: String, expected: RedisError.FailureClass) {
        for wrapper in [
            "ERR Error running script (call to f_4f241371995506cb63a232eac5a4776d5cc07ca9): @user_script:47: ",
            "ERR Error running script (call to f_4f2413719955): @user_script:47: @user_script: 47: ",
        ] {
            #expect(RedisError.reply(wrapper + inner).failureClass == expected, "\(wrapper + inner)")
        }
    }

    @Test("a wrapped script error with no code inside stays .batch, and unwrapped text is read by its first word")
    func wrappedWithoutCode() {
        #expect(
            RedisError.reply("ERR Error running script (call to f_ab): @user_script:3: bad value").failureClass
                == .batch)
        #expect(RedisError.reply("ERR watermark k does not hold an integer").failureClass == .batch)
        // Capital words further into the message are not taken for a code.
        let acl =
            "ERR Error running script (call to f_ab): @user_script:3: The user executing the script can't run this command (ACL)"
        #expect(RedisError.reply(acl).failureClass == .configuration)
    }

    @Test("every connection-level kind is .unavailable")
    func connectionKinds() {
        for kind in [RedisError.Kind.connection, .timeout, .eof, .protocol] {
            #expect(RedisError(kind: kind, detail: "x").failureClass == .unavailable)
        }
    }
}

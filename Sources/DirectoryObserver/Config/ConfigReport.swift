/// What `check-config` prints about a loaded configuration: the resolved monitors and global settings, as
/// text for a person or as one JSON object for a program. The Redis password is never printed, only whether
/// one is set.
public enum ConfigReport {
    /// The configuration as a pretty-printed JSON object with a stable key order:
    /// `{"file", "monitors": [{"section", "directory", "queue", "counter", "forced_poll", "poll_queue_limit",
    /// "timeout", "only", "ignore", "announce"}], "redis": {…, "password_set"}, "outbox": {…}, "retry": {…},
    /// "monitor_inactivitytimeout", "metrics_listen"}`.
    public static func json(_ configuration: Configuration) -> String {
        jsonValue(configuration).rendered()
    }

    /// The configuration as aligned lines a person can read, one block per monitor then the global settings.
    public static func text(_ configuration: Configuration) -> String {
        var lines: [String] = []
        let count = configuration.monitors.count
        lines.append("configuration \(configuration.file): valid, \(count) monitor\(count == 1 ? "" : "s")")
        for monitor in configuration.monitors {
            lines.append("")
            lines.append("[\(monitor.section)]")
            lines.append("  directory         \(monitor.directory)")
            lines.append("  queue             \(monitor.queue)")
            lines.append("  counter           \(monitor.counter ?? "-")")
            lines.append("  announce          \(monitor.announce.rawValue)")
            lines.append("  forced_poll       \(number(monitor.forcedPoll)) s")
            lines.append("  poll_queue_limit  \(monitor.pollQueueLimit.map(String.init) ?? "no limit")")
            lines.append("  timeout           \(number(monitor.timeout)) s")
            lines.append("  only              \(monitor.only.joined(separator: " ; "))")
            lines.append("  ignore            \(monitor.ignore.joined(separator: " ; "))")
        }
        let redis = configuration.redis
        lines.append("")
        lines.append("redis")
        if let sentinel = redis.sentinel {
            lines.append("  endpoint          found through Sentinel (redis_server and redis_port are not used)")
            lines.append("  sentinels         \(sentinel.sentinels.map { "\($0)" }.joined(separator: ","))")
            lines.append("  sentinel_master   \(sentinel.master)")
            lines.append("  sentinel_password \(sentinel.password == nil ? "not set" : "set")")
        } else {
            lines.append("  endpoint          \(redis.endpoint)")
        }
        lines.append("  username          \(redis.username ?? "-")")
        lines.append("  password          \(redis.password == nil ? "not set" : "set")")
        lines.append("  db                \(redis.database)")
        lines.append("  key_prefix        \(redis.keyPrefix)")
        lines.append("  lost_writes       \(redis.lostWrites.rawValue)")
        let outbox = configuration.outbox
        lines.append("outbox")
        lines.append("  path              \(outbox.path)")
        lines.append("  sync              \(outbox.sync.rawValue)")
        lines.append("  retention         \(number(outbox.retention)) s")
        lines.append("  max_pending       \(outbox.maxPending)")
        let retry = configuration.retry
        lines.append("retry")
        lines.append("  initial           \(number(retry.initial)) s")
        lines.append("  max               \(number(retry.maximum)) s")
        lines.append("  max_attempts      \(retry.maxAttempts)")
        let inactivity = configuration.inactivityTimeout.map { "\(number($0)) s" } ?? "off"
        lines.append("monitor_inactivitytimeout  \(inactivity)")
        lines.append("metrics_listen             \(configuration.metricsListen?.description ?? "off")")
        return lines.joined(separator: "\n")
    }

    // MARK: - Building

    static func jsonValue(_ configuration: Configuration) -> JSONText {
        .object([
            ("file", .string(configuration.file)),
            ("monitors", .array(configuration.monitors.map(monitorValue))),
            ("redis", redisValue(configuration.redis)),
            ("outbox", outboxValue(configuration.outbox)),
            ("retry", retryValue(configuration.retry)),
            ("monitor_inactivitytimeout", .seconds(configuration.inactivityTimeout)),
            ("metrics_listen", .optional(configuration.metricsListen?.description)),
        ])
    }

    private static func monitorValue(_ monitor: MonitorConfig) -> JSONText {
        .object([
            ("section", .string(monitor.section)),
            ("directory", .string(monitor.directory)),
            ("queue", .string(monitor.queue)),
            ("counter", .optional(monitor.counter)),
            ("forced_poll", .number(monitor.forcedPoll)),
            ("poll_queue_limit", monitor.pollQueueLimit.map { .int($0) } ?? .null),
            ("timeout", .number(monitor.timeout)),
            ("only", .array(monitor.only.map { .string($0) })),
            ("ignore", .array(monitor.ignore.map { .string($0) })),
            ("announce", .string(monitor.announce.rawValue)),
        ])
    }

    private static func redisValue(_ redis: RedisSettings) -> JSONText {
        var members: [(String, JSONText)]
        switch redis.endpoint {
        case .tcp(let host, let port): members = [("server", .string(host)), ("port", .int(port))]
        case .unix(let path): members = [("unix_socket", .string(path))]
        }
        members += [
            ("username", .optional(redis.username)),
            ("password_set", .bool(redis.password != nil)),
            ("db", .int(redis.database)),
            ("key_prefix", .string(redis.keyPrefix)),
            ("lost_writes", .string(redis.lostWrites.rawValue)),
        ]
        if let sentinel = redis.sentinel {
            members.append(
                (
                    "sentinel",
                    .object([
                        ("sentinels", .array(sentinel.sentinels.map { .string("\($0)") })),
                        ("master", .string(sentinel.master)),
                        ("password_set", .bool(sentinel.password != nil)),
                    ])
                ))
        }
        return .object(members)
    }

    private static func outboxValue(_ outbox: OutboxSettings) -> JSONText {
        .object([
            ("path", .string(outbox.path)),
            ("sync", .string(outbox.sync.rawValue)),
            ("retention", .number(outbox.retention)),
            ("max_pending", .int(outbox.maxPending)),
        ])
    }

    private static func retryValue(_ retry: RetrySettings) -> JSONText {
        .object([
            ("initial", .number(retry.initial)),
            ("max", .number(retry.maximum)),
            ("max_attempts", .int(retry.maxAttempts)),
        ])
    }

    /// Seconds without a useless `.0`.
    private static func number(_ value: Double) -> String {
        JSONText.number(value).rendered()
    }
}

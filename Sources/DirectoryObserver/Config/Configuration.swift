/// A loaded, validated configuration: the monitors and the global settings, every default applied.
/// Values here are final: nothing downstream re-reads the file or the environment.
public struct Configuration: Sendable, Equatable {
    /// The file the configuration came from (absolute path).
    public var file: String
    /// The active monitors, in the order their sections appear in the file.
    public var monitors: [MonitorConfig]
    public var redis: RedisSettings
    public var outbox: OutboxSettings
    public var retry: RetrySettings
    /// Seconds without any inotify event before the watch is rebuilt and listed; nil when off (≤ 0).
    public var inactivityTimeout: Double?
    /// Where `/metrics` and `/healthz` are served; nil when `metrics_listen` is unset or empty.
    public var metricsListen: ListenAddress?
    /// Keys of the file that no rule reads (ignored, reported as warnings).
    public var unknownKeys: [UnknownKey]

    /// The longest `timeout` of the monitors (10 s when there is none).
    public var longestTimeout: Double {
        monitors.map(\.timeout).max() ?? 10
    }
}

/// When a monitor announces a new file.
public enum AnnounceMode: String, Sendable, Equatable, CaseIterable {
    /// On creation or move-in (IN_CREATE, IN_MOVED_TO), like the original.
    case create
    /// When the writer closes a newly created file (IN_CLOSE_WRITE), or on move-in.
    case close
}

/// One watched directory: a config section with `active=true` and a `directory`. Made by `ConfigLoader`;
/// a property left out of the (internal) memberwise initializer takes the file's default.
public struct MonitorConfig: Sendable, Equatable {
    /// The section name as written (`stage1` for `[stage1:common]`).
    public var section: String
    /// The directory as written in the file; messages report it unchanged.
    public var directory: String
    /// The Redis list events are LPUSHed to.
    public var queue: String
    /// The Redis key INCRBY'd by the number of events pushed, if any.
    public var counter: String?
    /// Seconds between re-listings; 0 = only at start, re-arm and overflow.
    public var forcedPoll: Double = 0
    /// A listing never makes the list longer than this; nil = no limit (≤ 0 in the file).
    public var pollQueueLimit: Int? = 10_000
    /// Redis connect and command timeout, in seconds.
    public var timeout: Double = 10
    /// A name must match one of these (from the start).
    public var only = ["^.*$"]
    /// A name matching one of these is ignored; `^.*\.working$` is always the last one.
    public var ignore = [NameFilter.workingPattern]
    public var announce = AnnounceMode.create
}

/// How to reach Redis and where the watermarks live. Made by `ConfigLoader`; a property left out of the
/// (internal) memberwise initializer takes the file's default.
public struct RedisSettings: Sendable, Equatable {
    public var endpoint = RedisEndpoint.tcp(host: "127.0.0.1", port: 6379)
    public var username: String?
    /// The password, from `redis_password`, `redis_password_file` or the environment. Never logged.
    public var password: String?
    public var database = 0
    /// Prefix of the keys the observer owns (`<prefix>:watermark:<uuid>:<queue>`).
    public var keyPrefix = "directory_observer"
    /// `redis_lost_writes`: what to do when Redis holds less than the outbox delivered.
    public var lostWrites = LostWritesPolicy.resend
    /// When set, the master is found through these sentinels and `endpoint` is not used.
    public var sentinel: SentinelSettings?

    /// What the log names as the place events go: the endpoint, or the sentinels' master name.
    public var target: String {
        guard let sentinel else { return "\(endpoint)" }
        return "sentinel master \(sentinel.master)"
    }
}

extension RedisSettings {
    /// The defaults, with Redis at `endpoint` (for tools outside the module; set other properties after).
    public init(endpoint: RedisEndpoint) {
        self.endpoint = endpoint
    }
}

/// How the outbox file is kept.
public struct OutboxSettings: Sendable, Equatable {
    /// SQLite's `synchronous` setting for the outbox: `full` survives power loss, `normal` only crashes.
    public enum Sync: String, Sendable, Equatable, CaseIterable {
        case full
        case normal
    }

    /// Path of the SQLite file (absolute or relative to the working directory).
    public var path: String
    public var sync: Sync
    /// Seconds delivered and skipped events are kept for replay.
    public var retention: Double
    /// Above this many pending events, listings add no `exists` events.
    public var maxPending: Int

    public init(path: String, sync: Sync = .full, retention: Double = 86_400, maxPending: Int = 1_000_000) {
        self.path = path
        self.sync = sync
        self.retention = retention
        self.maxPending = maxPending
    }
}

/// Backoff for Redis failures and the attempt limit for permanent errors.
public struct RetrySettings: Sendable, Equatable {
    /// First backoff delay, seconds.
    public var initial: Double
    /// Longest backoff delay, seconds.
    public var maximum: Double
    /// Failed tries (non-transient errors) before a batch goes `dead`.
    public var maxAttempts: Int

    public init(initial: Double = 0.1, maximum: Double = 30, maxAttempts: Int = 10) {
        self.initial = initial
        self.maximum = maximum
        self.maxAttempts = maxAttempts
    }
}

/// How to find the Redis master through Redis Sentinel (SPEC §8): the sentinels to ask, in turn, for
/// the master named `master`, and the password they need, if any. When set, `redis_server`,
/// `redis_port` and `redis_unix_socket` are not used.
public struct SentinelSettings: Sendable, Equatable {
    /// The sentinels' addresses, in the order they are asked.
    public var sentinels: [RedisEndpoint]
    /// `redis_sentinel_master`: the name the sentinels monitor the master under.
    public var master: String
    /// The sentinels' password (`requirepass` of the sentinels), never logged.
    public var password: String?

    public init(sentinels: [RedisEndpoint], master: String, password: String? = nil) {
        self.sentinels = sentinels
        self.master = master
        self.password = password
    }
}

/// What the forwarder needs to know, taken from the configuration.
public struct ForwarderSettings: Sendable {
    public var redis: RedisSettings
    /// Connect and command timeout, seconds (the longest `timeout` of the monitors).
    public var timeout: Double
    public var retry: RetrySettings
    /// `poll_queue_limit` per queue (nil: no limit). Queues not listed have no limit. Monitors sharing a
    /// queue share the loosest of their limits, so no monitor's files are skipped for another's limit.
    public var queueLimits: [String: Int?]
    /// Most events in one batch (at most 4,000: Lua's `unpack` limit, see `DeliveryScript`).
    public var batchSize: Int
    /// Where deliveries, skips and Redis's state are reported.
    public var metrics = PipelineMetrics.disabled()

    public init(
        redis: RedisSettings, timeout: Double, retry: RetrySettings, queueLimits: [String: Int?] = [:],
        batchSize: Int = 4_000
    ) {
        self.redis = redis
        self.timeout = timeout
        self.retry = retry
        self.queueLimits = queueLimits
        self.batchSize = min(max(batchSize, 1), DeliveryScript.maximumBatch)
    }

    /// The settings a configuration implies.
    public init(configuration: Configuration) {
        let limits = Dictionary(grouping: configuration.monitors, by: \.queue).mapValues { monitors -> Int? in
            let each = monitors.map(\.pollQueueLimit)
            return each.contains(nil) ? nil : each.compactMap { $0 }.max()
        }
        self.init(
            redis: configuration.redis, timeout: configuration.longestTimeout, retry: configuration.retry,
            queueLimits: limits)
    }
}

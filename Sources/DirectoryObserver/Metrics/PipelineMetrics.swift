import CoreMetrics
import Synchronization

/// The one value the pipeline's parts report through (SPEC §9): counters and histograms in swift-metrics
/// (backed by Prometheus when `metrics_listen` is set, by a no-op factory otherwise), the health board, and
/// the writer's and forwarder's heartbeats. Every per-queue series of the configured queues exists from
/// the start, at 0. A report is a few atomic additions on handlers made in advance (no registry lookup on
/// the hot path, but for a queue first seen in the outbox). Sendable: every member is.
public final class PipelineMetrics: Sendable {
    /// Names, as scraped, of the metrics reported here; the outbox's gauges are named in `OutboxGauges`.
    public enum Name {
        public static let events = "directory_observer_events_total"
        public static let pushed = "directory_observer_pushed_events_total"
        public static let skipped = "directory_observer_skipped_events_total"
        public static let redisUp = "directory_observer_redis_up"
        public static let lostWrites = "directory_observer_redis_lost_writes_total"
        public static let overflows = "directory_observer_inotify_overflows_total"
        public static let listings = "directory_observer_listings_total"
        public static let commitDuration = "directory_observer_commit_duration_seconds"
        public static let deliveryLatency = "directory_observer_delivery_latency_seconds"
    }

    /// One queue's counters.
    struct QueueCounters: Sendable {
        let created: Counter
        let exists: Counter
        let pushed: Counter
        let skipped: Counter
        let listings: Counter
        let lostWrites: Counter

        init(queue: String, factory: any MetricsFactory) {
            let labels = [("queue", queue)]
            created = Counter(label: Name.events, dimensions: labels + [("event", "created")], factory: factory)
            exists = Counter(label: Name.events, dimensions: labels + [("event", "exists")], factory: factory)
            pushed = Counter(label: Name.pushed, dimensions: labels, factory: factory)
            skipped = Counter(label: Name.skipped, dimensions: labels, factory: factory)
            listings = Counter(label: Name.listings, dimensions: labels, factory: factory)
            lostWrites = Counter(label: Name.lostWrites, dimensions: labels, factory: factory)
        }
    }

    public let health: HealthBoard
    public let writerBeat = Heartbeat()
    public let forwarderBeat = Heartbeat()

    private let factory: any MetricsFactory
    private let configured: [String: QueueCounters]
    private let others = Mutex<[String: QueueCounters]>([:])
    private let overflows: Counter
    private let redisUp: Gauge
    private let commitDuration: CoreMetrics.Timer
    private let deliveryLatency: CoreMetrics.Timer

    /// Series for `queues` and health for `directories`, made with `factory`.
    public init(queues: [String], directories: [String], factory: any MetricsFactory) {
        self.factory = factory
        var configured: [String: QueueCounters] = [:]
        for queue in queues where configured[queue] == nil {
            configured[queue] = QueueCounters(queue: queue, factory: factory)
        }
        self.configured = configured
        health = HealthBoard(directories: directories)
        overflows = Counter(label: Name.overflows, factory: factory)
        redisUp = Gauge(label: Name.redisUp, factory: factory)
        redisUp.record(0)
        commitDuration = CoreMetrics.Timer(label: Name.commitDuration, factory: factory)
        deliveryLatency = CoreMetrics.Timer(label: Name.deliveryLatency, factory: factory)
    }

    /// Reports to nothing, with no directory to watch: for tools and tests that run parts alone.
    public static func disabled() -> PipelineMetrics {
        PipelineMetrics(queues: [], directories: [], factory: NOOPMetricsHandler.instance)
    }

    private func counters(_ queue: String) -> QueueCounters {
        if let known = configured[queue] { return known }
        return others.withLock { others in
            if let known = others[queue] { return known }
            let made = QueueCounters(queue: queue, factory: factory)
            others[queue] = made
            return made
        }
    }

    // MARK: - Reports

    /// One group commit of the outbox writer: how long it took and what it added.
    public func committed(_ tally: CommitTally, seconds: Double) {
        commitDuration.recordNanoseconds(Int64(seconds * 1e9))
        for (queue, count) in tally.created { counters(queue).created.increment(by: count) }
        for (queue, count) in tally.exists { counters(queue).exists.increment(by: count) }
        for (queue, count) in tally.listings { counters(queue).listings.increment(by: count) }
        for (queue, count) in tally.skipped { counters(queue).skipped.increment(by: count) }
    }

    /// A batch Redis accepted: how many of its messages the script pushed, and each pushed event's commit
    /// time (`created_at`), for the latency from commit to Redis's reply.
    public func delivered(queue: String, pushed: Int, committedAt: [Double], now: Double) {
        if pushed > 0 { counters(queue).pushed.increment(by: pushed) }
        for time in committedAt { deliveryLatency.recordNanoseconds(Int64(max(0, now - time) * 1e9)) }
    }

    /// Redis was found to have lost writes of `queue` (its watermark behind the outbox's record), `count`
    /// times.
    public func lostWrites(queue: String, count: Int = 1) {
        counters(queue).lostWrites.increment(by: count)
    }

    public func inotifyOverflowed() {
        overflows.increment()
    }

    public func redis(up: Bool) {
        redisUp.record(up ? 1 : 0)
        health.redis(up: up)
    }
}

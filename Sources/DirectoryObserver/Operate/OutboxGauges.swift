import CoreMetrics
import Synchronization

/// The per-queue gauges (pending, dead, oldest pending age) and the outbox size, read from the outbox at
/// each scrape with the same queries as `outbox stats`, so the two agree whoever wrote the rows (the
/// daemon, `replay`, `purge`). It reads on its own read-only connection, in one snapshot: in WAL mode a
/// reader never blocks the writer, and the counts come from the (queue, state) index, not the table.
/// Scrapes are served one at a time. Sendable: the connection and the gauges are behind `Mutex`es.
final class OutboxGauges: Sendable {
    /// Names of the gauges, as scraped.
    enum Name {
        static let pending = "directory_observer_pending_events"
        static let oldestPendingAge = "directory_observer_oldest_pending_age_seconds"
        static let dead = "directory_observer_dead_events"
        static let outboxSize = "directory_observer_outbox_size_bytes"
    }

    private struct QueueGauges: Sendable {
        let pending: Gauge
        let oldest: Gauge
        let dead: Gauge
    }

    private let inspector: Mutex<OutboxInspector?>
    private let configuredQueues: [String]
    private let factory: any MetricsFactory
    private let gauges = Mutex<[String: QueueGauges]>([:])
    private let size: Gauge

    /// Opens the reader on the outbox the writer has opened; every configured queue's gauges exist at 0.
    init(outbox path: String, configuredQueues: [String], factory: any MetricsFactory) throws(OutboxError) {
        inspector = Mutex(try OutboxInspector(path: path))
        self.configuredQueues = configuredQueues
        self.factory = factory
        size = Gauge(label: Name.outboxSize, factory: factory)
        size.record(0)
        for queue in configuredQueues { _ = gauges(queue) }
    }

    private func gauges(_ queue: String) -> QueueGauges {
        gauges.withLock { known in
            if let found = known[queue] { return found }
            let labels = [("queue", queue)]
            let made = QueueGauges(
                pending: Gauge(label: Name.pending, dimensions: labels, factory: factory),
                oldest: Gauge(label: Name.oldestPendingAge, dimensions: labels, factory: factory),
                dead: Gauge(label: Name.dead, dimensions: labels, factory: factory))
            made.pending.record(0)
            made.oldest.record(0)
            made.dead.record(0)
            known[queue] = made
            return made
        }
    }

    /// Closes the connection (the daemon stops: the writer must be the last to touch the outbox). Later
    /// refreshes leave the gauges as they are.
    func close() {
        inspector.withLock { $0 = nil }
    }

    /// Reads the outbox and sets every gauge; returns what it read (nil once closed).
    @discardableResult
    func refresh(now: Double) throws(OutboxError) -> OutboxStats? {
        let stats = try inspector.withLock { inspector throws(OutboxError) in
            try inspector?.stats(configuredQueues: configuredQueues, now: now)
        }
        guard let stats else { return nil }
        size.record(stats.sizeBytes)
        for queue in stats.queues {
            let queueGauges = gauges(queue.name)
            queueGauges.pending.record(queue.counts.pending)
            queueGauges.dead.record(queue.counts.dead)
            queueGauges.oldest.record(queue.oldestPendingAge ?? 0)
        }
        return stats
    }
}

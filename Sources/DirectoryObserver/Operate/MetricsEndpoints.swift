import Prometheus
import Synchronization

/// What `/metrics` and `/healthz` answer (SPEC §9), apart from HTTP. `/metrics` sets the outbox gauges
/// from the outbox, then writes every registered series in the Prometheus text format; `/healthz` reads
/// the health board. Sendable: the registry and the board are, the gauges are attached once the outbox is
/// open (until then `/metrics` has the counters alone).
final class MetricsEndpoints: Sendable {
    /// One HTTP answer.
    struct Reply: Sendable {
        var status: Int
        var contentType: String
        var body: [UInt8]
    }

    static let prometheusContentType = "text/plain; version=0.0.4; charset=utf-8"

    private let registry: PrometheusCollectorRegistry
    private let health: HealthBoard
    private let gauges = Mutex<OutboxGauges?>(nil)

    init(registry: PrometheusCollectorRegistry, health: HealthBoard) {
        self.registry = registry
        self.health = health
    }

    func attach(_ outboxGauges: OutboxGauges) {
        gauges.withLock { $0 = outboxGauges }
    }

    /// Blocks while the outbox is read: call it off the event loop.
    func metrics(now: Double) -> Reply {
        if let outboxGauges = gauges.withLock({ $0 }) {
            do {
                try outboxGauges.refresh(now: now)
            } catch {
                return Reply(
                    status: 500, contentType: "text/plain", body: Array("cannot read the outbox: \(error)\n".utf8))
            }
        }
        return Reply(status: 200, contentType: Self.prometheusContentType, body: registry.emitToBuffer())
    }

    func healthz() -> Reply {
        if let reason = health.snapshot().unhealthyReason {
            return Reply(status: 503, contentType: "text/plain", body: Array((reason + "\n").utf8))
        }
        return Reply(status: 200, contentType: "text/plain", body: Array("ok\n".utf8))
    }
}

import CoreMetrics
import Logging
import Prometheus
import Synchronization

/// The daemon's operating side (SPEC §9), kept beside the pipeline rather than inside it: the metrics
/// (a Prometheus registry when `metrics_listen` is set, a no-op factory otherwise), the HTTP server, and
/// the systemd notifications and watchdog. Order: `init` binds the metrics port before anything else
/// runs (a taken port refuses the start); `started` follows the outbox being open and every directory
/// armed (gauges attached, `READY=1`, the agent started); `stopping`, first thing when the daemon stops,
/// sends `STOPPING=1` and ends the server and the agent and closes their outbox connections, so the
/// writer, stopped last, is the last to touch the outbox. Sendable: its parts are, behind `Mutex`es
/// where they are set after `init`.
final class Operations: Sendable {
    let metrics: PipelineMetrics
    private let factory: any MetricsFactory
    private let endpoints: MetricsEndpoints?
    private let server: MetricsServer?
    private let notifier: SystemdNotifier?
    private let pingInterval: Double?
    private let agent = Mutex<SystemdAgent?>(nil)
    private let readers = Mutex<(gauges: OutboxGauges?, pending: PendingCounter?)>((nil, nil))
    private let configuration: Configuration
    private let logger: Logger

    /// Latency buckets from a millisecond to an hour: an outage of Redis shows in the upper ones.
    static let latencyBuckets: [Duration] = [
        .milliseconds(1), .microseconds(2_500), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .milliseconds(2_500), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(300),
        .seconds(1_800), .seconds(3_600),
    ]
    /// Commit buckets from a tenth of a millisecond to ten seconds (an fsync on a slow disk).
    static let commitBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .microseconds(2_500),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2_500), .seconds(10),
    ]

    init(configuration: Configuration, environment: [String: String], logger: Logger) throws(ConfigError) {
        self.configuration = configuration
        self.logger = logger
        let queues = configuration.monitors.map(\.queue)
        let directories = configuration.monitors.map(\.directory)
        if let address = configuration.metricsListen {
            let registry = PrometheusCollectorRegistry()
            var factory = PrometheusMetricsFactory(registry: registry)
            factory.durationHistogramBuckets = [
                PipelineMetrics.Name.commitDuration: Self.commitBuckets,
                PipelineMetrics.Name.deliveryLatency: Self.latencyBuckets,
            ]
            self.factory = factory
            metrics = PipelineMetrics(queues: queues, directories: directories, factory: factory)
            let endpoints = MetricsEndpoints(registry: registry, health: metrics.health)
            self.endpoints = endpoints
            let server = try MetricsServer(address: address, endpoints: endpoints, configFile: configuration.file)
            self.server = server
            logger.info(
                "serving /metrics and /healthz",
                metadata: ["metrics.listen": "\(ListenAddress(host: address.host, port: server.port))"])
        } else {
            factory = NOOPMetricsHandler.instance
            metrics = PipelineMetrics(queues: queues, directories: directories, factory: factory)
            endpoints = nil
            server = nil
        }
        notifier = SystemdNotifier(environment: environment)
        pingInterval = notifier == nil ? nil : SystemdAgent.pingInterval(environment: environment)
    }

    /// The outbox is open and every existing directory is watched.
    func started(outbox path: String) throws(OutboxError) {
        let queues = configuration.monitors.map(\.queue)
        if let endpoints {
            let gauges = try OutboxGauges(outbox: path, configuredQueues: queues, factory: factory)
            readers.withLock { $0.gauges = gauges }
            endpoints.attach(gauges)
        }
        guard let notifier else { return }
        let snapshot = metrics.health.snapshot()
        let directories = Set(configuration.monitors.map(\.directory)).count
        notifier.send(["READY=1", "STATUS=" + StatusLine.text(snapshot, directories: directories, pending: nil)])
        let counter = PendingCounter(outbox: path)
        readers.withLock { $0.pending = counter }
        let started = SystemdAgent(
            notifier: notifier, metrics: metrics, directories: directories, pingInterval: pingInterval,
            pendingCount: { counter.count() }, logger: logger)
        agent.withLock { $0 = started }
    }

    func stopping() {
        notifier?.send(["STOPPING=1", "STATUS=stopping"])
        agent.withLock { $0.take() }?.stop()
        server?.stop()
        let (gauges, pending) = readers.withLock { $0 }
        gauges?.close()
        pending?.close()
    }
}

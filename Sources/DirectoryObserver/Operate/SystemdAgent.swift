import Foundation
import Logging
import Synchronization

/// The daemon's conversation with systemd after `READY=1`, on its own thread, which sleeps until the
/// health board changes or a ping is due: `STATUS=` whenever the pipeline's state changes (outbox failing, a directory not watched, Redis reachable or not; the pending
/// count is read from the outbox at that moment), and, when `WATCHDOG_USEC` is set for this process,
/// `WATCHDOG=1` every half period, but only while the outbox writer and the forwarder are each resting
/// or have finished work since the last look. A thread stuck in one piece of work stops the pings, and
/// systemd restarts the service. Sendable: its state lives on its thread; `stop()` signals it.
final class SystemdAgent: Sendable {
    private let wake = WakeSignal()
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    /// Longest sleep without a ping due: the board's observer wakes the thread on every change.
    private static let longestSleep = 3_600.0

    /// `WATCHDOG_USEC` as seconds between pings (half the period), nil when unset or meant for another pid.
    static func pingInterval(environment: [String: String]) -> Double? {
        guard let text = environment["WATCHDOG_USEC"], let micro = Double(text), micro > 0 else { return nil }
        if let pid = environment["WATCHDOG_PID"], !pid.isEmpty, Int32(pid) != getpid() { return nil }
        return micro / 2_000_000
    }

    /// Starts the thread. `pendingCount` reads the outbox (called only when the status changes).
    init(
        notifier: SystemdNotifier, metrics: PipelineMetrics, directories: Int, pingInterval: Double?,
        pendingCount: @escaping @Sendable () -> Int?, logger: Logger
    ) {
        metrics.health.observe { [wake] in wake.signal() }
        startThread(named: "systemd") { [self] in
            var lastStatus = StatusLine.key(metrics.health.snapshot())
            var lastBeats: (writer: Heartbeat.Reading?, forwarder: Heartbeat.Reading?) = (nil, nil)
            var nextPing = Clock.monotonic()
            while !stopping.load(ordering: .acquiring) {
                let now = Clock.monotonic()
                if let pingInterval, now >= nextPing {
                    let writer = metrics.writerBeat.read()
                    let forwarder = metrics.forwarderBeat.read()
                    if Heartbeat.isAlive(now: writer, before: lastBeats.writer),
                        Heartbeat.isAlive(now: forwarder, before: lastBeats.forwarder)
                    {
                        notifier.send(["WATCHDOG=1"])
                    }
                    lastBeats = (writer, forwarder)
                    nextPing = max(nextPing + pingInterval, now)
                }
                let snapshot = metrics.health.snapshot()
                let key = StatusLine.key(snapshot)
                if key != lastStatus {
                    lastStatus = key
                    let line = StatusLine.text(snapshot, directories: directories, pending: pendingCount())
                    notifier.send(["STATUS=" + line])
                    logger.debug("systemd status", metadata: ["systemd.status": "\(line)"])
                }
                let untilPing = pingInterval == nil ? Self.longestSleep : max(0.001, nextPing - Clock.monotonic())
                wake.wait(seconds: untilPing)
            }
            finished.signal()
        }
    }

    /// Ends the thread; blocks until it is gone.
    func stop() {
        stopping.store(true, ordering: .releasing)
        wake.signal()
        finished.wait()
        finished.signal()
    }
}

/// The `STATUS=` text: what an operator reading `systemctl status` needs first.
enum StatusLine {
    /// What changes the line (the pending count alone does not).
    static func key(_ snapshot: HealthBoard.Snapshot) -> String {
        "\(snapshot.outboxFailure ?? "")|\(snapshot.unwatched.keys.sorted())|\(snapshot.redisUp)"
    }

    static func text(_ snapshot: HealthBoard.Snapshot, directories: Int, pending: Int?) -> String {
        var parts: [String] = []
        if let failure = snapshot.outboxFailure { parts.append("outbox does not take commits (\(failure))") }
        let watched = directories - snapshot.unwatched.count
        parts.append("watching \(watched) of \(directories) directories")
        let backlog = pending.map { "; \($0) events pending" } ?? ""
        parts.append(snapshot.redisUp ? "Redis connected\(backlog)" : "Redis unreachable\(backlog)")
        return parts.joined(separator: "; ")
    }
}

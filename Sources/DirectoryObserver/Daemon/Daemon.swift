import Logging

/// The running observer: the outbox lock, the writer, the forwarder and the watcher, wired together.
/// `init` starts them in that order (so nothing is watched before events can be recorded); `stop()` ends
/// them in the reverse order: stop watching, let the forwarder finish its round trip, commit and close
/// the outbox, release the lock. Startup does not need Redis.
public final class Daemon: Sendable {
    private let lock: LockHolder
    private let writer: OutboxWriter
    private let forwarder: ForwarderService
    private let watcher: WatcherService
    private let operations: Operations
    private let logger: Logger

    /// Starts everything; throws `ConfigError`, `OutboxError` or `SystemError` with a message for the
    /// operator when something cannot start. `environment` is read for systemd's `NOTIFY_SOCKET`,
    /// `WATCHDOG_USEC` and `WATCHDOG_PID`. `onOutboxDetached` runs once if the outbox at the path is
    /// removed or replaced under the daemon: nothing more is committed by then and the error is logged;
    /// the caller is expected to exit (SPEC §6: status 75).
    public init(
        configuration: Configuration, logger: Logger, environment: [String: String] = [:],
        onOutboxDetached: @escaping @Sendable (OutboxError) -> Void = { _ in }
    ) throws {
        self.logger = logger
        for unknown in configuration.unknownKeys {
            logger.warning(
                "unknown key in the configuration; it is ignored",
                metadata: [
                    "config.file": "\(unknown.file)", "config.section": "\(unknown.section)",
                    "config.key": "\(unknown.key)", "config.line": "\(unknown.line)",
                    "config.did_you_mean": "\(unknown.suggestion ?? "")",
                ])
        }
        let filters = try configuration.monitors.map { monitor throws(ConfigError) in
            (monitor, try NameFilter(monitor: monitor, file: configuration.file))
        }
        // The lock first, so a second daemon is told who holds the outbox rather than that the metrics
        // port is taken; the metrics port next, so a taken one refuses the start before the outbox is opened.
        lock = LockHolder(try OutboxLock(outbox: configuration.outbox.path))
        operations = try Operations(configuration: configuration, environment: environment, logger: logger)
        let metrics = operations.metrics
        let work = WakeSignal()
        writer = try OutboxWriter(
            settings: configuration.outbox, logger: logger, metrics: metrics, onCommit: { work.signal() },
            onDetached: onOutboxDetached)
        let board = QueueLengthBoard()
        var forwarderSettings = ForwarderSettings(configuration: configuration)
        forwarderSettings.metrics = metrics
        forwarder = try ForwarderService(
            settings: forwarderSettings, writer: writer, board: board, work: work, logger: logger)
        watcher = try WatcherService(
            monitors: filters, writer: writer, board: board, inactivityTimeout: configuration.inactivityTimeout,
            logger: logger, metrics: metrics)
        writer.setRecoveryHandler { [watcher] in watcher.requestListing() }
        logger.info(
            "directory_observer started",
            metadata: [
                "config.file": "\(configuration.file)", "outbox.path": "\(configuration.outbox.path)",
                "outbox.uuid": "\(writer.uuid)", "monitors": "\(configuration.monitors.count)",
            ])
        try operations.started(outbox: writer.path)
    }

    /// Stops in order: watcher, forwarder (its thread ended), writer (commits what was read, then refuses
    /// any request), then the lock.
    public func stop() {
        logger.info("directory_observer stopping")
        operations.stopping()
        watcher.stop()
        forwarder.stop()
        writer.stop()
        lock.release()
        logger.info("directory_observer stopped")
    }
}

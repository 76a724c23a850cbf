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
    private let logger: Logger

    /// Starts everything; throws `ConfigError`, `OutboxError` or `SystemError` with a message for the
    /// operator when something cannot start. `onOutboxDetached` runs once if the outbox at the path is
    /// removed or replaced under the daemon: nothing more is committed by then and the error is logged;
    /// the caller is expected to exit (SPEC §6: status 75).
    public init(
        configuration: Configuration, logger: Logger,
        onOutboxDetached: @escaping @Sendable (OutboxError) -> Void = { _ in }
    ) throws {
        self.logger = logger
        let filters = try configuration.monitors.map { monitor throws(ConfigError) in
            (monitor, try NameFilter(monitor: monitor, file: configuration.file))
        }
        lock = LockHolder(try OutboxLock(outbox: configuration.outbox.path))
        let work = WakeSignal()
        writer = try OutboxWriter(
            settings: configuration.outbox, logger: logger, onCommit: { work.signal() },
            onDetached: onOutboxDetached)
        let board = QueueLengthBoard()
        forwarder = try ForwarderService(
            settings: ForwarderSettings(configuration: configuration), writer: writer, board: board, work: work,
            logger: logger)
        watcher = try WatcherService(
            monitors: filters, writer: writer, board: board, inactivityTimeout: configuration.inactivityTimeout,
            logger: logger)
        writer.setRecoveryHandler { [watcher] in watcher.requestListing() }
        logger.info(
            "directory_observer started",
            metadata: [
                "config.file": "\(configuration.file)", "outbox.path": "\(configuration.outbox.path)",
                "outbox.uuid": "\(writer.uuid)", "monitors": "\(configuration.monitors.count)",
            ])
    }

    /// Stops in order: watcher, forwarder (its thread ended), writer (commits what was read, then refuses
    /// any request), then the lock.
    public func stop() {
        logger.info("directory_observer stopping")
        watcher.stop()
        forwarder.stop()
        writer.stop()
        lock.release()
        logger.info("directory_observer stopped")
    }
}

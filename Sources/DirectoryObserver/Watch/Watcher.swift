import Glibc
import Logging

/// Turns inotify events and directory listings into outbox events (SPEC §4). Not Sendable: it lives on
/// the watcher thread (see `WatcherService`) and owns the inotify instance there.
///
/// Guarantees: a watch is armed before its directory is listed, so no file slips between the two;
/// events are handed to the outbox in kernel order; an overflow of the kernel queue is followed at once
/// by every path armed again (a directory replaced meanwhile gets a watch of its own) and a listing of
/// every directory; a listing that fails is tried again until it succeeds; a directory that disappears
/// is checked every second and listed again when it is back; state changes are logged once.
final class Watcher {
    struct Monitor {
        let config: MonitorConfig
        let filter: NameFilter
    }

    private let monitors: [Monitor]
    private var directories: [WatchedDirectory]
    private let writer: OutboxWriter
    private let board: QueueLengthBoard
    private let inactivityTimeout: Double?
    private let logger: Logger
    private let metrics: PipelineMetrics
    private var inotify: Inotify
    /// Watch descriptor → indexes into `directories`.
    private var byWatch: [Int32: [Int]] = [:]
    /// `announce=close`: files created and not yet closed, per directory index.
    private var openedFiles: [Int: Set<[UInt8]>] = [:]
    private var lastEvent = Clock.monotonic()
    private var nextAvailabilityCheck = Clock.monotonic() + 1
    private let scan: DirectoryScan

    /// Reads a directory's candidates (`DirectoryListing.scan`; tests hand in one that fails).
    typealias DirectoryScan = (_ directory: String, _ body: (_ name: [UInt8], _ modified: timespec) throws -> Void)
        throws -> Void

    init(
        monitors: [Monitor], writer: OutboxWriter, board: QueueLengthBoard, inactivityTimeout: Double?,
        logger: Logger, metrics: PipelineMetrics, scan: @escaping DirectoryScan = DirectoryListing.scan
    ) throws(SystemError) {
        self.scan = scan
        self.monitors = monitors
        self.directories = Self.directories(watchedBy: monitors)
        self.writer = writer
        self.board = board
        self.inactivityTimeout = inactivityTimeout
        self.logger = logger
        self.metrics = metrics
        self.inotify = try Inotify()
    }

    /// One `WatchedDirectory` per distinct directory, in the order the monitors first name it, with the
    /// indexes of every monitor of it and the inotify mask their `announce` modes need together.
    private static func directories(watchedBy monitors: [Monitor]) -> [WatchedDirectory] {
        var grouped: [String: [Int]] = [:]
        var order: [String] = []
        for (index, monitor) in monitors.enumerated() {
            if grouped[monitor.config.directory] == nil { order.append(monitor.config.directory) }
            grouped[monitor.config.directory, default: []].append(index)
        }
        return order.map { path in
            let indexes = grouped[path]!
            let modes = Set(indexes.map { monitors[$0].config.announce })
            return WatchedDirectory(path: path, monitors: indexes, mask: WatchedDirectory.mask(for: modes))
        }
    }

    /// The inotify descriptor to poll.
    var descriptor: Int32 { inotify.descriptor }

    // MARK: - Arming and listing

    /// Watches the directory at `index`'s path. Two monitors may name one directory by two paths (`in`
    /// and `in/`, or through a symlink), and the kernel keeps one watch per directory: each adds with
    /// `IN_MASK_ADD`, so the watch gets the events all of them need instead of the last one's alone (each
    /// still reads them by its own `announce`).
    private func addWatch(_ index: Int) throws(SystemError) -> Int32 {
        try inotify.addWatch(path: directories[index].path, mask: directories[index].mask | UInt32(IN_MASK_ADD))
    }

    /// Why a path cannot be watched, as the log and the health board say it.
    private static func unavailableReason(_ error: SystemError) -> String {
        error.errno == ENOENT || error.errno == ENOTDIR ? missingReason : error.reason
    }

    private static let missingReason = "missing"

    /// Arms every directory that is not watched yet and lists the ones that were armed.
    func armAll() {
        for index in directories.indices where directories[index].watch == nil {
            if arm(index) { list(index) }
        }
    }

    /// Tries to watch one directory; logs the change of state. Returns true when it is now watched.
    private func arm(_ index: Int) -> Bool {
        let path = directories[index].path
        do {
            let watch = try addWatch(index)
            if case .unavailable = directories[index].status {
                logger.info("directory is back; watching it again", metadata: ["watch.directory": "\(path)"])
            } else {
                logger.info("watching directory", metadata: ["watch.directory": "\(path)"])
            }
            directories[index].status = .watching(watch)
            metrics.health.watching(path)
            byWatch[watch, default: []].append(index)
            let now = Clock.monotonic()
            for monitor in directories[index].monitors where monitors[monitor].config.forcedPoll > 0 {
                directories[index].nextForcedPoll[monitor] = now + monitors[monitor].config.forcedPoll
            }
            return true
        } catch {
            let reason = Self.unavailableReason(error)
            // Still gone at the next check: the reason that said how it went ("deleted", "moved away") stays.
            if reason == Self.missingReason, case .unavailable = directories[index].status { return false }
            markUnavailable(index, reason: reason)
            return false
        }
    }

    private func markUnavailable(_ index: Int, reason: String) {
        let before = directories[index].status
        unmapWatch(of: index)
        directories[index].status = .unavailable(reason: reason)
        metrics.health.notWatching(directories[index].path, reason: reason)
        openedFiles[index] = nil
        if before != directories[index].status {
            logger.warning(
                "directory not watched; checking every second",
                metadata: ["watch.directory": "\(directories[index].path)", "watch.reason": "\(reason)"])
        }
    }

    /// Stops routing the events of `index`'s watch to it. Returns the watch when no directory reads it any
    /// more (the caller may remove it from the kernel), nil otherwise.
    @discardableResult
    private func unmapWatch(of index: Int) -> Int32? {
        guard let watch = directories[index].watch else { return nil }
        byWatch[watch]?.removeAll { $0 == index }
        guard byWatch[watch]?.isEmpty == true else { return nil }
        byWatch[watch] = nil
        return watch
    }

    /// Lists every watched directory (after an overflow, a rebuilt instance, or a recovered outbox).
    func listAll() {
        for index in directories.indices where directories[index].watch != nil {
            list(index)
        }
    }

    /// Lists one directory for each of its monitors and hands the candidates to the outbox in a
    /// `ListingSpool` per monitor, filled as the directory is read (on disk past a size): the watcher's
    /// memory does not grow with the directory, and it never waits for the outbox to apply the listing.
    /// A listing that fails is owed until a retry succeeds (`listingFailed`, `runTimers`): the files it
    /// would have announced are not lost to it.
    private func list(_ index: Int, only monitorIndexes: [Int]? = nil) {
        let directory = directories[index]
        var chosen = monitorIndexes ?? directory.monitors
        // A listing still owed to other monitors of the directory goes with this one.
        if let failed = directory.failedListing { chosen = Array(failed.monitors.union(chosen)).sorted() }
        let spools = chosen.map { _ in ListingSpool() }
        // Before the scan: every file listed was seen at or after it, and the forwarder counts on that
        // when it spares a lookup per file (`DirectoryChanges`).
        let timestamp = Clock.now()
        do {
            try scan(directory.path) { name, modified in
                for (slot, monitorIndex) in chosen.enumerated() where monitors[monitorIndex].filter.accepts(name) {
                    try spools[slot].add(name, modified: modified)
                }
            }
        } catch {
            listingFailed(index, monitors: chosen, error: error)
            return
        }
        if directory.failedListing != nil {
            directories[index].failedListing = nil
            logger.info("directory listing works again", metadata: ["watch.directory": "\(directory.path)"])
        }
        for (slot, monitorIndex) in chosen.enumerated() {
            let config = monitors[monitorIndex].config
            let request = ListingRequest(
                queue: config.queue, counter: config.counter, directory: config.directory, spool: spools[slot],
                listLength: board.length(of: config.queue), limit: config.pollQueueLimit, timestamp: timestamp)
            let logger = self.logger
            writer.appendListing(request) { outcome in
                guard let outcome else { return }
                if outcome.leftOut > 0 {
                    logger.warning(
                        "listing stopped early at poll_queue_limit",
                        metadata: [
                            "watch.directory": "\(config.directory)", "redis.queue": "\(config.queue)",
                            "listing.announced": "\(outcome.announced)", "listing.left_out": "\(outcome.leftOut)",
                        ])
                } else if outcome.announced > 0 {
                    logger.debug(
                        "listing announced files",
                        metadata: ["watch.directory": "\(config.directory)", "batch.size": "\(outcome.announced)"])
                }
            }
        }
    }

    /// Keeps a failed listing owed: logged once, then tried again after a backoff (1 s, doubling up to
    /// a minute) until it succeeds, or until the directory goes away (listing it again comes with its
    /// return).
    private func listingFailed(_ index: Int, monitors chosen: [Int], error: any Error) {
        var failed =
            directories[index].failedListing
            ?? WatchedDirectory.FailedListing(monitors: [], due: 0, backoff: Backoff(initial: 1, maximum: 60))
        if directories[index].failedListing == nil {
            logger.warning(
                "directory listing failed; trying again",
                metadata: ["watch.directory": "\(directories[index].path)", "error": "\(error)"])
        }
        failed.monitors.formUnion(chosen)
        failed.due = Clock.monotonic() + failed.backoff.next()
        directories[index].failedListing = failed
    }

    // MARK: - Events

    /// Reads the queued kernel events (one `read`: a queue larger than the buffer is left for the next
    /// call), hands the new files to the outbox (one append), and handles overflow and vanished
    /// directories. Returns how many kernel events it read.
    @discardableResult
    func readEvents() -> Int {
        var events: [InotifyEvent] = []
        do {
            try inotify.readOnce(into: &events)
        } catch {
            logger.error("reading inotify failed; rebuilding the watches", metadata: ["error": "\(error)"])
            rebuild()
            return 0
        }
        guard !events.isEmpty else { return 0 }
        lastEvent = Clock.monotonic()
        var found: [NewEvent] = []
        var overflowed = false
        for event in events {
            if event.has(IN_Q_OVERFLOW) {
                overflowed = true
                continue
            }
            guard let indexes = byWatch[event.watch] else { continue }
            for index in indexes {
                handle(event, directoryIndex: index, into: &found)
            }
        }
        writer.append(found)
        if overflowed {
            metrics.inotifyOverflowed()
            logger.warning("inotify queue overflowed; listing every directory")
            rearmAfterOverflow()
            listAll()
        }
        return events.count
    }

    /// An overflow may have dropped the events that say a directory was deleted or moved away, so every
    /// watched path is armed again before the listing: the kernel answers with the same watch while the
    /// path holds the same directory, and with a new one when it now holds another (which is watched from
    /// then on, the old watch dropped). A path that is gone is marked unavailable and checked every second.
    private func rearmAfterOverflow() {
        for index in directories.indices {
            guard let old = directories[index].watch else { continue }
            let watch: Int32
            do {
                watch = try addWatch(index)
            } catch {
                if let unused = unmapWatch(of: index) { inotify.removeWatch(unused) }
                markUnavailable(index, reason: Self.unavailableReason(error))
                continue
            }
            guard watch != old else { continue }
            if let unused = unmapWatch(of: index) { inotify.removeWatch(unused) }
            directories[index].status = .watching(watch)
            byWatch[watch, default: []].append(index)
            openedFiles[index] = nil
            logger.warning(
                "directory replaced while the inotify queue overflowed; watching the new one",
                metadata: ["watch.directory": "\(directories[index].path)"])
        }
    }

    /// Reads (as `readEvents`) until the kernel queue is empty or `limit` events were read.
    func readQueue(atMost limit: Int) {
        var read = 0
        while read < limit {
            let events = readEvents()
            if events == 0 { return }
            read += events
        }
    }

    private func handle(_ event: InotifyEvent, directoryIndex index: Int, into found: inout [NewEvent]) {
        if event.has(IN_IGNORED) || event.has(IN_DELETE_SELF) || event.has(IN_MOVE_SELF) {
            if event.has(IN_MOVE_SELF) { inotify.removeWatch(event.watch) }
            markUnavailable(index, reason: event.has(IN_MOVE_SELF) ? "moved away" : "deleted")
            return
        }
        if event.has(IN_ISDIR) { return }
        let closeMode = directories[index].mask & UInt32(IN_CLOSE_WRITE) != 0
        if closeMode && (event.has(IN_DELETE) || event.has(IN_MOVED_FROM)) {
            openedFiles[index]?.remove(event.name)
            return
        }
        let timestamp = Clock.now()
        for monitorIndex in directories[index].monitors {
            let monitor = monitors[monitorIndex]
            let announce: Bool
            switch monitor.config.announce {
            case .create:
                announce = event.has(IN_CREATE) || event.has(IN_MOVED_TO)
            case .close:
                announce =
                    event.has(IN_MOVED_TO)
                    || (event.has(IN_CLOSE_WRITE) && openedFiles[index]?.contains(event.name) == true)
            }
            guard announce, monitor.filter.accepts(event.name) else { continue }
            found.append(
                NewEvent(
                    queue: monitor.config.queue, counter: monitor.config.counter, directory: monitor.config.directory,
                    filename: event.name, kind: .created, timestamp: timestamp))
        }
        if closeMode {
            if event.has(IN_CREATE) {
                openedFiles[index, default: []].insert(event.name)
            } else if event.has(IN_CLOSE_WRITE) || event.has(IN_MOVED_TO) {
                openedFiles[index]?.remove(event.name)
            }
        }
    }

    // MARK: - Timers

    /// Runs what is due: availability checks (every second), forced polls, the inactivity rebuild.
    /// Returns the seconds until the next deadline.
    func runTimers() -> Double {
        let now = Clock.monotonic()
        var next = now + 3600
        if directories.contains(where: { $0.watch == nil }) {
            if now >= nextAvailabilityCheck {
                armAll()
                nextAvailabilityCheck = now + 1
            }
            next = min(next, nextAvailabilityCheck)
        }
        for index in directories.indices where directories[index].watch != nil {
            if let failed = directories[index].failedListing {
                if now >= failed.due { list(index, only: Array(failed.monitors).sorted()) }
                if let due = directories[index].failedListing?.due { next = min(next, due) }
            }
            for (monitor, due) in directories[index].nextForcedPoll {
                if now >= due {
                    list(index, only: [monitor])
                    directories[index].nextForcedPoll[monitor] = now + monitors[monitor].config.forcedPoll
                }
                next = min(next, directories[index].nextForcedPoll[monitor]!)
            }
        }
        if let timeout = inactivityTimeout {
            if now - lastEvent >= timeout {
                logger.info("no event for monitor_inactivitytimeout; rebuilding the watches and listing")
                rebuild()
            }
            next = min(next, lastEvent + timeout)
        }
        return max(0, next - Clock.monotonic())
    }

    /// Re-creates the inotify instance, re-arms every directory and lists them all.
    private func rebuild() {
        do {
            let fresh = try Inotify()
            inotify = fresh
        } catch {
            logger.error("cannot create an inotify instance", metadata: ["error": "\(error)"])
        }
        byWatch.removeAll()
        openedFiles.removeAll()
        for index in directories.indices {
            directories[index].status = .notArmed
        }
        lastEvent = Clock.monotonic()
        for index in directories.indices {
            if arm(index) { list(index) }
        }
    }
}

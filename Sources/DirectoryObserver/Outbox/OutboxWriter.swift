import Dispatch
import Foundation
import Logging
import Synchronization

/// The outbox's single writer: a dedicated thread that owns the read-write SQLite connection and commits
/// everything handed to it in groups. Whatever arrives while one transaction commits goes into the next
/// one, so the write path keeps up with bursts without a transaction per event and without a fixed sleep.
///
/// Guarantees: requests are applied in the order they were handed in; a completion runs (on the writer
/// thread) only after its transaction committed; a failed commit (full disk, I/O error) is rolled back and
/// retried with backoff while new requests keep queueing, and when commits succeed again the recovery
/// handler runs so the watcher can re-list what it could not record. All methods are safe from any thread.
public final class OutboxWriter: Sendable {
    /// Most events kept in memory while commits fail; beyond it new events are dropped (and the
    /// directories re-listed after recovery).
    static let retainedEventLimit = 200_000

    private enum Request: Sendable {
        case append([NewEvent], completion: (@Sendable (Bool) -> Void)?)
        case listing(ListingRequest, completion: @Sendable (ListingOutcome?) -> Void)
        case delivered(queue: String, lastID: Int64, skipped: [SkippedEvent])
        case deliveredUpTo(queue: String, id: Int64, completion: @Sendable (Int) -> Void)
        case failure(queue: String, ids: ClosedRange<Int64>, error: String, maxAttempts: Int,
            completion: @Sendable (Int) -> Void)
        /// Completes once everything handed in before it is committed; with `afterListings`, once the
        /// spooled listings handed in before it are applied too.
        case barrier(afterListings: Bool, @Sendable () -> Void)

        var eventCount: Int {
            if case .append(let events, _) = self { return events.count }
            return 0
        }

        /// Whether a commit holding this request must reach the disk before it returns (with
        /// `outbox_sync=full`). Delivered marks need not: if a crash loses them, the watermarks in Redis
        /// mark the same events delivered again on the next connect, and no event is pushed twice.
        var needsDurability: Bool {
            switch self {
            case .delivered, .deliveredUpTo: return false
            case .append, .listing, .failure, .barrier: return true
            }
        }
    }

    private struct State {
        var requests: [Request] = []
        var stopping = false
        var recoveryHandler: (@Sendable () -> Void)?
    }

    /// The outbox's UUID (names its watermarks in Redis).
    public let uuid: String
    public let path: String
    private let settings: OutboxSettings
    private let logger: Logger
    private let onCommit: @Sendable () -> Void
    private let metrics: PipelineMetrics
    private let onDetached: @Sendable (OutboxError) -> Void
    private let state = Mutex(State())
    private let wake = WakeSignal()
    private let finished = DispatchSemaphore(value: 0)

    /// Opens (creating or migrating) the outbox on a new writer thread. The caller holds the outbox's
    /// lock. `onCommit` runs on the writer thread after each commit that added events. `onDetached` runs
    /// once, on the writer thread, if the outbox at the path stops being the file it writes (removed or
    /// replaced under it): by then the writer has committed nothing more, logged one error line and
    /// refuses every request; the owner is expected to exit. `metrics` gets each commit, the writer's
    /// heartbeat and whether the outbox takes commits.
    public init(
        settings: OutboxSettings, logger: Logger, metrics: PipelineMetrics = .disabled(),
        onCommit: @escaping @Sendable () -> Void = {}, onDetached: @escaping @Sendable (OutboxError) -> Void = { _ in }
    ) throws(OutboxError) {
        self.metrics = metrics
        self.path = settings.path
        self.settings = settings
        self.logger = logger
        self.onCommit = onCommit
        self.onDetached = onDetached
        // The thread opens the connection itself (the connection never crosses threads), reports the
        // outcome, then waits until `init` has finished before it touches `self`. Two semaphores, one per
        // direction: with a single one the thread's own wait could take the signal meant for `init`
        // (both wait on it at once), leaving `init` blocked forever and the thread gone without `self`.
        let opened = Mutex<Result<String, OutboxError>?>(nil)
        let ready = DispatchSemaphore(value: 0)
        let handedOver = DispatchSemaphore(value: 0)
        let handOver = Mutex<OutboxWriter?>(nil)
        startThread(named: "outbox-writer") { [settings] in
            let store: OutboxStore
            do throws(OutboxError) {
                var upgradeStarted: Double?
                let connection = try OutboxFile.open(path: settings.path, access: .daemon, sync: settings.sync) {
                    from, to in
                    upgradeStarted = Clock.monotonic()
                    logger.notice(
                        "upgrading the outbox schema; this copies every event once",
                        metadata: ["outbox.path": "\(settings.path)", "outbox.schema_from": "\(from)", "outbox.schema_to": "\(to)"])
                }
                if let upgradeStarted {
                    logger.notice(
                        "outbox schema upgraded",
                        metadata: ["outbox.path": "\(settings.path)", "outbox.upgrade_s": "\(((Clock.monotonic() - upgradeStarted) * 10).rounded() / 10)"])
                }
                let uuid: String
                do throws(SQLiteError) {
                    uuid = try OutboxFile.uuid(of: connection)
                } catch {
                    throw OutboxError(path: settings.path, reason: .sqlite(error))
                }
                connection.takeOverCheckpoints()
                store = OutboxStore(connection: connection)
                opened.withLock { $0 = .success(uuid) }
                ready.signal()
            } catch {
                opened.withLock { $0 = .failure(error) }
                ready.signal()
                return
            }
            handedOver.wait()
            handOver.withLock { $0 }?.run(store)
        }
        ready.wait()
        switch opened.withLock({ $0 }) {
        case .success(let uuid): self.uuid = uuid
        case .failure(let error): throw error
        // Unreachable: the thread stores a result in both of its branches before it signals `ready`.
        case nil: preconditionFailure("the writer thread reported nothing")
        }
        handOver.withLock { $0 = self }
        handedOver.signal()
    }

    // MARK: - Requests

    /// Commits new events, in order. `completion(true)` runs once they are committed; `false` if they had
    /// to be dropped (commits failing for too long, or shutdown while failing).
    public func append(_ events: [NewEvent], completion: (@Sendable (Bool) -> Void)? = nil) {
        guard !events.isEmpty else {
            completion?(true)
            return
        }
        submit(.append(events, completion: completion))
    }

    /// Applies a listing (see `ListingRequest`); `completion` gets the outcome, or nil if it was dropped.
    public func appendListing(_ listing: ListingRequest, completion: @escaping @Sendable (ListingOutcome?) -> Void) {
        submit(.listing(listing, completion: completion))
    }

    /// Marks a batch the forwarder pushed (see `OutboxStore.markDelivered(queue:through:skipped:at:)`).
    public func markDelivered(queue: String, through lastID: Int64, skipped: [SkippedEvent]) {
        submit(.delivered(queue: queue, lastID: lastID, skipped: skipped))
    }

    /// Marks delivered every pending event of `queue` up to the Redis watermark `id`; blocks until committed
    /// and returns how many events it delivered, or nil when `timeout` seconds passed first (commits are
    /// failing, or another process holds the outbox): the request stays queued and is committed later.
    /// The wait is bounded so that a forwarder never waits on the writer past its own stop.
    public func markDelivered(queue: String, upTo id: Int64, timeout: Double) -> Int? {
        let done = DispatchSemaphore(value: 0)
        let changed = Mutex(0)
        submit(.deliveredUpTo(queue: queue, id: id) { count in
            changed.withLock { $0 = count }
            done.signal()
        })
        guard done.wait(timeout: .now() + .milliseconds(Int(timeout * 1000))) == .success else { return nil }
        return changed.withLock { $0 }
    }

    /// Counts a failed try for a batch; blocks until committed and returns how many events went `dead`, or
    /// nil when `timeout` seconds passed first (the request stays queued and is committed later).
    public func recordFailure(
        queue: String, ids: ClosedRange<Int64>, error: String, maxAttempts: Int, timeout: Double
    ) -> Int? {
        let done = DispatchSemaphore(value: 0)
        let dead = Mutex(0)
        submit(.failure(queue: queue, ids: ids, error: error, maxAttempts: maxAttempts) { count in
            dead.withLock { $0 = count }
            done.signal()
        })
        guard done.wait(timeout: .now() + .milliseconds(Int(timeout * 1000))) == .success else { return nil }
        return dead.withLock { $0 }
    }

    /// Blocks until everything handed in before this call is committed, or `timeout` seconds pass; with
    /// `includingListings`, also until the spooled listings handed in before it are applied (a large one
    /// takes many transactions). Returns true when it was committed.
    @discardableResult
    public func flush(timeout: Double = 60, includingListings: Bool = false) -> Bool {
        let done = DispatchSemaphore(value: 0)
        submit(.barrier(afterListings: includingListings) { done.signal() })
        return done.wait(timeout: .now() + .milliseconds(Int(timeout * 1000))) == .success
    }

    /// Runs `handler` (on the writer thread) each time commits succeed again after failing.
    public func setRecoveryHandler(_ handler: @escaping @Sendable () -> Void) {
        state.withLock { $0.recoveryHandler = handler }
    }

    /// Commits what is queued, closes the outbox and ends the thread. Blocks until done. Requests made
    /// from now on are refused (see `submit`).
    public func stop() {
        state.withLock { $0.stopping = true }
        wake.signal()
        // `finished` is signalled once by the thread; pass it on so that every caller of stop() returns.
        finished.wait()
        finished.signal()
    }

    /// Queues a request; once the writer is stopping (or has stopped) it is refused at once instead:
    /// its completion is told nothing was committed.
    private func submit(_ request: Request) {
        let accepted = state.withLock { state in
            guard !state.stopping else { return false }
            state.requests.append(request)
            return true
        }
        if accepted {
            wake.signal()
        } else {
            abandon([request])
        }
    }

    // MARK: - The writer thread

    /// Why a commit did not happen, each handled its own way.
    private enum CommitProblem {
        /// The outbox at the path is no longer the file this writer writes: stop for good.
        case detached(OutboxError)
        /// Another process holds a write transaction longer than the busy timeout: wait, lose nothing.
        case busy
        /// The disk or SQLite failed (full disk, I/O error): retry with backoff, re-list on recovery.
        case failed(any Error)

        init(_ error: any Error) {
            if let error = error as? OutboxError, case .detached = error.reason {
                self = .detached(error)
            } else if let error = error as? SQLiteError, error.isBusy {
                self = .busy
            } else {
                self = .failed(error)
            }
        }
    }

    private func run(_ store: OutboxStore) {
        // The connection has read the file by now, so SQLite has its write-ahead log open.
        let fileGuard = OutboxFileGuard(path: path, connection: store.connection)
        var retained: [Request] = []
        var failingSince: Double?
        var busySince: Double?
        var relistWhenCommitting = false
        var backoff = 0.05
        var pruning = PruneSchedule(now: Clock.monotonic())
        var logCheckAt: Double?
        var durable = settings.sync == .full
        var listings: [SpooledListing] = []
        var listingTurn = false
        while true {
            let (incoming, stopping) = state.withLock { state in
                defer { state.requests.removeAll(keepingCapacity: true) }
                return (state.requests, state.stopping)
            }
            retained.append(contentsOf: incoming)
            if retained.isEmpty && listings.isEmpty {
                if stopping { break }
                let now = Clock.monotonic()
                if pruning.isDue(now: now, idle: true) {
                    metrics.writerBeat.working()
                    prune(store, &pruning)
                    continue
                }
                if let checkAt = logCheckAt, now >= checkAt {
                    metrics.writerBeat.working()
                    logCheckAt = truncateLogIfLarge(store) ? nil : now + Self.idleBeforeLogTruncation
                    continue
                }
                metrics.writerBeat.rested()
                // Nothing runs until a request, a due prune step or the log check: an idle writer sleeps.
                wake.wait(seconds: max(0.001, min(pruning.nextStep, logCheckAt ?? .infinity) - now))
                continue
            }
            if stopping && retained.isEmpty {
                // A listing still being applied is dropped: the next start lists the directories again.
                listings.flatMap { $0.dropped() }.forEach { $0() }
                break
            }
            // Spooled listings go a chunk at a time, taking turns with the requests that keep coming.
            let applyingChunk = !listings.isEmpty && (retained.isEmpty || listingTurn)
            listingTurn = !applyingChunk
            metrics.writerBeat.working()
            do {
                try fileGuard.check(store.connection)
                var completions: [() -> Void] = []
                var inserted = false
                if applyingChunk {
                    try setDurability(wanted: true, store: store, current: &durable)
                    let announcedBefore = listings[0].announced
                    let chunkStarted = Clock.monotonic()
                    let queue = listings[0].request.queue
                    let finished = try listings[0].applyNextChunk(to: store, createdAt: Clock.now())
                    var tally = CommitTally()
                    tally.listingChunk(
                        queue: queue, announced: listings[0].announced - announcedBefore, finished: finished != nil)
                    metrics.committed(tally, seconds: Clock.monotonic() - chunkStarted)
                    if let finished {
                        listings.removeFirst()
                        completions = finished
                    } else {
                        inserted = listings[0].announced > announcedBefore
                    }
                } else {
                    try setDurability(
                        wanted: retained.contains { $0.needsDurability }, store: store, current: &durable)
                    let done = try commit(retained, to: store, listings: listings)
                    retained.removeAll(keepingCapacity: true)
                    completions = done.completions
                    inserted = done.inserted
                    listings = done.listings
                }
                metrics.writerBeat.progressed()
                let committedAt = Clock.monotonic()
                logCheckAt = committedAt + Self.idleBeforeLogTruncation
                pruning.recordCommit(now: committedAt, retention: settings.retention)
                if let since = busySince {
                    metrics.health.outboxCommits()
                    logger.info(
                        "outbox free again; commits go on",
                        metadata: ["outbox.path": "\(path)", "outbox.waited_s": "\(seconds(since: since))"])
                    busySince = nil
                }
                if let since = failingSince {
                    metrics.health.outboxCommits()
                    logger.info("outbox commits again", metadata: ["outbox.failed_for_s": "\(seconds(since: since))"])
                    failingSince = nil
                    backoff = 0.05
                    relistWhenCommitting = true
                }
                if relistWhenCommitting {
                    relistWhenCommitting = false
                    state.withLock { $0.recoveryHandler }?()
                }
                completions.forEach { $0() }
                if inserted { onCommit() }
                checkpointWhenDue(store)
                if pruning.isDue(now: committedAt, idle: false) { prune(store, &pruning) }
            } catch {
                switch CommitProblem(error) {
                case .detached(let error):
                    listings.flatMap { $0.dropped() }.forEach { $0() }
                    detach(store, error: error, retained: retained)
                    return
                case .busy:
                    if busySince == nil {
                        busySince = Clock.monotonic()
                        metrics.health.outboxFailing("busy: another process holds a write transaction")
                        logger.warning(
                            "outbox busy: another process holds a write transaction on it; waiting, nothing is lost",
                            metadata: ["outbox.path": "\(path)"])
                    }
                case .failed(let error):
                    // Retrying a failed commit is the writer doing its job (SPEC §6: a full disk does not
                    // stop the daemon), so the watchdog keeps being fed; waiting on another process's
                    // transaction (`.busy`) is not progress (SPEC §9).
                    metrics.writerBeat.progressed()
                    if failingSince == nil {
                        failingSince = Clock.monotonic()
                        metrics.health.outboxFailing("\(error)")
                        logger.error(
                            "outbox commit failed; keeping events in memory and retrying",
                            metadata: ["outbox.path": "\(path)", "error": "\(error)"])
                    }
                }
                let (kept, dropped) = dropExcess(retained)
                retained = kept
                relistWhenCommitting = relistWhenCommitting || dropped
                if stopping, let since = failingSince ?? busySince, Clock.monotonic() - since > 5 {
                    logger.error("outbox still failing at shutdown; dropping uncommitted events")
                    abandon(retained)
                    retained.removeAll()
                    listings.flatMap { $0.dropped() }.forEach { $0() }
                    break
                }
                if failingSince != nil {
                    usleep(UInt32(backoff * 1_000_000))
                    backoff = min(backoff * 2, 2)
                } else {
                    usleep(10_000)
                }
            }
        }
        do {
            try store.close()
        } catch {
            logger.error("outbox close failed", metadata: ["error": "\(error)"])
        }
        finished.signal()
    }

    /// Write-ahead-log frames (a page and a 24-byte header each) from which the writer checkpoints when no
    /// request waits: the log then stays under `OutboxFile.journalSizeLimit` and is written over in place,
    /// so a commit's fsync does not also have to record a longer file.
    static let quietCheckpointFrames = 224
    /// Frames from which the writer checkpoints after a commit even while requests wait.
    static let busyCheckpointFrames = 1_000

    /// Checkpoints (without waiting for readers) once the log holds `quietCheckpointFrames` and nothing
    /// waits, or `busyCheckpointFrames` whatever waits. It runs after the commit's completions and
    /// `onCommit`, so the events just committed are on their way to Redis while the database file syncs.
    private func checkpointWhenDue(_ store: OutboxStore) {
        let frames = store.connection.writeAheadLogFrames
        guard frames >= Self.quietCheckpointFrames else { return }
        guard frames >= Self.busyCheckpointFrames || state.withLock({ $0.requests.isEmpty }) else { return }
        store.connection.checkpointPassively()
    }

    /// Seconds without a commit before a write-ahead log left large by a big transaction is truncated.
    static let idleBeforeLogTruncation = 2.0

    /// Truncates the write-ahead log when it is over `OutboxFile.journalSizeLimit`; returns true when it
    /// is small now (or could not be looked at), false when a reader kept it from being truncated (the
    /// writer tries again `idleBeforeLogTruncation` later).
    private func truncateLogIfLarge(_ store: OutboxStore) -> Bool {
        var info = stat()
        guard stat(store.connection.writeAheadLogPath, &info) == 0, Int(info.st_size) > OutboxFile.journalSizeLimit
        else { return true }
        let truncated = store.connection.truncateWriteAheadLog(
            restoringBusyTimeout: SQLiteConnection.defaultBusyTimeoutMilliseconds)
        if truncated {
            logger.debug("outbox write-ahead log truncated", metadata: ["outbox.wal_bytes_before": "\(info.st_size)"])
        }
        return truncated
    }

    /// The outbox at the path is not the file this writer writes any more: commit nothing more, refuse
    /// every request from now on, say so once, and tell the owner (the daemon exits). The connection is
    /// deliberately never closed: closing it would checkpoint into the orphaned files.
    private func detach(_ store: OutboxStore, error: OutboxError, retained: [Request]) {
        logger.error(
            "outbox removed or replaced under the daemon; committing nothing more and stopping",
            metadata: ["outbox.path": "\(path)", "error": "\(error)"])
        let queued = state.withLock { state in
            state.stopping = true
            defer { state.requests.removeAll() }
            return state.requests
        }
        abandon(retained + queued)
        _ = Unmanaged.passRetained(store)
        finished.signal()
        onDetached(error)
    }

    private func seconds(since start: Double) -> Double {
        ((Clock.monotonic() - start) * 10).rounded() / 10
    }

    /// With `outbox_sync=full`, a transaction of delivered marks alone commits with `synchronous=NORMAL`
    /// (no fsync of its own; the next durable commit syncs the log with it), so a new event never waits
    /// behind the fsync of an earlier event's delivered mark. A lost mark costs nothing: the watermarks in
    /// Redis mark the same events delivered again at the next connect.
    private func setDurability(wanted: Bool, store: OutboxStore, current: inout Bool) throws {
        guard settings.sync == .full else { return }
        guard wanted != current else { return }
        try store.connection.execute("PRAGMA synchronous=\(wanted ? "FULL" : "NORMAL")")
        current = wanted
    }

    /// Applies every request in one transaction; returns the completions to run after the commit, whether
    /// any event was added, and `listings` with the spooled listings handed in (applied a chunk at a time
    /// afterwards). A barrier `afterListings` handed in after a spooled listing completes only once that
    /// listing is done.
    private func commit(_ requests: [Request], to store: OutboxStore, listings: [SpooledListing]) throws
        -> (completions: [() -> Void], inserted: Bool, listings: [SpooledListing])
    {
        let now = Clock.now()
        let started = Clock.monotonic()
        var tally = CommitTally()
        var completions: [() -> Void] = []
        var inserted = false
        var listings = listings
        try store.connection.transaction { () throws(SQLiteError) in
            // The events of consecutive appends go in together, so the multi-row inserts fill up.
            var appended: [NewEvent] = []
            for request in requests {
                if case .append(let events, let completion) = request {
                    if appended.isEmpty { appended = events } else { appended += events }
                    tally.add(events)
                    if let completion { completions.append { completion(true) } }
                    continue
                }
                if !appended.isEmpty {
                    try store.insert(appended, createdAt: now)
                    appended.removeAll()
                    inserted = true
                }
                switch request {
                case .append:
                    continue
                case .listing(let listing, let completion):
                    if case .spooled(let spool) = listing.candidates {
                        listings.append(
                            SpooledListing(listing, spool: spool, maxPending: settings.maxPending, completion: completion))
                        continue
                    }
                    let outcome = try store.insertListing(listing, maxPending: settings.maxPending, createdAt: now)
                    inserted = inserted || outcome.announced > 0
                    tally.listing(queue: listing.queue, announced: outcome.announced)
                    completions.append { completion(outcome) }
                case .delivered(let queue, let lastID, let skipped):
                    try store.markDelivered(queue: queue, through: lastID, skipped: skipped, at: now)
                    tally.skipped(queue: queue, count: skipped.count)
                case .deliveredUpTo(let queue, let id, let completion):
                    let changed = try store.markDelivered(queue: queue, upTo: id, at: now)
                    completions.append { completion(changed) }
                case .failure(let queue, let ids, let error, let maxAttempts, let completion):
                    let dead = try store.recordFailure(queue: queue, ids: ids, error: error, maxAttempts: maxAttempts)
                    completions.append { completion(dead) }
                case .barrier(let afterListings, let completion):
                    if !afterListings || listings.isEmpty {
                        completions.append(completion)
                    } else {
                        listings[listings.count - 1].then(completion)
                    }
                }
            }
            if !appended.isEmpty {
                try store.insert(appended, createdAt: now)
                inserted = true
            }
        }
        metrics.committed(tally, seconds: Clock.monotonic() - started)
        if inserted {
            logger.trace("outbox committed", metadata: ["batch.requests": "\(requests.count)"])
        }
        return (completions, inserted, listings)
    }

    /// Keeps at most `retainedEventLimit` events in memory while commits fail; newer appends are dropped
    /// (their completions told `false`). The recovery handler re-lists the directories afterwards.
    private func dropExcess(_ requests: [Request]) -> (kept: [Request], dropped: Bool) {
        var kept: [Request] = []
        var events = 0
        var dropped = 0
        for request in requests {
            if case .append(let batch, let completion) = request, events + batch.count > Self.retainedEventLimit {
                dropped += batch.count
                completion?(false)
                continue
            }
            events += request.eventCount
            kept.append(request)
        }
        if dropped > 0 {
            logger.warning("outbox failing: events dropped from memory, directories will be re-listed",
                metadata: ["batch.size": "\(dropped)"])
        }
        return (kept, dropped > 0)
    }

    private func abandon(_ requests: [Request]) {
        for request in requests {
            switch request {
            case .append(_, let completion): completion?(false)
            case .listing(_, let completion): completion(nil)
            case .deliveredUpTo(_, _, let completion): completion(0)
            case .failure(_, _, _, _, let completion): completion(0)
            case .barrier(_, let completion): completion()
            case .delivered: break
            }
        }
    }

    /// One pruning step (see `PruneSchedule`): delivered and skipped events older than the retention, in
    /// its own short transaction.
    private func prune(_ store: OutboxStore, _ schedule: inout PruneSchedule) {
        do {
            let wallNow = Clock.now()
            let cutoff = wallNow - settings.retention
            let (step, oldestRetained) = try store.connection.transaction { () throws(SQLiteError) in
                let step = try store.prune(
                    settledBefore: cutoff, limit: PruneSchedule.stepLimit, scanLimit: PruneSchedule.scanLimit)
                return (step, step.finished ? try store.oldestDeliveryTime(notBefore: cutoff) : nil)
            }
            if step.deleted > 0 { logger.debug("outbox pruned", metadata: ["batch.size": "\(step.deleted)"]) }
            // The next step is due when the oldest delivery still retained grows older than the retention.
            let dueIn = oldestRetained.map { $0 + settings.retention - wallNow }
            schedule.record(step, now: Clock.monotonic(), nextDueIn: dueIn)
        } catch {
            logger.warning("outbox prune failed", metadata: ["error": "\(error)"])
            schedule.postpone(now: Clock.monotonic())
        }
    }
}

import Foundation
import Logging

// The writer thread of `OutboxWriter`: its loop, what one turn of it does, and the upkeep of the outbox
// it runs between commits. What the writer guarantees is said on `OutboxWriter`.
extension OutboxWriter {
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

    /// What the writer thread carries from one turn of its loop to the next.
    private struct Loop {
        /// Requests taken from the queue and not committed yet (kept while commits fail).
        var retained: [Request] = []
        /// Spooled listings being applied, a chunk per turn.
        var listings: [SpooledListing] = []
        /// Whether the next turn applies a listing chunk even though requests wait (they take turns).
        var listingTurn = false
        var failingSince: Double?
        var busySince: Double?
        /// Events were dropped from memory while commits failed: list the directories at the next commit.
        var relistWhenCommitting = false
        /// Seconds to wait before the next try while commits fail.
        var backoff = 0.05
        var pruning = PruneSchedule(now: Clock.monotonic())
        /// When to look whether the write-ahead log was left large (nil: nothing committed since).
        var logCheckAt: Double?
        /// Whether the connection commits with `synchronous=FULL` now.
        var durable: Bool
    }

    /// How the loop goes on after a failed commit.
    private enum AfterFailure {
        case retry
        case stop
        case detached
    }

    /// The writer thread: takes the queued requests, commits them (or the next listing chunk), and runs
    /// the outbox's upkeep while idle, until stopped.
    func run(_ store: OutboxStore) {
        // The connection has read the file by now, so SQLite has its write-ahead log open.
        let fileGuard = OutboxFileGuard(path: path, connection: store.connection)
        var loop = Loop(durable: settings.sync == .full)
        turns: while true {
            let (incoming, stopping) = state.withLock { state in
                defer { state.requests.removeAll(keepingCapacity: true) }
                return (state.requests, state.stopping)
            }
            loop.retained.append(contentsOf: incoming)
            if loop.retained.isEmpty && loop.listings.isEmpty {
                if stopping { break }
                restOrUpkeep(store, &loop)
                continue
            }
            if stopping && loop.retained.isEmpty {
                // A listing still being applied is dropped: the next start lists the directories again.
                loop.listings.flatMap { $0.dropped() }.forEach { $0() }
                break
            }
            metrics.writerBeat.working()
            do {
                try fileGuard.check(store.connection)
                let (completions, inserted) = try commitNext(store, &loop)
                afterCommit(store, &loop, completions: completions, inserted: inserted)
            } catch {
                switch recover(from: error, store, &loop, stopping: stopping) {
                case .retry: continue
                case .stop: break turns
                case .detached: return
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

    /// Nothing to commit: a due prune step, or a due look at the log's size, or sleep until a request or
    /// one of those comes (an idle writer runs nothing else).
    private func restOrUpkeep(_ store: OutboxStore, _ loop: inout Loop) {
        let now = Clock.monotonic()
        if loop.pruning.isDue(now: now, idle: true) {
            metrics.writerBeat.working()
            prune(store, &loop.pruning)
            return
        }
        if let checkAt = loop.logCheckAt, now >= checkAt {
            metrics.writerBeat.working()
            loop.logCheckAt = truncateLogIfLarge(store) ? nil : now + Self.idleBeforeLogTruncation
            return
        }
        metrics.writerBeat.rested()
        wake.wait(seconds: max(0.001, min(loop.pruning.nextStep, loop.logCheckAt ?? .infinity) - now))
    }

    /// Commits the next piece of work: a chunk of the first spooled listing, or every retained request in
    /// one transaction (listing chunks take turns with the requests that keep coming). Returns the
    /// completions to run and whether events were added.
    private func commitNext(_ store: OutboxStore, _ loop: inout Loop) throws
        -> (completions: [() -> Void], inserted: Bool)
    {
        let applyingChunk = !loop.listings.isEmpty && (loop.retained.isEmpty || loop.listingTurn)
        loop.listingTurn = !applyingChunk
        guard applyingChunk else {
            try setDurability(
                wanted: loop.retained.contains { $0.needsDurability }, store: store, current: &loop.durable)
            let done = try commit(loop.retained, to: store, listings: loop.listings)
            loop.retained.removeAll(keepingCapacity: true)
            loop.listings = done.listings
            return (done.completions, done.inserted)
        }
        try setDurability(wanted: true, store: store, current: &loop.durable)
        let announcedBefore = loop.listings[0].announced
        let chunkStarted = Clock.monotonic()
        let queue = loop.listings[0].request.queue
        let finished = try loop.listings[0].applyNextChunk(to: store, createdAt: Clock.now())
        var tally = CommitTally()
        tally.listingChunk(
            queue: queue, announced: loop.listings[0].announced - announcedBefore, finished: finished != nil)
        metrics.committed(tally, seconds: Clock.monotonic() - chunkStarted)
        if let finished {
            loop.listings.removeFirst()
            return (finished, false)
        }
        return ([], loop.listings[0].announced > announcedBefore)
    }

    /// After a commit: the lines that say commits work again, the completions and the forwarder's wake-up,
    /// then the upkeep that can wait for them (a checkpoint, a due prune step).
    private func afterCommit(_ store: OutboxStore, _ loop: inout Loop, completions: [() -> Void], inserted: Bool) {
        // Whether anything waited when the commit ended; what the completions and the forwarder hand in
        // after it (the next append, a delivery mark) does not count.
        let quiet = state.withLock { $0.requests.isEmpty }
        metrics.writerBeat.progressed()
        let committedAt = Clock.monotonic()
        loop.logCheckAt = committedAt + Self.idleBeforeLogTruncation
        loop.pruning.recordCommit(now: committedAt, retention: settings.retention)
        if let since = loop.busySince {
            metrics.health.outboxCommits()
            logger.info(
                "outbox free again; commits go on",
                metadata: ["outbox.path": "\(path)", "outbox.waited_s": "\(seconds(since: since))"])
            loop.busySince = nil
        }
        if let since = loop.failingSince {
            metrics.health.outboxCommits()
            logger.info("outbox commits again", metadata: ["outbox.failed_for_s": "\(seconds(since: since))"])
            loop.failingSince = nil
            loop.backoff = 0.05
            loop.relistWhenCommitting = true
        }
        if loop.relistWhenCommitting {
            loop.relistWhenCommitting = false
            state.withLock { $0.recoveryHandler }?()
        }
        completions.forEach { $0() }
        if inserted { onCommit() }
        checkpointWhenDue(store, quiet: quiet, listing: !loop.listings.isEmpty)
        if loop.pruning.isDue(now: committedAt, idle: false) { prune(store, &loop.pruning) }
    }

    /// A commit failed: say so once per episode, keep what fits in memory, and wait before the next try.
    private func recover(from error: any Error, _ store: OutboxStore, _ loop: inout Loop, stopping: Bool)
        -> AfterFailure
    {
        switch CommitProblem(error) {
        case .detached(let error):
            loop.listings.flatMap { $0.dropped() }.forEach { $0() }
            detach(store, error: error, retained: loop.retained)
            return .detached
        case .busy:
            if loop.busySince == nil {
                loop.busySince = Clock.monotonic()
                metrics.health.outboxFailing("busy: another process holds a write transaction")
                logger.warning(
                    "outbox busy: another process holds a write transaction on it; waiting, nothing is lost",
                    metadata: ["outbox.path": "\(path)"])
            }
        case .failed(let error):
            // Retrying a failed commit is the writer doing its job (SPEC §6: a full disk does not stop the
            // daemon), so the watchdog keeps being fed; waiting on another process's transaction (`.busy`)
            // is not progress (SPEC §9).
            metrics.writerBeat.progressed()
            if loop.failingSince == nil {
                loop.failingSince = Clock.monotonic()
                metrics.health.outboxFailing("\(error)")
                logger.error(
                    "outbox commit failed; keeping events in memory and retrying",
                    metadata: ["outbox.path": "\(path)", "error": "\(error)"])
            }
        }
        let (kept, dropped) = dropExcess(loop.retained)
        loop.retained = kept
        loop.relistWhenCommitting = loop.relistWhenCommitting || dropped
        if stopping, let since = loop.failingSince ?? loop.busySince, Clock.monotonic() - since > 5 {
            logger.error("outbox still failing at shutdown; dropping uncommitted events")
            abandon(loop.retained)
            loop.retained.removeAll()
            loop.listings.flatMap { $0.dropped() }.forEach { $0() }
            return .stop
        }
        if loop.failingSince != nil {
            usleep(UInt32(loop.backoff * 1_000_000))
            loop.backoff = min(loop.backoff * 2, 2)
        } else {
            usleep(10_000)
        }
        return .retry
    }

    /// Write-ahead-log frames (a page and a 24-byte header each) from which the writer checkpoints when no
    /// request waits: the log then stays under `OutboxFile.journalSizeLimit` and is written over in place,
    /// so a commit's fsync does not also have to record a longer file.
    static let quietCheckpointFrames = 224
    /// Frames from which the writer checkpoints after a commit even while requests wait.
    static let busyCheckpointFrames = 1_000

    /// Checkpoints (without waiting for readers) once the log holds `quietCheckpointFrames` and nothing
    /// waited when the commit ended (`quiet`), or `busyCheckpointFrames` whatever waits. It runs after the
    /// commit's completions and `onCommit`, so the events just committed are on their way to Redis while
    /// the database file syncs. When the whole log was copied and still nothing waits (no request, no
    /// listing's next chunk), the log starts over right away, so the extra fsync of a new log's header is
    /// not paid by the next event's commit.
    private func checkpointWhenDue(_ store: OutboxStore, quiet: Bool, listing: Bool) {
        let frames = store.connection.writeAheadLogFrames
        guard frames >= Self.quietCheckpointFrames else { return }
        guard frames >= Self.busyCheckpointFrames || quiet else { return }
        guard store.connection.checkpointPassively(), !listing, state.withLock({ $0.requests.isEmpty }) else {
            return
        }
        store.connection.startWriteAheadLogOver(applicationID: Migrations.applicationID)
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
        let truncated = store.connection.truncateWriteAheadLog()
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
                        completions.append { completion(true) }
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

    func abandon(_ requests: [Request]) {
        for request in requests {
            switch request {
            case .append(_, let completion): completion?(false)
            case .listing(_, let completion): completion(nil)
            case .deliveredUpTo(_, _, let completion): completion(0)
            case .failure(_, _, _, _, let completion): completion(0)
            case .barrier(_, let completion): completion(false)
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

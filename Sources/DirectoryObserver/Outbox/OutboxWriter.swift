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

    enum Request: Sendable {
        case append([NewEvent], completion: (@Sendable (Bool) -> Void)?)
        case listing(ListingRequest, completion: @Sendable (ListingOutcome?) -> Void)
        case delivered(queue: String, lastID: Int64, skipped: [SkippedEvent])
        case deliveredUpTo(queue: String, id: Int64, completion: @Sendable (Int) -> Void)
        case failure(queue: String, ids: ClosedRange<Int64>, error: String, maxAttempts: Int,
            completion: @Sendable (Int) -> Void)
        /// Completes with true once everything handed in before it is committed; with `afterListings`,
        /// once the spooled listings handed in before it are applied too. With false when it never will
        /// be (the writer stopped or detached first).
        case barrier(afterListings: Bool, @Sendable (Bool) -> Void)

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

    struct State {
        var requests: [Request] = []
        var stopping = false
        var recoveryHandler: (@Sendable () -> Void)?
    }

    /// The outbox's UUID (names its watermarks in Redis).
    public let uuid: String
    public let path: String
    let settings: OutboxSettings
    let logger: Logger
    let onCommit: @Sendable () -> Void
    let metrics: PipelineMetrics
    let onDetached: @Sendable (OutboxError) -> Void
    let state = Mutex(State())
    let wake = WakeSignal()
    let finished = DispatchSemaphore(value: 0)

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
    /// takes many transactions). Returns true when it was committed; false on a timeout, and when the
    /// writer stopped or detached without committing it.
    @discardableResult
    public func flush(timeout: Double = 60, includingListings: Bool = false) -> Bool {
        let done = DispatchSemaphore(value: 0)
        let committed = Atomic<Bool>(false)
        submit(
            .barrier(afterListings: includingListings) { wasCommitted in
                committed.store(wasCommitted, ordering: .releasing)
                done.signal()
            })
        guard done.wait(timeout: .now() + .milliseconds(Int(timeout * 1000))) == .success else { return false }
        return committed.load(ordering: .acquiring)
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
}

import Logging

/// Drains the outbox to Redis, one round trip per round: for every queue with pending events it takes
/// the oldest batch, runs the delivery script for all of them in one pipelined round trip, then hands the
/// outcome to the outbox writer. While Redis runs a round's scripts, it reads and encodes the next
/// round's batches (the events right after the ones in flight) and, during a backlog, sends them before
/// the replies come back, so Redis never waits for the forwarder (see `Forwarder+RoundTrip.swift`). A
/// queue has at most two batches in flight, and the second can go in only if the first did: its script
/// expects the watermark the first one sets.
/// Not Sendable: it lives on one thread (the daemon's forwarder thread, or `drain`'s main thread) and
/// owns its SQLite connection and its Redis session there.
///
/// Guarantees: per queue, events reach Redis in id order; a batch is applied in Redis at most once
/// (the watermark), so neither a crash between the script and the local commit nor a lost reply makes
/// a duplicate; a batch is recorded delivered only when the script pushed all of it; a watermark that
/// disagrees with the outbox is settled by `Reconciliation` (lost writes resent, diverged histories
/// renumbered); only errors of the batch itself count attempts (SPEC §5, §8); the backoff starts over
/// only when a batch goes in, and the log gets one line per change of Redis's state.
final class Forwarder {
    /// What one round did.
    enum Round: Equatable {
        /// Nothing pending.
        case idle
        /// Events were pushed or settled.
        case progress(Int)
        /// Events were pushed or settled, and nothing is left that a new round could send before the
        /// next commit raises `newWork` (no queue has a retry record, no list length is due). Only a
        /// forwarder with `newWork` says so.
        case caughtUp(Int)
        /// Pending events exist but every queue waits for its retry time (until this monotonic time).
        case waiting(until: Double)
        /// Redis cannot be reached, refuses writes for now, or refuses the configuration.
        case unavailable
        /// Reading the outbox failed; try again shortly.
        case outboxFailed
    }

    let settings: ForwarderSettings
    let store: OutboxStore
    let writer: OutboxWriter
    let board: QueueLengthBoard
    let logger: Logger
    /// The forwarder thread's wake-up signal: the writer raises it after every commit that adds events,
    /// and the log's watch (`FileChangeSignal`) after any other write to the outbox. When there is one, a
    /// round that took every pending event it saw reads the next round ahead only if it was raised since
    /// (see `readAhead`); without one (`drain`), every round reads ahead.
    let newWork: WakeSignal?
    var session: RedisSession?
    let reconciliation: Reconciliation
    /// Per queue, the watermark the queue's next batch expects Redis to hold: the last id recorded (or
    /// handed to the writer) as delivered, as agreed with Redis. The next batch starts above it.
    var cursors: [String: Int64] = [:]
    /// The next round's batches, read while the previous round's scripts ran; nil or empty when there are
    /// none (the next round reads the outbox afresh).
    var prefetched: [ForwardBatch]?
    /// The round's commands; kept between rounds so its memory is reused.
    var commands = RESPCommands()
    /// Buffers of finished batches, for the next ones (see `ForwardBatch.Storage`).
    var spareStorage: [ForwardBatch.Storage] = []
    private var queueRetries: [String: QueueRetry] = [:]
    /// Reset only by a batch that goes in: a reconnect that leads to the same refusal keeps backing off.
    var connectBackoff: Backoff
    /// How Redis was last seen; its changes are the only Redis lines in the log.
    var health: Health = .unknown {
        didSet { if health != oldValue { settings.metrics.redis(up: health == .up) } }
    }
    var downSince: Double?
    var everConnected = false
    /// The master's address last connected to (Sentinel), to log a switch once.
    var lastEndpoint: RedisEndpoint?
    private var nextLengthRefresh = 0.0
    /// Whether the last outbox read failed (logged once per change).
    private var outboxFailing = false
    /// The last error that made Redis unavailable, for `drain`'s message.
    var lastError: RedisError?
    /// The configuration refusal holding a queue now (`NOPERM`, `MOVED`, …), nil when no queue is held.
    private(set) var configurationRefusal: RedisError?

    /// Why a queue waits: its batch failed (attempts counted), or Redis refuses the queue's keys until a
    /// person changes something (no attempt counted).
    private struct QueueRetry {
        var notBefore: Double
        var backoff: Backoff
        var held: Bool
    }

    init(
        settings: ForwarderSettings, store: OutboxStore, writer: OutboxWriter, board: QueueLengthBoard, logger: Logger,
        newWork: WakeSignal? = nil
    ) {
        self.settings = settings
        self.store = store
        self.writer = writer
        self.board = board
        self.logger = logger
        self.newWork = newWork
        self.connectBackoff = Backoff(initial: settings.retry.initial, maximum: settings.retry.maximum)
        self.reconciliation = Reconciliation(
            store: store, writer: writer, lostWrites: settings.redis.lostWrites, logger: logger,
            metrics: settings.metrics, flushTimeout: settings.timeout,
            isGone: { !ForwardBatch.fileExists(directory: $0, name: $1) })
    }

    func scriptKeys(_ queue: String) -> ForwardBatch.ScriptKeys {
        ForwardBatch.ScriptKeys(
            watermark: DeliveryScript.watermarkKey(
                prefix: settings.redis.keyPrefix, outboxUUID: writer.uuid, queue: queue),
            fingerprint: DeliveryScript.fingerprintKey(
                prefix: settings.redis.keyPrefix, outboxUUID: writer.uuid, queue: queue))
    }

    /// The watermark the next batch of `queue` expects (read from the outbox the first time).
    func expected(for queue: String) throws -> Int64 {
        if let cursor = cursors[queue] { return cursor }
        let delivered = try store.deliveredThrough(queue: queue)
        cursors[queue] = delivered
        return delivered
    }

    // MARK: - One round

    func round() -> Round {
        let session: RedisSession
        do {
            session = try connectedSession()
        } catch let error as RedisError {
            return unavailable(error)
        } catch {
            return outboxFailed(error)
        }
        var earliestRetry = Double.infinity
        let batches: [ForwardBatch]
        if let prefetched, !prefetched.isEmpty {
            batches = prefetched
            self.prefetched = nil
        } else {
            guard let read = readBatches(after: [:], earliestRetry: &earliestRetry) else { return .outboxFailed }
            batches = read
        }
        if batches.isEmpty {
            do {
                try refreshLengths(over: session)
            } catch {
                return unavailable(error)
            }
            recovered()
            return earliestRetry.isFinite ? .waiting(until: earliestRetry) : .idle
        }
        do {
            let forwarded = try forward(batches, over: session)
            if forwarded.caughtUp, newWork != nil, queueRetries.isEmpty, !lengthRefreshDue {
                return .caughtUp(forwarded.settled)
            }
            return .progress(forwarded.settled)
        } catch let error as RedisError {
            return unavailable(error)
        } catch {
            return outboxFailed(error)
        }
    }

    /// Reconciling a queue with the outbox failed: the session is dropped so the next round starts over.
    private func outboxFailed(_ error: any Error) -> Round {
        session = nil
        cursors.removeAll()
        prefetched = nil
        if !outboxFailing {
            outboxFailing = true
            logger.warning("reading the outbox failed; retrying", metadata: ["error": "\(error)"])
        }
        return .outboxFailed
    }

    /// The oldest batch of every queue with pending events that is not waiting for a retry, above
    /// `inFlight[queue]` (the last id of a batch still in flight) or the queue's cursor. Nil when reading
    /// the outbox failed (logged once per change); `earliestRetry` gets the nearest retry time of the
    /// queues passed over.
    func readBatches(after inFlight: [String: Int64], earliestRetry: inout Double) -> [ForwardBatch]? {
        do {
            let now = Clock.monotonic()
            var batches: [ForwardBatch] = []
            try store.reading { () throws(SQLiteError) in
                // Every queue with events: reading a queue with none pending costs one probe of the pending index.
                for queue in try store.distinctQueues(in: .events) {
                    if let retry = queueRetries[queue], retry.notBefore > now {
                        earliestRetry = min(earliestRetry, retry.notBefore)
                        continue
                    }
                    let after = inFlight[queue] ?? cursors[queue] ?? 0
                    if let batch = try ForwardBatch.read(
                        from: store, queue: queue, afterID: after, limit: settings.batchSize, reusing: &spareStorage)
                    {
                        batches.append(batch)
                    } else if queueRetries[queue]?.held == false {
                        // Its retry time passed with nothing left to retry (the batch went dead): no wait.
                        queueRetries[queue] = nil
                    }
                }
            }
            if outboxFailing {
                outboxFailing = false
                logger.info("reading the outbox works again")
            }
            return batches
        } catch {
            if !outboxFailing {
                outboxFailing = true
                logger.warning("reading the outbox failed; retrying", metadata: ["error": "\(error)"])
            }
            return nil
        }
    }

    /// Counts what the script pushed and how long each pushed event took from its commit to this reply.
    func reportDelivery(of batch: ForwardBatch, pushed: Int) {
        let skipped = Set(batch.skipped.map(\.id))
        let times = batch.events.lazy.filter { !skipped.contains($0.id) }.map(\.committedAt)
        settings.metrics.delivered(queue: batch.queue, pushed: pushed, committedAt: Array(times), now: Clock.now())
    }

    /// A batch went in whole: it is marked delivered, the queue's wait ends, and the backoff starts over.
    func delivered(_ batch: ForwardBatch) {
        writer.markDelivered(queue: batch.queue, through: batch.ids.upperBound, skipped: batch.skipped)
        cursors[batch.queue] = batch.ids.upperBound
        connectBackoff.reset()
        recovered()
        if let retry = queueRetries.removeValue(forKey: batch.queue) {
            if retry.held && !queueRetries.values.contains(where: \.held) { configurationRefusal = nil }
            logger.info("queue accepts events again", metadata: ["redis.queue": "\(batch.queue)"])
        }
        logger.debug(
            "batch delivered", metadata: ["redis.queue": "\(batch.queue)", "batch.size": "\(batch.events.count)"])
    }

    /// Spare batch buffers kept at most (a round holds a batch per queue, and the next round's too).
    static let spareStorageLimit = 8

    /// Whether `refreshLengths` has lengths to publish now.
    private var lengthRefreshDue: Bool {
        Clock.monotonic() >= nextLengthRefresh && settings.queueLimits.values.contains { $0 != nil }
    }

    /// While idle, once a second, publishes the length of every list that has a `poll_queue_limit`, so
    /// the watcher's listings never go by a length that a consumer has since drained.
    private func refreshLengths(over session: RedisSession) throws(RedisError) {
        let now = Clock.monotonic()
        guard now >= nextLengthRefresh else { return }
        nextLengthRefresh = now + 1
        let queues = settings.queueLimits.filter { $0.value != nil }.keys.sorted()
        guard !queues.isEmpty else { return }
        let replies = try session.connection.pipeline(queues.map { [Array("LLEN".utf8), Array($0.utf8)] })
        for (queue, reply) in zip(queues, replies) {
            if case .integer(let length) = reply { board.publish(queue: queue, length: Int(length)) }
        }
    }

    /// Learns the list length of every queue whose batch holds `exists` events and has a limit, then
    /// decides which of those events to skip.
    func decideSkips(_ batches: inout [ForwardBatch], over session: RedisSession) throws(RedisError) {
        let limited = batches.indices.filter { index in
            batches[index].hasExists
        }
        guard !limited.isEmpty else { return }
        let limits = limited.map { settings.queueLimits[batches[$0].queue] ?? nil }
        let needLength = zip(limited, limits).filter { $0.1 != nil }.map { $0.0 }
        var lengths: [Int: Int] = [:]
        if !needLength.isEmpty {
            let replies = try session.connection.pipeline(
                needLength.map { [Array("LLEN".utf8), Array(batches[$0].queue.utf8)] })
            for (index, reply) in zip(needLength, replies) {
                if case .error(let text) = reply {
                    let error = RedisError.reply(text)
                    if error.failureClass != .batch { throw error }
                }
                lengths[index] = Int(reply.integerValue ?? 0)
                board.publish(queue: batches[index].queue, length: lengths[index]!)
            }
        }
        for (index, limit) in zip(limited, limits) {
            batches[index].decideSkips(limit: limit, listLength: lengths[index] ?? 0)
        }
    }

    /// An error of the batch itself: one more attempt for its events, `dead` at `max_attempts`, and a
    /// backoff for that queue alone while the others keep flowing. Returns how many went dead.
    func failed(_ batch: ForwardBatch, error text: String) -> Int {
        let dead =
            writer.recordFailure(
                queue: batch.queue, ids: batch.ids, error: text, maxAttempts: settings.retry.maxAttempts,
                timeout: settings.timeout) ?? 0
        var retry =
            queueRetries[batch.queue]
            ?? QueueRetry(
                notBefore: 0, backoff: Backoff(initial: settings.retry.initial, maximum: settings.retry.maximum),
                held: false)
        if queueRetries[batch.queue]?.held != false {
            logger.warning(
                "Redis refuses a batch; retrying this queue with backoff",
                metadata: ["redis.queue": "\(batch.queue)", "error": "\(text)"])
        }
        if dead > 0 {
            logger.error(
                "batch dead-lettered after max_attempts",
                metadata: ["redis.queue": "\(batch.queue)", "batch.size": "\(dead)", "error": "\(text)"])
            retry.backoff.reset()
        }
        retry.held = false
        retry.notBefore = Clock.monotonic() + retry.backoff.next()
        queueRetries[batch.queue] = retry
        return dead
    }

    /// Redis refuses the queue's keys in a way only a person can fix (`NOPERM`, `MOVED`…): the queue waits
    /// `retry_max` between tries, no attempt is counted, and one error line names the fix.
    func hold(_ queue: String, error: RedisError) {
        if queueRetries[queue]?.held != true {
            logger.error(
                "Redis refuses this queue's keys; events wait until the configuration is fixed",
                metadata: ["redis.queue": "\(queue)", "error": "\(error.detail)", "fix": "\(error.fix)"])
        }
        configurationRefusal = error
        queueRetries[queue] = QueueRetry(
            notBefore: Clock.monotonic() + settings.retry.maximum,
            backoff: Backoff(initial: settings.retry.initial, maximum: settings.retry.maximum), held: true)
    }
}

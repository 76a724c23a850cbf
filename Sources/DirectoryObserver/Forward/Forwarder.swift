import Logging

/// Drains the outbox to Redis, one round trip per round: for every queue with pending events it takes
/// the oldest batch, runs the delivery script for all of them in one pipelined round trip, then hands the
/// outcome to the outbox writer. While Redis runs a round's scripts, it reads and encodes the next
/// round's batches (the events right after the ones in flight); they are sent only once the replies say
/// the batches before them went in, and dropped otherwise, so a queue never has two batches in flight.
/// Not Sendable: it lives on one thread (the daemon's forwarder thread, or `drain`'s main thread) and
/// owns its SQLite connection and its Redis session there.
///
/// Guarantees: per queue, events reach Redis in id order; a batch is applied in Redis at most once
/// (the watermark), so neither a crash between the script and the local commit nor a lost reply makes
/// a duplicate; connection-level failures and transient errors never count as attempts.
final class Forwarder {
    /// What one round did.
    enum Round: Equatable {
        /// Nothing pending.
        case idle
        /// Events were pushed or settled.
        case progress(Int)
        /// Pending events exist but every queue waits for its retry time (until this monotonic time).
        case waiting(until: Double)
        /// Redis cannot be reached (or is in a transient error state).
        case unavailable
        /// Reading the outbox failed; try again shortly.
        case outboxFailed
    }

    private let settings: ForwarderSettings
    private let store: OutboxStore
    private let writer: OutboxWriter
    private let board: QueueLengthBoard
    private let logger: Logger
    private var session: RedisSession?
    /// Per queue, the last id handed to the writer as delivered: the next batch starts above it even
    /// before the writer has committed the marks.
    private var cursors: [String: Int64] = [:]
    /// The next round's batches, read while the previous round's scripts ran; nil or empty when there are
    /// none (the next round reads the outbox afresh).
    private var prefetched: [ForwardBatch]?
    /// The round's commands; kept between rounds so its memory is reused.
    private var commands = RESPCommands()
    /// Buffers of finished batches, for the next ones (see `ForwardBatch.Storage`).
    private var spareStorage: [ForwardBatch.Storage] = []
    private var queueRetries: [String: (notBefore: Double, backoff: Backoff)] = [:]
    private var connectBackoff: Backoff
    private var downSince: Double?
    private var everConnected = false
    private var nextLengthRefresh = 0.0
    /// Whether the last outbox read failed (logged once per change).
    private var outboxFailing = false
    /// The last connection-level error, for `drain`'s message.
    private(set) var lastError: RedisError?

    init(settings: ForwarderSettings, store: OutboxStore, writer: OutboxWriter, board: QueueLengthBoard, logger: Logger) {
        self.settings = settings
        self.store = store
        self.writer = writer
        self.board = board
        self.logger = logger
        self.connectBackoff = Backoff(initial: settings.retry.initial, maximum: settings.retry.maximum)
    }

    private func watermarkKey(_ queue: String) -> String {
        DeliveryScript.watermarkKey(prefix: settings.redis.keyPrefix, outboxUUID: writer.uuid, queue: queue)
    }

    // MARK: - One round

    func round() -> Round {
        guard let session = connectedSession() else { return .unavailable }
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
                lost(session: error)
                return .unavailable
            }
            return earliestRetry.isFinite ? .waiting(until: earliestRetry) : .idle
        }
        do {
            return .progress(try forward(batches, over: session))
        } catch {
            lost(session: error)
            return .unavailable
        }
    }

    /// The oldest batch of every queue with pending events that is not waiting for a retry, above
    /// `inFlight[queue]` (the last id of a batch still in flight) or the queue's cursor. Nil when reading
    /// the outbox failed (logged once per change); `earliestRetry` gets the nearest retry time of the
    /// queues passed over.
    private func readBatches(after inFlight: [String: Int64], earliestRetry: inout Double) -> [ForwardBatch]? {
        do {
            let now = Clock.monotonic()
            var batches: [ForwardBatch] = []
            for queue in try store.queuesWithPending() {
                if let retry = queueRetries[queue], retry.notBefore > now {
                    earliestRetry = min(earliestRetry, retry.notBefore)
                    continue
                }
                let after = inFlight[queue] ?? cursors[queue] ?? 0
                let storage = spareStorage.popLast() ?? ForwardBatch.Storage()
                if let batch = try ForwardBatch.read(
                    from: store, queue: queue, afterID: after, limit: settings.batchSize, storage: storage)
                {
                    batches.append(batch)
                } else {
                    spareStorage.append(storage)
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

    /// Sends the batches in one pipelined round trip (after one more for list lengths when a batch holds
    /// `exists` events), reads the next round's batches while Redis works, and settles each outcome.
    /// Throws only connection-level or transient errors.
    private func forward(_ batches: [ForwardBatch], over session: RedisSession) throws(RedisError) -> Int {
        var batches = batches
        try decideSkips(&batches, over: session)
        let queues = Array(Set(batches.map(\.queue)))
        commands.removeAll()
        for batch in batches {
            batch.appendScriptCall(to: &commands, sha: session.scriptSHA, watermarkKey: watermarkKey(batch.queue))
        }
        for queue in queues { commands.append("LLEN", queue) }
        try session.connection.send(commands)
        var unused = Double.infinity
        let inFlight = Dictionary(batches.map { ($0.queue, $0.ids.upperBound) }, uniquingKeysWith: max)
        prefetched = readBatches(after: inFlight, earliestRetry: &unused)
        let replies = try session.connection.receive(commands.count)
        for (index, queue) in queues.enumerated() {
            if case .integer(let length) = replies[batches.count + index] {
                board.publish(queue: queue, length: Int(length))
            }
        }
        var settled = 0
        for (batch, reply) in zip(batches, replies) {
            switch reply {
            case .error(let text):
                // The next batch of this queue was read above this one: it must not go before it.
                prefetched?.removeAll { $0.queue == batch.queue }
                let error = RedisError.reply(text)
                if case .reply(let prefix) = error.kind, prefix == "NOSCRIPT" {
                    try session.loadScript()
                    continue
                }
                if error.isTransient { throw error }
                settled += failed(batch, error: text)
            default:
                writer.markDelivered(queue: batch.queue, through: batch.ids.upperBound, skipped: batch.skipped)
                cursors[batch.queue] = batch.ids.upperBound
                reportDelivery(of: batch, reply: reply)
                if queueRetries.removeValue(forKey: batch.queue) != nil {
                    logger.info("queue accepts events again", metadata: ["redis.queue": "\(batch.queue)"])
                }
                settled += batch.events.count
                logger.debug(
                    "batch delivered", metadata: ["redis.queue": "\(batch.queue)", "batch.size": "\(batch.events.count)"])
            }
        }
        spareStorage += batches.prefix(max(0, Self.spareStorageLimit - spareStorage.count)).map(\.releasedStorage)
        return settled
    }

    /// Counts what the script pushed and how long each pushed event took from its commit to this reply.
    private func reportDelivery(of batch: ForwardBatch, reply: RedisReply) {
        let skipped = Set(batch.skipped.map(\.id))
        let pushed = reply.integerValue.map(Int.init) ?? batch.events.count - skipped.count
        let times = batch.events.lazy.filter { !skipped.contains($0.id) }.map(\.committedAt)
        settings.metrics.delivered(queue: batch.queue, pushed: pushed, committedAt: Array(times), now: Clock.now())
    }

    /// Spare batch buffers kept at most (a round holds a batch per queue, and the next round's too).
    private static let spareStorageLimit = 8

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
    private func decideSkips(_ batches: inout [ForwardBatch], over session: RedisSession) throws(RedisError) {
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
                    if error.isTransient { throw error }
                }
                lengths[index] = Int(reply.integerValue ?? 0)
                board.publish(queue: batches[index].queue, length: lengths[index]!)
            }
        }
        for (index, limit) in zip(limited, limits) {
            batches[index].decideSkips(limit: limit, listLength: lengths[index] ?? 0)
        }
    }

    /// A permanent error on one batch: one more attempt for its events, `dead` at `max_attempts`, and a
    /// backoff for that queue alone while the others keep flowing. Returns how many went dead.
    private func failed(_ batch: ForwardBatch, error text: String) -> Int {
        let dead = writer.recordFailure(
            queue: batch.queue, ids: batch.ids, error: text, maxAttempts: settings.retry.maxAttempts)
        var retry = queueRetries[batch.queue]
            ?? (0, Backoff(initial: settings.retry.initial, maximum: settings.retry.maximum))
        if queueRetries[batch.queue] == nil {
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
        retry.notBefore = Clock.monotonic() + retry.backoff.next()
        queueRetries[batch.queue] = retry
        return dead
    }

    // MARK: - Connection life

    /// How long to wait before the next connection attempt (exponential, with jitter).
    func nextConnectDelay() -> Double {
        connectBackoff.next()
    }

    /// The current session, or a new one: connected, authenticated, script loaded, and the outbox
    /// reconciled with the watermarks in Redis. Nil when Redis cannot be reached.
    private func connectedSession() -> RedisSession? {
        if let session { return session }
        do {
            let session = try RedisSession(settings: settings.redis, timeout: settings.timeout)
            try reconcile(over: session)
            self.session = session
            connectBackoff.reset()
            lastError = nil
            if let since = downSince {
                let backlog = (try? store.pendingCount()) ?? -1
                logger.info(
                    "Redis reachable again",
                    metadata: [
                        "redis.endpoint": "\(settings.redis.endpoint)",
                        "redis.down_for_s": "\(((Clock.monotonic() - since) * 10).rounded() / 10)",
                        "outbox.pending": "\(backlog)",
                    ])
            } else if !everConnected {
                logger.info("connected to Redis", metadata: ["redis.endpoint": "\(settings.redis.endpoint)"])
            }
            everConnected = true
            downSince = nil
            settings.metrics.redis(up: true)
            return session
        } catch {
            lost(session: error)
            return nil
        }
    }

    /// Marks delivered what the watermarks say is already in Redis, then reads every queue from its
    /// oldest pending event again.
    private func reconcile(over session: RedisSession) throws(RedisError) {
        let queues: [String]
        do {
            queues = try store.queuesWithPending()
        } catch {
            throw RedisError(kind: .connection, detail: "cannot read the outbox to reconcile: \(error)")
        }
        cursors.removeAll()
        prefetched = nil
        guard !queues.isEmpty else { return }
        let replies = try session.connection.pipeline(queues.map { ["GET", watermarkKey($0)].map { Array($0.utf8) } })
        for (queue, reply) in zip(queues, replies) {
            if case .error(let text) = reply {
                let error = RedisError.reply(text)
                if error.isTransient { throw error }
                continue
            }
            guard let watermark = reply.integerValue else { continue }
            if try watermarkIsAhead(watermark, of: queue, over: session) { continue }
            let changed = writer.markDelivered(queue: queue, upTo: watermark)
            if changed > 0 {
                logger.info(
                    "events found in Redis marked delivered",
                    metadata: ["redis.queue": "\(queue)", "batch.size": "\(changed)"])
            }
        }
    }

    /// A watermark above every id the outbox ever handed out means the outbox lost commits that Redis
    /// had seen (restored from a backup, or `outbox_sync=normal` and a power cut), and its newest ids were
    /// given out again to new events: marking up to the watermark would drop them unannounced. The
    /// watermark is moved back below the queue's oldest pending event instead, so they are all pushed
    /// (the events the outbox lost are in Redis already). Returns true when it did so.
    private func watermarkIsAhead(_ watermark: Int64, of queue: String, over session: RedisSession) throws(RedisError)
        -> Bool
    {
        let highest: Int64
        let oldestPending: Int64?
        do {
            highest = try store.highestIDEverIssued()
            oldestPending = try store.oldestPendingID(queue: queue)
        } catch {
            throw RedisError(kind: .connection, detail: "cannot read the outbox to reconcile: \(error)")
        }
        guard watermark > highest, let oldestPending else { return false }
        logger.error(
            "Redis watermark is ahead of the outbox: it lost committed events; moving the watermark back",
            metadata: [
                "redis.queue": "\(queue)", "redis.watermark": "\(watermark)", "outbox.highest_id": "\(highest)",
            ])
        _ = try session.connection.command("SET", watermarkKey(queue), String(oldestPending - 1))
        return true
    }

    /// Drops a broken session and logs the outage once.
    private func lost(session error: RedisError) {
        session = nil
        cursors.removeAll()
        prefetched = nil
        lastError = error
        settings.metrics.redis(up: false)
        if downSince == nil {
            downSince = Clock.monotonic()
            logger.warning(
                "Redis unreachable; events wait in the outbox",
                metadata: ["redis.endpoint": "\(settings.redis.endpoint)", "error": "\(error)"])
        }
    }
}

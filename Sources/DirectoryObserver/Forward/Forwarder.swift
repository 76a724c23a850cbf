import Logging

/// Drains the outbox to Redis, one round trip per round: for every queue with pending events it takes
/// the oldest batch, runs the delivery script for all of them in one pipelined round trip, then hands the
/// outcome to the outbox writer. Not Sendable: it lives on one thread (the daemon's forwarder thread, or
/// `drain`'s main thread) and owns its SQLite connection and its Redis session there.
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
    private var queueRetries: [String: (notBefore: Double, backoff: Backoff)] = [:]
    private var connectBackoff: Backoff
    private var downSince: Double?
    private var everConnected = false
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

    /// Batches written to Redis whose replies are not read yet, and the queues whose lengths were asked
    /// after them. Redis executes them while the next round reads and encodes its batches.
    private struct InFlight {
        var batches: [ForwardBatch]
        var lengthQueues: [String]
    }

    private var inFlight: InFlight?

    /// One step of the pipeline: read and encode the next batches (while Redis executes the previous
    /// ones), settle the previous replies, then send the next batches. A queue whose previous batch failed
    /// has its next batch dropped and its cursor moved back, so nothing overtakes a failed batch.
    func round() -> Round {
        guard let session = connectedSession() else { return .unavailable }
        var next: [ForwardBatch]
        var earliestRetry = Double.infinity
        do {
            (next, earliestRetry) = try collect()
        } catch {
            logger.warning("reading the outbox failed", metadata: ["error": "\(error)"])
            finishInFlight()
            return .outboxFailed
        }
        do {
            var settled = 0
            var received = false
            if let flight = inFlight {
                inFlight = nil
                settled = try receive(flight, over: session, dropping: &next)
                received = true
            }
            if next.isEmpty {
                if received { return .progress(settled) }
                return earliestRetry.isFinite ? .waiting(until: earliestRetry) : .idle
            }
            try send(next, over: session)
            return .progress(settled)
        } catch {
            lost(session: error)
            return .unavailable
        }
    }

    /// Reads the replies still owed for batches already sent (before stopping).
    func finishInFlight() {
        guard let flight = inFlight, let session else { return }
        inFlight = nil
        var none: [ForwardBatch] = []
        do {
            _ = try receive(flight, over: session, dropping: &none)
        } catch {
            lost(session: error)
        }
    }

    /// The oldest batch of every queue that is not waiting for a retry, starting above its cursor; and the
    /// earliest retry time of the queues that wait.
    private func collect() throws(SQLiteError) -> ([ForwardBatch], Double) {
        let now = Clock.monotonic()
        var earliestRetry = Double.infinity
        var batches: [ForwardBatch] = []
        for queue in try store.queuesWithPending() {
            if let retry = queueRetries[queue], retry.notBefore > now {
                earliestRetry = min(earliestRetry, retry.notBefore)
                continue
            }
            let events = try store.pendingMessages(queue: queue, afterID: cursors[queue] ?? 0, limit: settings.batchSize)
            if !events.isEmpty { batches.append(ForwardBatch(queue: queue, events: events)) }
        }
        return (batches, earliestRetry)
    }

    /// Decides the forward-time skips (one round trip for list lengths when a batch holds `exists`
    /// events), then writes every batch's script call and an LLEN per queue without waiting for replies.
    /// The cursors move past the batches at once: the next round reads above them.
    private func send(_ batches: [ForwardBatch], over session: RedisSession) throws(RedisError) {
        var batches = batches
        try decideSkips(&batches, over: session)
        let queues = Array(Set(batches.map(\.queue)))
        var commands = batches.map { $0.scriptCall(sha: session.scriptSHA, watermarkKey: watermarkKey($0.queue)) }
        commands += queues.map { [Array("LLEN".utf8), Array($0.utf8)] }
        try session.connection.send(commands)
        for batch in batches {
            cursors[batch.queue] = batch.ids.upperBound
        }
        inFlight = InFlight(batches: batches, lengthQueues: queues)
    }

    /// Reads the replies of the batches in flight and settles each: delivered, or failed (an attempt, a
    /// backoff for its queue) or to resend after a `NOSCRIPT`. Throws only connection-level or transient
    /// errors. Returns how many events were settled.
    private func receive(
        _ flight: InFlight, over session: RedisSession, dropping next: inout [ForwardBatch]
    ) throws(RedisError) -> Int {
        let replies = try session.connection.receive(flight.batches.count + flight.lengthQueues.count)
        for (index, queue) in flight.lengthQueues.enumerated() {
            if case .integer(let length) = replies[flight.batches.count + index] {
                board.publish(queue: queue, length: Int(length))
            }
        }
        var settled = 0
        for (batch, reply) in zip(flight.batches, replies) {
            guard case .error(let text) = reply else {
                writer.markDelivered(queue: batch.queue, ids: batch.ids, skipped: batch.skipped)
                if queueRetries.removeValue(forKey: batch.queue) != nil {
                    logger.info("queue accepts events again", metadata: ["redis.queue": "\(batch.queue)"])
                }
                settled += batch.events.count
                logger.debug(
                    "batch delivered", metadata: ["redis.queue": "\(batch.queue)", "batch.size": "\(batch.events.count)"])
                continue
            }
            let error = RedisError.reply(text)
            if error.isTransient { throw error }
            if case .reply(let prefix) = error.kind, prefix == "NOSCRIPT" {
                try session.loadScript()
            } else {
                settled += failed(batch, error: text)
            }
            // The batch goes again later: nothing of its queue may overtake it.
            cursors[batch.queue] = batch.ids.lowerBound - 1
            next.removeAll { $0.queue == batch.queue }
        }
        return settled
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
        guard !queues.isEmpty else { return }
        let replies = try session.connection.pipeline(queues.map { ["GET", watermarkKey($0)].map { Array($0.utf8) } })
        for (queue, reply) in zip(queues, replies) {
            if case .error(let text) = reply {
                let error = RedisError.reply(text)
                if error.isTransient { throw error }
                continue
            }
            guard let watermark = reply.integerValue else { continue }
            let changed = writer.markDelivered(queue: queue, upTo: watermark)
            if changed > 0 {
                logger.info(
                    "events found in Redis marked delivered",
                    metadata: ["redis.queue": "\(queue)", "batch.size": "\(changed)"])
            }
        }
    }

    /// Drops a broken session and logs the outage once.
    private func lost(session error: RedisError) {
        session = nil
        inFlight = nil
        cursors.removeAll()
        lastError = error
        if downSince == nil {
            downSince = Clock.monotonic()
            logger.warning(
                "Redis unreachable; events wait in the outbox",
                metadata: ["redis.endpoint": "\(settings.redis.endpoint)", "error": "\(error)"])
        }
    }
}

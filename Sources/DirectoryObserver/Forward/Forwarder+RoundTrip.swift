/// The forwarder's round trips, pipelined two deep during a backlog.
///
/// A round is written to Redis, then the next round is read (and encoded) while Redis runs it, if there
/// can be one (`readAhead`). When the next round needs nothing from Redis before it can go (no list
/// length to learn), it is written before the first round's replies are read, so Redis finds it waiting
/// as soon as it is done with the first.
///
/// Why the second round is safe before the first is known: its script for a queue expects the watermark
/// the first round's script for that queue sets, so it can go in only if the first one did. A queue whose
/// first batch did not go in whole is "troubled": its batch in the second round is void (nothing is
/// recorded for it, and its reply is read and dropped), and every piece of work that talks to Redis
/// (loading the script, settling a watermark) waits until no round is in flight, so no reply is read by
/// the wrong reader.
extension Forwarder {
    /// A round written to Redis whose replies are not read yet.
    struct SentRound {
        let batches: [ForwardBatch]
        /// Per batch, the watermark its script expects.
        let expectations: [Int64]
        /// The queues whose list lengths are asked for after the scripts.
        let lengthQueues: [String]

        var replyCount: Int { batches.count + lengthQueues.count }

        /// Per queue, the last id of its batch in this round: the next batch starts above it.
        var lastIDs: [String: Int64] {
            Dictionary(batches.map { ($0.queue, $0.ids.upperBound) }, uniquingKeysWith: max)
        }
    }

    /// What settling a round's replies found, and what is left to do with Redis once nothing is in flight.
    struct RoundOutcome {
        var settled = 0
        /// Queues whose batch did not go in whole.
        var troubled: Set<String> = []
        /// Redis answered NOSCRIPT: the script is loaded again before the next round.
        var needsScript = false
        /// Queues whose watermark disagrees with the outbox, to settle through `Reconciliation`.
        var watermarks: [(queue: String, expected: Int64, found: Int64?, fingerprint: [UInt8]?)] = []
        /// The first error that makes Redis unavailable; thrown once the round is settled.
        var unavailable: RedisError?

        mutating func merge(_ other: RoundOutcome) {
            settled += other.settled
            troubled.formUnion(other.troubled)
            needsScript = needsScript || other.needsScript
            watermarks += other.watermarks
            unavailable = unavailable ?? other.unavailable
        }
    }

    /// Rounds one call to `forward` may run back to back before it returns to the caller's loop (which
    /// beats the watchdog and checks for a stop between calls).
    static let roundsPerCall = 8

    /// Sends `batches`, then keeps Redis busy with the rounds after it while they can go unchecked, and
    /// settles every outcome. Nothing is in flight when it returns; `prefetched` holds the batches read
    /// after the last round. Returns how many events were settled, and whether it is caught up: every
    /// batch went in whole and the read after the last round found nothing (or needed no read), so only
    /// a commit since then can give the next round work. Throws a `RedisError` when Redis is unavailable
    /// (after settling every batch that went in), any other error when reconciling with the outbox failed.
    func forward(_ batches: consuming [ForwardBatch], over session: RedisSession) throws -> (
        settled: Int, caughtUp: Bool
    ) {
        // Each round's batches live in its `SentRound` alone, so their buffers are reused without a copy.
        var current = try send(consume batches, above: [:], over: session)
        var outcome = RoundOutcome()
        var rounds = 1
        var nothingAfter = false
        while true {
            let next = readAhead(after: current)
            nothingAfter = next?.isEmpty == true
            var following: SentRound?
            let unchecked = next.map { !$0.isEmpty && $0.allSatisfy(canGoUnchecked) } ?? false
            if rounds < Self.roundsPerCall, unchecked {
                following = try send((consume next)!, above: current.lastIDs, over: session)
                rounds += 1
            } else {
                prefetched = consume next
            }
            let first = settle(current, replies: try session.connection.receive(current.replyCount))
            outcome.merge(first)
            if let sent = following, !first.troubled.isEmpty {
                // Work with Redis waits for the second round's replies; its troubled queues' batches are void.
                outcome.merge(
                    settle(sent, replies: try session.connection.receive(sent.replyCount), voiding: first.troubled))
                following = nil
            }
            prefetched?.removeAll { outcome.troubled.contains($0.queue) }
            guard let sent = following else { break }
            current = sent
        }
        if outcome.needsScript { try session.loadScript() }
        for watermark in outcome.watermarks {
            try settle(
                watermark.queue, expected: watermark.expected, found: watermark.found,
                fingerprint: watermark.fingerprint, over: session)
        }
        if let unavailable = outcome.unavailable { throw unavailable }
        return (outcome.settled, nothingAfter && outcome.troubled.isEmpty)
    }

    /// The batches right after a round in flight, read while Redis runs it; nil when reading failed.
    /// Empty without a read when the round took every pending event its own read saw and no commit has
    /// raised `newWork` since: a read now would find nothing the caller's next round will not, and a
    /// caught-up forwarder spends no work beside the events it just sent.
    private func readAhead(after round: SentRound) -> [ForwardBatch]? {
        if let newWork, !newWork.isRaised, !round.batches.contains(where: \.mayHaveMore) { return [] }
        var unused = Double.infinity
        return readBatches(after: round.lastIDs, earliestRetry: &unused)
    }

    /// Whether a batch can be written while another round is in flight: it must not need a list length
    /// first (an `exists` event of a queue with `poll_queue_limit`), which would take a round trip.
    private func canGoUnchecked(_ batch: ForwardBatch) -> Bool {
        !batch.hasExists || (settings.queueLimits[batch.queue] ?? nil) == nil
    }

    /// Decides the skips, records them, and writes one script call per batch plus an `LLEN` per queue.
    /// A batch of a queue in `above` (a round in flight) expects the watermark that round sets.
    private func send(_ batches: consuming [ForwardBatch], above inFlight: [String: Int64], over session: RedisSession)
        throws -> SentRound
    {
        var batches = consume batches
        try decideSkips(&batches, over: session)
        try store.recordSkips(batches.flatMap(\.skipped), at: Clock.now())
        let expectations = try batches.map { batch throws -> Int64 in
            try inFlight[batch.queue] ?? expected(for: batch.queue)
        }
        // A round holds at most one batch per queue (`readBatches`).
        let queues = batches.map(\.queue)
        commands.removeAll()
        for (batch, expected) in zip(batches, expectations) {
            batch.appendScriptCall(
                to: &commands, sha: session.scriptSHA, keys: scriptKeys(batch.queue), expected: expected)
        }
        for queue in queues { commands.append("LLEN", queue) }
        try session.connection.send(commands)
        return SentRound(batches: batches, expectations: expectations, lengthQueues: queues)
    }

    /// Settles a round's replies without talking to Redis: batches that went in whole are marked
    /// delivered, errors of a batch counted; everything else makes its queue troubled. Batches of queues
    /// in `voiding` are dropped unread (the batch before them did not go in, so neither did they).
    private func settle(_ round: SentRound, replies: [RedisReply], voiding: Set<String> = []) -> RoundOutcome {
        var outcome = RoundOutcome()
        for (index, queue) in round.lengthQueues.enumerated() {
            if case .integer(let length) = replies[round.batches.count + index] {
                board.publish(queue: queue, length: Int(length))
            }
        }
        for ((batch, expected), reply) in zip(zip(round.batches, round.expectations), replies) {
            if voiding.contains(batch.queue) { continue }
            if case .error(let text) = reply {
                outcome.troubled.insert(batch.queue)
                let error = RedisError.reply(text)
                if case .reply(let prefix) = error.kind, prefix == "NOSCRIPT" {
                    outcome.needsScript = true
                    continue
                }
                switch error.failureClass {
                case .unavailable: outcome.unavailable = outcome.unavailable ?? error
                case .configuration: hold(batch.queue, error: error)
                case .batch: outcome.settled += failed(batch, error: text)
                }
                continue
            }
            let sent = batch.events.count - batch.skipped.count
            switch ScriptOutcome(reply: reply) {
            case .applied(let pushed) where pushed == sent:
                delivered(batch)
                reportDelivery(of: batch, pushed: pushed)
                outcome.settled += batch.events.count
            case .applied(let pushed):
                // Never recorded as delivered: the reconnect reconciles the queue from Redis's watermark.
                outcome.troubled.insert(batch.queue)
                outcome.unavailable =
                    outcome.unavailable
                    ?? RedisError(kind: .protocol, detail: "the delivery script pushed \(pushed) of \(sent) messages")
            case .behind(let found):
                outcome.troubled.insert(batch.queue)
                outcome.watermarks.append((batch.queue, expected, found, nil))
            case .ahead(let found, let fingerprint):
                outcome.troubled.insert(batch.queue)
                outcome.watermarks.append((batch.queue, expected, found, fingerprint))
            case nil:
                outcome.troubled.insert(batch.queue)
                outcome.unavailable =
                    outcome.unavailable
                    ?? RedisError(kind: .protocol, detail: "the delivery script answered with an unexpected reply")
            }
        }
        spareStorage += round.batches.prefix(max(0, Self.spareStorageLimit - spareStorage.count))
            .map(\.releasedStorage)
        return outcome
    }
}

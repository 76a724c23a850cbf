import Logging

/// Brings one queue of the outbox in line with the watermark Redis holds for it (SPEC §8), on the
/// forwarder's thread and through its connection. What a watermark means is decided exactly
/// (`verdict`), never guessed:
///
/// - equal to the outbox's delivery record: in step, nothing to do;
/// - above it, with the fingerprint stored beside it equal to the outbox's row of that id: the crash
///   window (the script ran, the local record of it was lost): those events are marked delivered, none is
///   pushed again;
/// - above it otherwise (no such row, another row, no fingerprint): a diverged history: the queue's
///   pending events get new ids above the watermark, so none is skipped;
/// - below it, or missing while the outbox delivered something: Redis lost writes: with `resend` the
///   events above Redis's watermark still in the outbox are pending again (a file gone is `skipped`),
///   with `ignore` nothing is resent.
///
/// Lost writes and diverged histories log one warning each with the counts. Not Sendable: used on the
/// forwarder's thread only.
struct Reconciliation {
    /// What a watermark found in Redis means for a queue.
    enum Verdict: Equatable {
        case inStep
        case crashWindow(through: Int64)
        case lostWrites(found: Int64?)
        case diverged(found: Int64)
    }

    /// What the forwarder does next for the queue.
    struct Settlement: Equatable {
        /// The watermark the queue's next batch expects Redis to hold.
        var expected: Int64
        /// With `ignore`: Redis's watermark must first be moved from `found` (0: missing) to `expected`,
        /// with this fingerprint (empty when the outbox no longer has the row).
        var adopt: (found: Int64, fingerprint: [UInt8])?

        static func == (lhs: Settlement, rhs: Settlement) -> Bool {
            lhs.expected == rhs.expected && lhs.adopt?.found == rhs.adopt?.found
                && lhs.adopt?.fingerprint == rhs.adopt?.fingerprint
        }
    }

    let store: OutboxStore
    let writer: OutboxWriter
    let lostWrites: LostWritesPolicy
    let logger: Logger
    var metrics: PipelineMetrics = .disabled()
    /// How long to wait for the writer to commit this forwarder's earlier marks (the Redis timeout: it
    /// bounds a round, and so the daemon's stop).
    var flushTimeout: Double = 5
    /// Whether the file of an event (directory, raw name) is gone: such an event is not resent.
    let isGone: (String, [UInt8]) -> Bool

    /// Decides what `found` (nil: missing) and the `fingerprint` stored beside it mean when the outbox
    /// expects `expected` for `queue`.
    func verdict(queue: String, expected: Int64, found: Int64?, fingerprint: [UInt8]?) throws -> Verdict {
        let watermark = found ?? 0
        if watermark == expected { return .inStep }
        if watermark < expected { return .lostWrites(found: found) }
        guard let fingerprint, let row = try store.event(id: watermark), row.queue == queue,
            MessageFingerprint.bytes(id: row.id, timestamp: row.timestamp, name: row.filename) == fingerprint
        else { return .diverged(found: watermark) }
        return .crashWindow(through: watermark)
    }

    /// Decides and applies; returns what the queue's next batch expects.
    func settle(queue: String, expected: Int64, found: Int64?, fingerprint: [UInt8]?) throws -> Settlement {
        switch try verdict(queue: queue, expected: expected, found: found, fingerprint: fingerprint) {
        case .inStep:
            return Settlement(expected: expected)
        case .crashWindow(let through):
            guard let changed = writer.markDelivered(queue: queue, upTo: through, timeout: flushTimeout) else {
                throw ReconciliationError(path: writer.path)
            }
            if changed > 0 {
                logger.info(
                    "events found in Redis marked delivered",
                    metadata: ["redis.queue": "\(queue)", "batch.size": "\(changed)"])
            }
            return Settlement(expected: through)
        case .lostWrites(let found):
            return try settleLostWrites(queue: queue, expected: expected, found: found)
        case .diverged(let found):
            try flushWriter()
            let moved = try store.renumberPending(queue: queue, above: found, at: Clock.now())
            logger.warning(
                "the outbox is behind Redis (diverged history); pending events get new ids above the watermark",
                metadata: [
                    "redis.queue": "\(queue)", "redis.watermark": "\(found)", "outbox.delivered_through": "\(expected)",
                    "outbox.renumbered": "\(moved)",
                ])
            return Settlement(expected: found)
        }
    }

    /// The writer may still hold this forwarder's delivery marks: they must land before the outbox's record
    /// is changed, or a late one would mark reopened events delivered again.
    private func flushWriter() throws(ReconciliationError) {
        guard writer.flush(timeout: flushTimeout) else { throw ReconciliationError(path: writer.path) }
    }

    private func settleLostWrites(queue: String, expected: Int64, found: Int64?) throws -> Settlement {
        metrics.lostWrites(queue: queue)
        let watermark = found ?? 0
        var metadata: Logger.Metadata = [
            "redis.queue": "\(queue)", "redis.watermark": "\(found.map { "\($0)" } ?? "none")",
            "outbox.delivered_through": "\(expected)", "redis_lost_writes": "\(lostWrites.rawValue)",
        ]
        switch lostWrites {
        case .resend:
            try flushWriter()
            let reopened = try store.reopenDeliveries(queue: queue, above: watermark, at: Clock.now(), isGone: isGone)
            metadata["outbox.resent"] = "\(reopened.resent)"
            metadata["outbox.skipped"] = "\(reopened.skipped)"
            metadata["outbox.pruned"] = "\(reopened.pruned)"
            logger.warning("Redis lost writes: its watermark is behind the outbox; resending", metadata: metadata)
            return Settlement(expected: watermark)
        case .ignore:
            let row = try store.event(id: expected)
            let fingerprint =
                row.map { MessageFingerprint.bytes(id: $0.id, timestamp: $0.timestamp, name: $0.filename) } ?? []
            metadata["outbox.resent"] = "0"
            logger.warning("Redis lost writes: its watermark is behind the outbox; not resending", metadata: metadata)
            return Settlement(expected: expected, adopt: (watermark, fingerprint))
        }
    }
}

/// Reconciling could not start: the outbox writer did not commit this forwarder's earlier delivery marks
/// in time (its commits are failing). Nothing was changed; the next connect tries again.
struct ReconciliationError: Error, CustomStringConvertible {
    let path: String
    var description: String {
        "cannot reconcile the outbox \(path) with Redis yet: its writer has not committed earlier deliveries"
    }
}

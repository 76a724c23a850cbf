/// What `outbox stats` reports about one outbox: where it is, what it is, who holds it, and how many
/// events each queue has in each state.
public struct OutboxStats: Sendable, Equatable {
    /// Event counts for one queue (or for all of them, in `totals`).
    public struct Counts: Sendable, Equatable {
        public var pending = 0
        public var delivered = 0
        public var skipped = 0
        public var dead = 0

        public init(pending: Int = 0, delivered: Int = 0, skipped: Int = 0, dead: Int = 0) {
            self.pending = pending
            self.delivered = delivered
            self.skipped = skipped
            self.dead = dead
        }

        /// Adds `count` events in `state`.
        mutating func add(_ count: Int, in state: EventState) {
            switch state {
            case .pending: pending += count
            case .delivered: delivered += count
            case .skipped: skipped += count
            case .dead: dead += count
            }
        }
    }

    /// One queue's line.
    public struct Queue: Sendable, Equatable {
        public var name: String
        public var counts: Counts
        /// Seconds since the oldest pending event was committed (`created_at`), nil when none is pending.
        public var oldestPendingAge: Double?

        public init(name: String, counts: Counts, oldestPendingAge: Double?) {
            self.name = name
            self.counts = counts
            self.oldestPendingAge = oldestPendingAge
        }
    }

    /// The outbox path as given.
    public var path: String
    public var uuid: String
    public var schemaVersion: Int
    /// The pid of the daemon (or `drain`) holding the outbox, nil when none does.
    public var daemonPID: Int32?
    /// The main file plus its write-ahead log, in bytes.
    public var sizeBytes: Int64
    /// Configured queues first (in configuration order), then the other queues found, by name.
    public var queues: [Queue]

    /// The sum of every queue's counts.
    public var totals: Counts {
        queues.reduce(into: Counts()) { sum, queue in
            sum.pending += queue.counts.pending
            sum.delivered += queue.counts.delivered
            sum.skipped += queue.counts.skipped
            sum.dead += queue.counts.dead
        }
    }
}

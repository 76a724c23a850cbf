/// A directory listing handed to the outbox: the candidates of one monitor, oldest modification time
/// first. The outbox turns them into `exists` events inside one transaction, skipping names that already
/// have a pending event for the queue and stopping at the list limit, so the check and the insert
/// cannot race with the forwarder.
public struct ListingRequest: Sendable {
    public var queue: String
    public var counter: String?
    public var directory: String
    /// File names, oldest modification time first.
    public var candidates: [[UInt8]]
    /// The list's length as last seen in Redis (0 before any is known).
    public var listLength: Int
    /// `poll_queue_limit`, or nil for no limit.
    public var limit: Int?
    /// When the listing was made; every event it adds carries this time.
    public var timestamp: Double

    public init(
        queue: String, counter: String?, directory: String, candidates: [[UInt8]], listLength: Int, limit: Int?,
        timestamp: Double
    ) {
        self.queue = queue
        self.counter = counter
        self.directory = directory
        self.candidates = candidates
        self.listLength = listLength
        self.limit = limit
        self.timestamp = timestamp
    }
}

/// What a listing added.
public struct ListingOutcome: Sendable, Equatable {
    /// `exists` events added.
    public var announced: Int
    /// Candidates skipped because they already had a pending event.
    public var alreadyPending: Int
    /// Candidates left out because the list limit (or `outbox_max_pending`) was reached; when the budget
    /// was zero from the start, every candidate (pending or not: they are not looked up).
    public var leftOut: Int

    public init(announced: Int, alreadyPending: Int, leftOut: Int) {
        self.announced = announced
        self.alreadyPending = alreadyPending
        self.leftOut = leftOut
    }
}

extension OutboxStore {
    /// Applies a listing: see `ListingRequest`. The caller holds the transaction.
    public func insertListing(_ listing: ListingRequest, maxPending: Int, createdAt: Double) throws(SQLiteError)
        -> ListingOutcome
    {
        var budget = Int.max
        if let limit = listing.limit {
            budget = max(0, limit - listing.listLength - (try pendingCount(queue: listing.queue)))
        }
        if try pendingCount() >= maxPending {
            budget = 0
        }
        guard budget > 0 else {
            // Nothing can be added: skip reading every pending name (a large backlog would hold the writer).
            return ListingOutcome(announced: 0, alreadyPending: 0, leftOut: listing.candidates.count)
        }
        let existing = try pendingNames(queue: listing.queue, directory: listing.directory)
        var outcome = ListingOutcome(announced: 0, alreadyPending: 0, leftOut: 0)
        for name in listing.candidates {
            if existing.contains(name) {
                outcome.alreadyPending += 1
            } else if outcome.announced < budget {
                let event = NewEvent(
                    queue: listing.queue, counter: listing.counter, directory: listing.directory, filename: name,
                    kind: .exists, timestamp: listing.timestamp)
                try insert(event, createdAt: createdAt)
                outcome.announced += 1
            } else {
                outcome.leftOut += 1
            }
        }
        return outcome
    }
}

/// A directory listing handed to the outbox: the candidates of one monitor, oldest modification time
/// first. The outbox turns them into `exists` events, skipping names that had a pending event for the
/// queue when it started and stopping at the list limit; the budget is computed once, when the listing
/// starts, inside a write transaction, so the check cannot race with the forwarder. Candidates in memory
/// are applied in one transaction; a spooled listing (any size, on disk) a chunk per transaction.
public struct ListingRequest: Sendable {
    public var queue: String
    public var counter: String?
    public var directory: String
    /// File names, oldest modification time first.
    public var candidates: ListingCandidates
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
        self.candidates = .names(candidates)
        self.listLength = listLength
        self.limit = limit
        self.timestamp = timestamp
    }
}

extension ListingRequest {
    /// A listing whose candidates wait in `spool`.
    public init(
        queue: String, counter: String?, directory: String, spool: ListingSpool, listLength: Int, limit: Int?,
        timestamp: Double
    ) {
        self.init(
            queue: queue, counter: counter, directory: directory, candidates: [], listLength: listLength,
            limit: limit, timestamp: timestamp)
        candidates = .spooled(spool)
    }
}

/// Where a listing's candidates are.
public enum ListingCandidates: Sendable {
    /// In memory, oldest first.
    case names([[UInt8]])
    /// On disk, read back oldest first (see `ListingSpool`).
    case spooled(ListingSpool)

    var count: Int {
        switch self {
        case .names(let names): return names.count
        case .spooled(let spool): return spool.count
        }
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

/// A listing being applied: the budget left and the names that were pending when it started. Its
/// memory is bounded by the pending backlog at the start, never by the directory's size.
struct ListingProgress {
    var budget: Int
    let pendingAtStart: Set<[UInt8]>
    var outcome = ListingOutcome(announced: 0, alreadyPending: 0, leftOut: 0)
    /// True when the listing had no budget at all: every candidate is already counted as left out.
    var settledAtStart = false
}

extension OutboxStore {
    /// Applies a listing whose candidates are in memory: see `ListingRequest`. The caller holds the
    /// transaction.
    public func insertListing(_ listing: ListingRequest, maxPending: Int, createdAt: Double) throws(SQLiteError)
        -> ListingOutcome
    {
        var progress = try startListing(listing, maxPending: maxPending)
        if case .names(let names) = listing.candidates {
            try insertListingChunk(names, of: listing, progress: &progress, createdAt: createdAt)
        }
        return progress.outcome
    }

    /// Computes a listing's budget (`poll_queue_limit − (list length + pending)`, and nothing once the
    /// outbox holds `maxPending` pending events) and reads the names pending for its queue and
    /// directory. With no budget, every candidate is left out at once, without reading anything. The
    /// caller holds the transaction.
    func startListing(_ listing: ListingRequest, maxPending: Int) throws(SQLiteError) -> ListingProgress {
        var budget = Int.max
        let pending = try pendingCount(queue: listing.queue)
        if let limit = listing.limit {
            budget = max(0, limit - listing.listLength - pending)
        }
        if try pendingCount() >= maxPending {
            budget = 0
        }
        guard budget > 0 else {
            // Nothing can be added: skip reading every pending name (a large backlog would hold the writer).
            return ListingProgress(
                budget: 0, pendingAtStart: [],
                outcome: ListingOutcome(announced: 0, alreadyPending: 0, leftOut: listing.candidates.count),
                settledAtStart: true)
        }
        let existing = pending > 0 ? try pendingNames(queue: listing.queue, directory: listing.directory) : []
        return ListingProgress(budget: budget, pendingAtStart: existing)
    }

    /// Adds the `exists` events of one chunk of candidates (oldest first), within the budget left. The
    /// caller holds the transaction.
    func insertListingChunk(
        _ names: [[UInt8]], of listing: ListingRequest, progress: inout ListingProgress, createdAt: Double
    ) throws(SQLiteError) {
        guard !progress.settledAtStart else { return }
        var events: [NewEvent] = []
        events.reserveCapacity(min(names.count, progress.budget))
        for name in names {
            if progress.pendingAtStart.contains(name) {
                progress.outcome.alreadyPending += 1
            } else if progress.budget > 0 {
                events.append(
                    NewEvent(
                        queue: listing.queue, counter: listing.counter, directory: listing.directory, filename: name,
                        kind: .exists, timestamp: listing.timestamp))
                progress.outcome.announced += 1
                progress.budget -= 1
            } else {
                progress.outcome.leftOut += 1
            }
        }
        try insert(events, createdAt: createdAt)
    }
}

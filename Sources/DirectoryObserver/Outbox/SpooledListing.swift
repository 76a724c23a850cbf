/// A spooled listing the outbox writer applies a chunk per transaction, between group commits, so a
/// directory of any size neither fills memory nor makes one huge transaction (whose write-ahead log
/// would be as large) nor holds back the events that keep arriving meanwhile. Listings are applied one
/// after the other, and each starts (takes its budget and the names pending for its queue) in the
/// transaction of its first chunk, so it sees everything the listings before it added. Not Sendable:
/// it lives on the writer thread.
struct SpooledListing {
    /// Candidates per transaction.
    static let chunkSize = 8_192

    let request: ListingRequest
    private let spool: ListingSpool
    private let maxPending: Int
    private let completion: @Sendable (ListingOutcome?) -> Void
    /// What runs once the listing is complete (told true) or dropped (told false): the barriers handed in
    /// after it.
    private var followers: [(Bool) -> Void] = []
    /// Nil until the first chunk's transaction starts the listing.
    private var progress: ListingProgress?
    /// The chunk read from the spool and not committed yet (read again after a failed transaction).
    private var chunk: [[UInt8]]?
    /// Candidates applied so far.
    private var consumed = 0

    init(
        _ request: ListingRequest, spool: ListingSpool, maxPending: Int,
        completion: @escaping @Sendable (ListingOutcome?) -> Void
    ) {
        self.request = request
        self.spool = spool
        self.maxPending = maxPending
        self.completion = completion
    }

    /// Events announced so far.
    var announced: Int { progress?.outcome.announced ?? 0 }

    /// Runs `body` once this listing is complete (with true) or dropped (with false).
    mutating func then(_ body: @escaping (Bool) -> Void) {
        followers.append(body)
    }

    /// Applies the next chunk in its own transaction; returns the completions to run (the listing's own
    /// and its followers') once it is complete, nil while chunks remain. A failed transaction changes
    /// nothing here: the same chunk is tried again next time.
    mutating func applyNextChunk(to store: OutboxStore, createdAt: Double) throws -> [() -> Void]? {
        if let progress, progress.settledAtStart || progress.budget == 0 {
            return finish(leftOut: progress.settledAtStart ? 0 : spool.count - consumed)
        }
        let names = try chunk ?? spool.next(Self.chunkSize)
        guard !names.isEmpty else { return finish(leftOut: 0) }
        chunk = names
        let started = progress
        let (request, maxPending) = (self.request, self.maxPending)
        let next = try store.connection.transaction { () throws(SQLiteError) in
            var next: ListingProgress
            if let started {
                next = started
            } else {
                next = try store.startListing(request, maxPending: maxPending)
            }
            try store.insertListingChunk(names, of: request, progress: &next, createdAt: createdAt)
            return next
        }
        progress = next
        consumed += names.count
        chunk = nil
        return nil
    }

    /// The completions of a listing that will not be applied (the writer stops or is detached).
    func dropped() -> [() -> Void] {
        let completion = self.completion
        return [{ completion(nil) }] + followers.map { follower in { follower(false) } }
    }

    private mutating func finish(leftOut: Int) -> [() -> Void] {
        var outcome = progress?.outcome ?? ListingOutcome(announced: 0, alreadyPending: 0, leftOut: 0)
        // Candidates past the budget are left out without being read.
        outcome.leftOut += leftOut
        let completion = self.completion
        return [{ completion(outcome) }] + followers.map { follower in { follower(true) } }
    }
}

/// A spooled listing the outbox writer applies a chunk per transaction, between group commits, so a
/// directory of any size neither fills memory nor makes one huge transaction (whose write-ahead log
/// would be as large) nor holds back the events that keep arriving meanwhile. Not Sendable: it lives
/// on the writer thread.
struct SpooledListing {
    /// Candidates per transaction.
    static let chunkSize = 8_192

    let request: ListingRequest
    let completion: @Sendable (ListingOutcome?) -> Void
    private let spool: ListingSpool
    private var progress: ListingProgress
    /// The chunk read from the spool and not committed yet (read again after a failed transaction).
    private var chunk: [[UInt8]]?
    /// Candidates applied so far.
    private var consumed = 0

    /// Starts the listing: computes its budget. The caller holds the transaction.
    init(
        _ request: ListingRequest, spool: ListingSpool, store: OutboxStore, maxPending: Int,
        completion: @escaping @Sendable (ListingOutcome?) -> Void
    ) throws(SQLiteError) {
        self.request = request
        self.spool = spool
        self.completion = completion
        progress = try store.startListing(request, maxPending: maxPending)
    }

    /// What the listing added so far.
    var outcome: ListingOutcome { progress.outcome }

    /// Applies the next chunk in its own transaction; returns true when the listing is complete. A failed
    /// transaction changes nothing here: the same chunk is tried again next time.
    mutating func applyNextChunk(to store: OutboxStore, createdAt: Double) throws -> Bool {
        if progress.settledAtStart { return true }
        if progress.budget == 0 {
            // The limit is reached: the rest is left out without being read.
            progress.outcome.leftOut += spool.count - consumed
            return true
        }
        let names = try chunk ?? spool.next(Self.chunkSize)
        guard !names.isEmpty else { return true }
        chunk = names
        var next = progress
        try store.connection.transaction {
            try store.insertListingChunk(names, of: request, progress: &next, createdAt: createdAt)
        }
        progress = next
        consumed += names.count
        chunk = nil
        return false
    }
}

/// What one group commit added, per queue, gathered by the outbox writer while it applies the commit's
/// requests and handed to `PipelineMetrics.committed` once the transaction is on disk.
public struct CommitTally: Sendable {
    public private(set) var created: [String: Int] = [:]
    public private(set) var exists: [String: Int] = [:]
    public private(set) var listings: [String: Int] = [:]
    public private(set) var skipped: [String: Int] = [:]

    public init() {}

    /// Events the watcher saw (created, or found by a listing outside `listing(queue:announced:)`).
    public mutating func add(_ events: [NewEvent]) {
        // One count per run of events of the same queue and kind (a burst is a few long runs).
        var start = events.startIndex
        while start < events.endIndex {
            let first = events[start]
            var end = start + 1
            while end < events.endIndex, events[end].kind == first.kind, events[end].queue == first.queue { end += 1 }
            switch first.kind {
            case .created: created[first.queue, default: 0] += end - start
            case .exists: exists[first.queue, default: 0] += end - start
            }
            start = end
        }
    }

    /// One listing of `queue` that announced `announced` files.
    public mutating func listing(queue: String, announced: Int) {
        listings[queue, default: 0] += 1
        if announced > 0 { exists[queue, default: 0] += announced }
    }

    /// One chunk of a listing applied from its spool: the files it announced, and the listing itself
    /// once its last chunk is in.
    public mutating func listingChunk(queue: String, announced: Int, finished: Bool) {
        if finished { listings[queue, default: 0] += 1 }
        if announced > 0 { exists[queue, default: 0] += announced }
    }

    /// Events of `queue` marked skipped by the forwarder.
    public mutating func skipped(queue: String, count: Int) {
        if count > 0 { skipped[queue, default: 0] += count }
    }
}

import Synchronization

/// The last length of each Redis list as the forwarder saw it, published for the watcher's listings
/// (which must not make a list longer than `poll_queue_limit`). The only thing the watcher and the
/// forwarder share.
public final class QueueLengthBoard: Sendable {
    private let lengths = Mutex<[String: Int]>([:])

    public init() {}

    /// Records the length the forwarder just saw.
    public func publish(queue: String, length: Int) {
        lengths.withLock { $0[queue] = length }
    }

    /// The last length seen, or 0 before any is known.
    public func length(of queue: String) -> Int {
        lengths.withLock { $0[queue] ?? 0 }
    }
}

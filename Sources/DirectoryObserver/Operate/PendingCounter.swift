import Synchronization

/// How many events are pending in the whole outbox, for systemd's `STATUS=` line: read on a read-only
/// connection opened at the first call and kept. Sendable: the connection is only used under the `Mutex`.
final class PendingCounter: Sendable {
    private let path: String
    private let inspector = Mutex<OutboxInspector?>(nil)

    init(outbox path: String) {
        self.path = path
    }

    /// Nil when the outbox cannot be read now.
    func count() -> Int? {
        inspector.withLock { inspector -> Int? in
            if inspector == nil { inspector = try? OutboxInspector(path: path) }
            return try? inspector?.stats(now: Clock.now()).totals.pending
        }
    }
}

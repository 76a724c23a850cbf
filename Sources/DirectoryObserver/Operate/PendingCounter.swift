import Synchronization

/// How many events are pending in the whole outbox, for systemd's `STATUS=` line: read on a read-only
/// connection opened at the first call and kept until `close()`. Sendable: the connection is only used
/// under the `Mutex`.
final class PendingCounter: Sendable {
    private struct State {
        var inspector: OutboxInspector?
        var closed = false
    }

    private let path: String
    private let state = Mutex(State())

    init(outbox path: String) {
        self.path = path
    }

    /// Nil when the outbox cannot be read now, or once closed.
    func count() -> Int? {
        state.withLock { state -> Int? in
            guard !state.closed else { return nil }
            if state.inspector == nil { state.inspector = try? OutboxInspector(path: path) }
            return try? state.inspector?.stats(now: Clock.now()).totals.pending
        }
    }

    /// Closes the connection for good (the daemon stops: the writer must be the last to touch the outbox).
    func close() {
        state.withLock { state in
            state.inspector = nil
            state.closed = true
        }
    }
}

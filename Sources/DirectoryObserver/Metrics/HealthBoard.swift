import Synchronization

/// What `/healthz` and systemd's `STATUS=` say about the pipeline: whether the outbox takes commits, which
/// watched directories are not watched (and why), and whether Redis answers. The parts publish their
/// state changes here; readers get a consistent copy, and an observer is told of each change (so the
/// systemd agent sleeps until there is one). Sendable: one `Mutex`.
public final class HealthBoard: Sendable {
    /// A copy of the board at one moment.
    public struct Snapshot: Sendable, Equatable {
        /// The error of the failing commits, nil while the outbox takes commits.
        public var outboxFailure: String?
        /// Directory → why it is not watched, for every configured directory not watched now.
        public var unwatched: [String: String]
        /// Whether the forwarder has a working Redis session.
        public var redisUp: Bool

        /// The one-line reason `/healthz` gives for 503, nil when healthy. Redis being down is not a
        /// reason: buffering in the outbox is the daemon's job.
        public var unhealthyReason: String? {
            if let outboxFailure { return "outbox does not take commits: \(outboxFailure)" }
            guard let path = unwatched.keys.sorted().first, let why = unwatched[path] else { return nil }
            let more = unwatched.count > 1 ? " (and \(unwatched.count - 1) more)" : ""
            return "directory not watched: \(path): \(why)\(more)"
        }
    }

    private let state: Mutex<Snapshot>
    private let observer = Mutex<(@Sendable () -> Void)?>(nil)

    /// Every directory starts as "not watched yet": the board is healthy only once each is armed.
    public init(directories: [String]) {
        var unwatched: [String: String] = [:]
        for directory in directories { unwatched[directory] = "not watched yet" }
        state = Mutex(Snapshot(outboxFailure: nil, unwatched: unwatched, redisUp: false))
    }

    public func snapshot() -> Snapshot {
        state.withLock { $0 }
    }

    /// `handler` runs (on the reporting thread, outside the lock) after each change of the snapshot.
    public func observe(_ handler: @escaping @Sendable () -> Void) {
        observer.withLock { $0 = handler }
    }

    public func outboxFailing(_ error: String) {
        update { $0.outboxFailure = error }
    }

    public func outboxCommits() {
        update { $0.outboxFailure = nil }
    }

    public func watching(_ directory: String) {
        update { $0.unwatched[directory] = nil }
    }

    public func notWatching(_ directory: String, reason: String) {
        update { $0.unwatched[directory] = reason }
    }

    public func redis(up: Bool) {
        update { $0.redisUp = up }
    }

    private func update(_ change: (inout Snapshot) -> Void) {
        let changed = state.withLock { snapshot in
            let before = snapshot
            change(&snapshot)
            return snapshot != before
        }
        if changed { observer.withLock { $0 }?() }
    }
}

import Glibc
import Logging

/// `directory_observer drain`: forwards every pending event now, in the calling thread, and returns when
/// none is left. The caller holds the outbox's lock (no daemon runs).
public enum Drain {
    /// What a drain did.
    public struct Outcome: Sendable, Equatable {
        /// Events pushed or settled (delivered or skipped).
        public var settled: Int
        /// Events left `dead` in the outbox (they are not pending any more).
        public var dead: Int
    }

    /// Drains the outbox; throws the last Redis error when Redis cannot be reached within `settings.timeout`
    /// (or stays in a transient error state that long).
    public static func run(
        settings: ForwarderSettings, writer: OutboxWriter, logger: Logger
    ) throws(DrainError) -> Outcome {
        let connection: SQLiteConnection
        do {
            connection = try OutboxFile.open(path: writer.path, access: .modify)
        } catch {
            throw DrainError.outbox(error)
        }
        let store = OutboxStore(connection: connection)
        defer { try? store.close() }
        let forwarder = Forwarder(
            settings: settings, store: store, writer: writer, board: QueueLengthBoard(), logger: logger)
        var settled = 0
        var unavailableSince: Double?
        // Since when a queue held by a configuration refusal has kept the drain from finishing.
        var heldSince: Double?
        func checkHeld() throws(DrainError) {
            guard let refusal = forwarder.configurationRefusal else {
                heldSince = nil
                return
            }
            let since = heldSince ?? Clock.monotonic()
            heldSince = since
            if Clock.monotonic() - since >= settings.timeout { throw DrainError.refused(refusal) }
        }
        while true {
            switch forwarder.round() {
            case .idle:
                writer.flush()
                return Outcome(settled: settled, dead: (try? store.deadCount()) ?? 0)
            case .progress(let count), .caughtUp(let count):
                settled += count
                unavailableSince = nil
                if count == 0 { try checkHeld() }
            case .waiting(let until):
                try checkHeld()
                usleepSeconds(min(until - Clock.monotonic(), settings.timeout))
            case .unavailable:
                let since = unavailableSince ?? Clock.monotonic()
                unavailableSince = since
                if Clock.monotonic() - since >= settings.timeout {
                    throw DrainError.redis(
                        forwarder.lastError ?? RedisError(kind: .connection, detail: settings.redis.target))
                }
                usleepSeconds(min(forwarder.nextConnectDelay(), settings.timeout))
            case .outboxFailed:
                usleepSeconds(0.2)
            }
        }
    }

    private static func usleepSeconds(_ seconds: Double) {
        guard seconds > 0 else { return }
        usleep(UInt32(min(seconds, 60) * 1_000_000))
    }
}

/// Why a drain failed.
public enum DrainError: Error, CustomStringConvertible, Sendable {
    case redis(RedisError)
    /// Redis refused a queue's events for a reason only a configuration change fixes.
    case refused(RedisError)
    case outbox(OutboxError)

    public var description: String {
        switch self {
        case .redis(let error): return "drain stopped: Redis could not be reached in time: \(error)"
        case .refused(let error): return "drain stopped: Redis refuses a queue's events: \(error); fix: \(error.fix)"
        case .outbox(let error): return "drain stopped: \(error)"
        }
    }
}
